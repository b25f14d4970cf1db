"""External check of our negation: ConText as configured here, on the public NegEx test set.

The set (chapmanbe/negex, ``negex.python/Annotations-1-120.txt``) pairs a sentence from one of
120 de-identified reports with a clinical concept a physician marked Affirmed or Negated. We
mark the concept as the only target in its sentence, run the extraction pipeline's sentence
splitter and ConText component (extract/lexicon.yaml's rules) on it, and call it negated when a
NEGATED_EXISTENCE modifier reaches it; ``with_layout`` also counts the note-layout cues of
extract/layout.py (an answer "No", a negation leading a list). eval/negex/README.md names the
file kept here (the full set), its source and licence, and NegEx's published figures on the full set.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_FILE = "negex/Annotations-1-120.tsv"
"""Under eval/: the full NegEx annotation set, 2,376 pairs (eval/negex/README.md)."""

PUBLISHED = {
    "system": "GenNegEx v1.2 on all 2,376 pairs (chapmanbe/negex TestSet.md)",
    "accuracy": 0.9773, "precision": 0.9327, "recall": 0.9593, "f1": 0.9458,
}
"""NegEx's own figures on the full set, as its repository publishes them."""


@dataclass(frozen=True)
class Pair:
    """One annotated sentence-concept pair."""

    report: str
    concept: str
    sentence: str
    negated: bool


def load_pairs(path: Path) -> list[Pair]:
    """The pairs of a NegEx annotation file (tab-separated, quoted like the original)."""
    with Path(path).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quotechar='"'))
    return [Pair(r[0], r[1], r[2], r[3].strip().lower() == "negated") for r in rows[1:] if len(r) >= 4]


def _concept_span(pair: Pair) -> tuple[int, int] | None:
    words = [re.escape(w) for w in pair.concept.split()]
    if not words:
        return None
    m = re.search(r"\s+".join(words), pair.sentence, re.IGNORECASE)
    return (m.start(), m.end()) if m else None


def predict(detector, pair: Pair, *, with_layout: bool = False) -> bool:
    """Whether our configuration reads the pair's concept as negated (False if not found)."""
    from spacy.tokens import Span

    from mrs_assist.extract.context import CONTEXT
    from mrs_assist.extract.layout import line_cues
    from mrs_assist.extract.pipeline import TARGETS
    from mrs_assist.extract.sentences import NAME as SENTENCES

    where = _concept_span(pair)
    if where is None:
        return False
    nlp = detector.nlp
    with detector.lock:
        doc = nlp.get_pipe(SENTENCES)(nlp.make_doc(pair.sentence))
        target = doc.char_span(*where, label="concept", alignment_mode="expand")
        if target is None:
            return False
        doc.spans[TARGETS] = [Span(doc, target.start, target.end, label="concept")]
        doc = nlp.get_pipe(CONTEXT)(doc)
    for span, modifier in doc._.context_graph.edges:
        start, end = modifier.modifier_span
        inside = start < span.end and span.start < end
        if modifier.category == "NEGATED_EXISTENCE" and not inside:
            return True
    if with_layout:
        return "negated" in line_cues(pair.sentence, where[0], (0, len(pair.sentence))).categories
    return False


def score(pairs: list[Pair], predictions: list[bool]) -> dict:
    """Accuracy, precision, recall and F1 for Negated, with the counts."""
    tp = sum(p.negated and g for p, g in zip(pairs, predictions))
    fp = sum(not p.negated and g for p, g in zip(pairs, predictions))
    fn = sum(p.negated and not g for p, g in zip(pairs, predictions))
    tn = len(pairs) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else None
    return {"pairs": len(pairs), "negated": tp + fn, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "accuracy": (tp + tn) / len(pairs) if pairs else None,
            "precision": precision, "recall": recall, "f1": f1}


def evaluate_negex(catalogue, eval_dir: Path, filename: str = DEFAULT_FILE) -> dict:
    """Our negation on the kept NegEx pairs: ConText alone and with layout cues, beside
    NegEx's published figures; raises ConfigError when the file is missing."""
    from mrs_assist.errors import ConfigError
    from mrs_assist.extract.pipeline import get_detector

    path = Path(eval_dir) / filename
    if not path.exists():
        raise ConfigError(f"NegEx annotation file not found: {filename}")
    pairs = load_pairs(path)
    detector = get_detector(catalogue)
    with_layout = [predict(detector, p, with_layout=True) for p in pairs]
    return {
        "file": filename,
        "context": score(pairs, [predict(detector, p) for p in pairs]),
        "context_and_layout": score(pairs, with_layout),
        "published": PUBLISHED,
        "errors": [{"concept": p.concept, "sentence": p.sentence[:160], "gold": "Negated" if p.negated else "Affirmed"}
                   for p, g in zip(pairs, with_layout) if g != p.negated],
    }


def negex_headline(result: dict) -> dict[str, float | None]:
    """Headline metrics: our negation (ConText with layout cues) on the kept NegEx pairs."""
    ours = result["context_and_layout"]
    return {"negex.accuracy": ours["accuracy"], "negex.precision": ours["precision"], "negex.recall": ours["recall"]}

"""Independent question sets (issue 23) → the harness's question format.

Writers who never saw the code or our questions wrote YAML with ``verdict`` (yes | no |
only-if | depends | not-addressed | info) and ``gold_quotes`` (verbatim policy text), not
clause ids. ``convert_questions`` maps each quote to the clauses whose text contains it
(whitespace, Markdown emphasis and quote marks ignored) and each verdict to an expected
claim (info → none: a factual answer, not scored as a verdict). The writers' ``policy_ids``
say which policies the question names, not a search filter, so the request sends none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path


from mrs_assist.corpus import Corpus
from mrs_assist.data import YamlFile
from mrs_assist.errors import ConfigError

_EXPECT = {"yes": "yes", "no": "no", "only-if": "only_if", "depends": "depends", "not-addressed": "not_addressed"}


def _norm(text: str) -> str:
    text = re.sub(r"\*\*|__|~~|</?\w+>|<https?://[^>]*>?", "", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"\s+", " ", text).strip(" \"'").lower()


def _bare(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", _norm(text)))


def quote_clauses(quote: str, corpus: Corpus) -> list[str]:
    """Ids of the non-deleted clauses whose text contains the quote (normalised; a quote
    copied across a table row's tab is matched piece by piece); [] if none."""
    clauses = [(c.id, _norm(c.text), _bare(c.text)) for c in corpus.clauses()]
    found: list[str] = []
    for piece in re.split(r"\t+|\n+", quote):
        wanted, bare = _norm(piece), _bare(piece)
        if not bare:
            continue
        ids = [cid for cid, text, _ in clauses if wanted in text] or [cid for cid, _, text in clauses if bare in text]
        found += [i for i in ids if i not in found]
    return found


def convert_questions(entries: Iterable[dict], corpus: Corpus, *, writer: str) -> tuple[list[dict], list[str]]:
    """(questions in eval/questions-*.yaml form, problems: quotes that match no clause)."""
    out, problems = [], []
    for e in entries:
        gold: list[str] = []
        for quote in e.get("gold_quotes") or []:
            ids = quote_clauses(quote, corpus)
            if not ids:
                problems.append(f"{e['id']}: quote matches no clause: {quote[:70]!r}")
            gold += [i for i in ids if i not in gold]
        out.append({
            "id": e["id"], "kind": e["kind"], "question": e["question"], "policy_ids": None, "gold": gold,
            "keywords": [], "expect": _EXPECT.get(str(e["verdict"])), "writer": writer,
        })
    return out, problems


def load_writer_files(folder: Path) -> list[dict]:
    """Every entry of folder/questions-*.yaml, in file order."""
    entries: list[dict] = []
    for path in sorted(folder.glob("questions-*.yaml")):
        entries += YamlFile(path, error=ConfigError, root=list).data
    return entries

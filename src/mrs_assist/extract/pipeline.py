"""Build the medspaCy pipeline for a facts catalogue: targets from ``detect:``, ConText from the lexicon.

The pipeline is built once per catalogue content and kept for the life of the process
(``get_detector``): building it is most of a cold ``determine``, running it is cheap.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mrs_assist.criteria.catalogue import Catalogue
from mrs_assist.data import load_yaml, shipped
from mrs_assist.errors import CorpusError
from mrs_assist.extract.spec import MAX_SCOPE, DetectSpec, Lexicon, Quantity, Readings
from mrs_assist.quarantine import compiled_quarantine

LEXICON_PATH = shipped("extract/lexicon.yaml")
TARGETS = "mrs_assist_targets"
"""The span group holding every target match (overlapping matches are kept)."""
AGE_LABEL = "_age"
CHILD_LABEL = "_child"
QUALIFIER_LABEL = "_qualifier"
"""Target label of a ``negated_by`` cue (\"MR-conditional\"), read by ConText like a fact's words:
a qualifier the notes deny or question (\"MR-conditional status not stated\") qualifies nothing."""

_FLAGS = re.IGNORECASE | re.MULTILINE


def silence_libraries() -> None:
    """Keep medspaCy, spaCy and PyRuSH quiet: their debug output can carry note text."""
    for name in ("medspacy", "spacy", "PyRuSH", "PyFastNER"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        from loguru import logger as loguru_logger
    except ImportError:  # pragma: no cover - loguru comes with PyRuSH
        return
    loguru_logger.disable("PyRuSH")
    loguru_logger.disable("PyFastNER")


@lru_cache(maxsize=1)
def load_lexicon(path: Path = LEXICON_PATH) -> Lexicon:
    """The extraction lexicon; raises CorpusError naming file and line."""
    return load_yaml(path, Lexicon)


def load_detection(catalogue: Catalogue) -> dict[str, DetectSpec]:
    """Each catalogue fact's validated ``detect:`` mapping; raises CorpusError naming the fact."""
    specs: dict[str, DetectSpec] = {}
    for name, fact in catalogue.facts.items():
        try:
            specs[name] = DetectSpec.model_validate(fact.detect)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise CorpusError(
                f"facts.yaml: facts.{name}.detect.{where}: {err['msg'].removeprefix('Value error, ')}"
            ) from exc
    for name, spec in specs.items():
        for other in [*spec.implied_by, *spec.unless_facts, *spec.presupposes]:
            if other not in catalogue.facts:
                raise CorpusError(f"facts.yaml: facts.{name}.detect names unknown fact {other!r}")
    return specs


@dataclass
class Detector:
    """A built pipeline and the compiled data extraction reads alongside it."""

    nlp: Any
    catalogue: Catalogue
    specs: dict[str, DetectSpec]
    lexicon: Lexicon
    readings: dict[tuple[str, int], Readings] = field(default_factory=dict)
    requires: dict[tuple[str, int], tuple[list[re.Pattern[str]], str, str | None]] = field(default_factory=dict)
    quantities: dict[tuple[str, int, int], tuple[re.Pattern[str], Quantity]] = field(default_factory=dict)
    negated_by: dict[str, list[re.Pattern[str]]] = field(default_factory=dict)
    undecided_while: dict[str, list[re.Pattern[str]]] = field(default_factory=dict)
    not_done_while: dict[str, list[re.Pattern[str]]] = field(default_factory=dict)
    withdrawn_while: dict[str, list[re.Pattern[str]]] = field(default_factory=dict)
    other_study: dict[str, list[re.Pattern[str]]] = field(default_factory=dict)
    narrower: dict[str, frozenset[int]] = field(default_factory=dict)
    """Per fact, the groups whose words name one kind of it (``narrower``)."""
    namings: dict[str, re.Pattern[str]] = field(default_factory=dict)
    """Per fact, any naming the matchers may miss (``detect.names`` and ``detect.icd10``)."""
    quarantine: list[re.Pattern[str]] = field(default_factory=list)
    device_kinds: list[re.Pattern[str]] = field(default_factory=list)
    age_patterns: list[tuple[re.Pattern[str], str]] = field(default_factory=list)
    relative_after_age: re.Pattern[str] = re.compile("(?!)")
    lock: threading.Lock = field(default_factory=threading.Lock)

    @cached_property
    def speller(self) -> Any:
        """The respeller over this catalogue's and lexicon's words (``extract.spelling``)."""
        from mrs_assist.extract.spelling import speller_for

        return speller_for(self.catalogue.model_dump_json() + "\n" + LEXICON_PATH.read_text(encoding="utf-8"))


def target_label(fact: str, group: int = 0, quantity: int | None = None) -> str:
    """The span label of a fact's match: ``fact``, ``fact#group`` or ``fact#group#quantity``.

    The label carries the group because spaCy keys span extensions by offsets alone: two
    facts matching the same characters would otherwise share ``span._.target_rule``.
    """
    if quantity is not None:
        return f"{fact}#{group}#{quantity}"
    return fact if group == 0 else f"{fact}#{group}"


def abbreviation_regex(abbreviations: Any) -> str:
    """Whole-word, case-sensitive match of abbreviations (a plural "s" allowed)."""
    words = "|".join(re.escape(a) for a in sorted(abbreviations, key=len, reverse=True))
    return rf"(?-i:(?<![\w])(?:{words})s?(?![\w]))"


def _target_rules(detector: Detector) -> list[Any]:
    from medspacy.target_matcher import TargetRule

    rules: list[TargetRule] = []
    for fact, spec in detector.specs.items():
        for g, group in enumerate(spec.all_groups()):
            label = target_label(fact, g)
            rules += [TargetRule(term, label) for term in group.terms]
            rules += [TargetRule(f"{fact} pattern", label, pattern=p) for p in group.patterns]
            regexes = [*group.regex, *(near.regex() for near in group.near)]
            if regexes:
                # One alternation per group: one pass over the text instead of one per regex.
                combined = "|".join(f"(?:{r})" for r in regexes)
                rules.append(TargetRule(f"{fact} regex", label, pattern=combined))
            if group.abbreviations:  # case-sensitive: kept apart so the rest runs on lowered text
                rules.append(TargetRule(f"{fact} abbreviations", label, pattern=abbreviation_regex(group.abbreviations)))
            for q, quantity in enumerate(group.quantities):
                rules.append(TargetRule(f"{fact} quantity", target_label(fact, g, q), pattern=quantity.regex))
        if spec.negated_by:
            rules.append(TargetRule(f"{fact} qualifier", f"{QUALIFIER_LABEL}#{fact}",
                                    pattern="|".join(f"(?:{r})" for r in spec.negated_by)))
        if spec.age is not None and spec.age.wording:
            wording = "|".join(f"(?:{w})" for w in spec.age.wording)
            rules.append(TargetRule(f"{fact} age wording", f"{CHILD_LABEL}#{fact}", pattern=wording))
    for i, age in enumerate(detector.lexicon.age_patterns):
        rules.append(TargetRule("patient age", f"{AGE_LABEL}#{i}", pattern=age.regex))
    return rules


def _context_rules(lexicon: Lexicon, labels: set[str]) -> list[Any]:
    import medspacy.context as context_module
    from medspacy.context import ConTextRule

    # medspaCy 1.3.1 installs its rules beside the package (site-packages/resources/en).
    default_path = Path(context_module.__file__).resolve().parents[2] / "resources" / "en" / "context_rules.json"
    defaults = json.loads(default_path.read_text(encoding="utf-8"))["context_rules"]
    drop = set(lexicon.context.drop)
    rules = [ConTextRule.from_dict(d) for d in defaults if d["literal"] not in drop]
    for added in lexicon.context.add:
        # A rule limited to a fact applies to all of that fact's labels (fact, fact#1, ...).
        allowed = None
        if added.allowed_types:
            allowed = {
                label.upper()
                for label in labels
                for t in added.allowed_types
                if label == t or label.startswith(t + "#")
            }
        rules.append(
            ConTextRule(
                added.literal,
                added.category,
                pattern=added.pattern,
                direction=added.direction,
                max_scope=added.max_scope,
                allowed_types=allowed,
            )
        )
    for rule in rules:
        if rule.direction in ("TERMINATE", "PSEUDO"):
            continue  # they modify nothing; their scope only enters limit_scope's overlap test, as before
        if rule.max_scope is None:
            rule.max_scope = lexicon.context.max_scope.get(rule.category)
        # Every modifier's reach is bounded (medspaCy's own rules set none): see spec.MAX_SCOPE.
        rule.max_scope = min(rule.max_scope or MAX_SCOPE, MAX_SCOPE)
    return rules


def _blank_english() -> Any:
    """``spacy.blank("en")`` without building English's tokenizer, which medSpaCy replaces at once.

    The stand-in keeps the default's ``token_match`` (medSpaCy's tokenizer copies it), so the
    default's special cases are not built only to be discarded.
    """
    import spacy
    from spacy.tokenizer import Tokenizer

    name = "mrs_assist.placeholder_tokenizer.v1"
    if name not in spacy.registry.tokenizers:

        @spacy.registry.tokenizers(name)
        def placeholder():  # noqa: ANN202 (spaCy registry factory)
            return lambda nlp: Tokenizer(nlp.vocab, token_match=nlp.Defaults.token_match)

    return spacy.blank("en", config={"nlp": {"tokenizer": {"@tokenizers": name}}})


def build_detector(catalogue: Catalogue) -> Detector:
    """A ready pipeline for ``catalogue``; raises CorpusError when its detection data is invalid."""
    silence_libraries()
    from mrs_assist.lazy import import_medspacy

    medspacy = import_medspacy()
    from mrs_assist.extract.context import CONTEXT, add_context_rules, expand_token_patterns, install_fast_regex
    from mrs_assist.extract.layout import section_rules
    from mrs_assist.extract.sentences import NAME as SENTENCES

    lexicon = load_lexicon()
    specs = load_detection(catalogue)
    detector = Detector(nlp=None, catalogue=catalogue, specs=specs, lexicon=lexicon)
    for fact, spec in specs.items():
        role_readings = lexicon.readings.get(catalogue.spec(fact).role)
        if role_readings is None:
            raise CorpusError(f"lexicon.yaml: no readings for role {catalogue.spec(fact).role!r}")
        fact_readings = spec.readings.over(role_readings)
        for g, group in enumerate(spec.all_groups()):
            detector.readings[(fact, g)] = group.readings.over(fact_readings) if g else fact_readings
            if group.requires:
                detector.requires[(fact, g)] = (
                    [re.compile(r, _FLAGS) for r in group.requires],
                    group.requires_scope,
                    group.denials_requires,
                )
            for q, quantity in enumerate(group.quantities):
                detector.quantities[(fact, g, q)] = (re.compile(quantity.regex, _FLAGS), quantity)
        for rule in ("negated_by", "undecided_while", "not_done_while", "withdrawn_while", "other_study"):  # fact-level regex lists
            if patterns := getattr(spec, rule):
                getattr(detector, rule)[fact] = [re.compile(r, _FLAGS) for r in patterns]
        if narrower := frozenset(g for g, group in enumerate(spec.all_groups()) if group.narrower):
            detector.narrower[fact] = narrower
        if (naming := spec.naming_regex()) is not None:
            detector.namings[fact] = re.compile(naming, _FLAGS)
    # Run once over the whole (ASCII-lowered) note: case-folded patterns, no IGNORECASE.
    detector.quarantine = list(compiled_quarantine())
    detector.device_kinds = [re.compile(k, _FLAGS) for k in lexicon.device_kinds.values()]
    detector.age_patterns = [(re.compile(a.regex, _FLAGS), a.default_unit) for a in lexicon.age_patterns]
    detector.relative_after_age = re.compile(lexicon.age_not_followed_by, re.IGNORECASE)

    nlp = medspacy.load(_blank_english(), medspacy_enable=["medspacy_tokenizer"])
    nlp.add_pipe(SENTENCES, config={"abbreviations": lexicon.sentence_abbreviations})
    matcher = nlp.add_pipe(
        "medspacy_target_matcher",
        config={"result_type": "group", "span_group_name": TARGETS, "prune": False},
    )
    install_fast_regex(matcher, nlp)
    sectionizer = nlp.add_pipe(
        "medspacy_sectionizer", config={"rules": None, "require_start_line": True, "span_attrs": None}
    )
    install_fast_regex(sectionizer, nlp)
    context = nlp.add_pipe(
        CONTEXT,
        config={
            "rules": None,
            "input_span_type": "group",
            "span_group_name": TARGETS,
            "span_attrs": None,
        },
    )
    context.span_group_name = TARGETS  # medspaCy 1.3.1 overwrites it with the component name
    # Set directly: through the factory config spaCy turns each list into a one-shot iterator.
    context.terminating_types = {k.upper(): list(v) for k, v in lexicon.context.terminated_by.items()}
    install_fast_regex(context, nlp)
    try:
        target_rules = _target_rules(detector)
        context_rules = expand_token_patterns(_context_rules(lexicon, {r.category for r in target_rules}))
        with nlp.select_pipes(enable=[]):  # medspaCy runs nlp() on each phrase: tokenize only
            matcher.add(target_rules)
            add_context_rules(context, context_rules)
            sectionizer.add(section_rules(lexicon))
    except (ValueError, TypeError, re.error) as exc:
        raise CorpusError(f"facts.yaml: a detection rule cannot be compiled: {exc}") from exc
    detector.nlp = nlp
    return detector


_CACHE: dict[str, Detector] = {}
_CACHE_LOCK = threading.Lock()


def get_detector(catalogue: Catalogue, cache_dir: Path | None = None) -> Detector:
    """The detector for this catalogue's content, built on first use and kept for the process.

    Keyed by ``Catalogue.fingerprint`` (a hash of the content), so equal catalogues share one
    pipeline and a rebuilt catalogue object never reuses another's by a recycled ``id()``.
    ``Services`` fetches its detector once and passes it to ``extract_facts``. With
    ``cache_dir``, the build's compiled regular expressions are kept there for the next
    process (``extract.recache``).
    """
    key = catalogue.fingerprint()
    with _CACHE_LOCK:
        detector = _CACHE.get(key)
        if detector is None:
            from mrs_assist.extract.recache import code_cache

            with code_cache(cache_dir):
                detector = build_detector(catalogue)
            if len(_CACHE) >= 4:  # tests build a few catalogues; the service uses one
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = detector
        return detector


# --- normalization at the extraction entry (issue 11; owned by mrs_assist.normalize) --------
# Extraction reads the notes as `mrs_assist.normalize` presents them (NFKC, format characters
# removed, confusable letters folded to ASCII, hyphenated line breaks rejoined), so a fact or an
# instruction reads the same however it is spelled in Unicode. Evidence spans are mapped back
# to the original notes, whose characters they quote. This is the only normalization hook in
# extract/: keep it on `extract_facts`, the entry every caller goes through.
def normalized_notes(extract):
    """Wrap ``extract(notes, **kw) -> {name: FactValue}`` to run on normalized notes and report
    evidence in the original notes' offsets and text."""
    from functools import wraps

    from mrs_assist.extract.ocr import fold_ocr
    from mrs_assist.extract.templates import blank_template_fields, has_template_gaps
    from mrs_assist.normalize import normalize

    @wraps(extract)
    def run(notes: str, *, catalogue=None, detector=None, **kwargs):
        original = notes or ""
        if detector is None:
            from mrs_assist.extract.facts import default_catalogue

            detector = get_detector(catalogue if catalogue is not None else default_catalogue())
        view = normalize(original)
        # OCR read-back and blanked template fields keep the length: the offset map holds.
        folded = fold_ocr(view.text)
        blanked = blank_template_fields(folded)
        # Misspelled words read as the reader's words (extract.spelling); its own offset map.
        spelled = detector.speller.respell(blanked)
        text = spelled.text
        facts = extract(text, template_gaps=has_template_gaps(folded),
                        catalogue=catalogue, detector=detector, **kwargs)
        if text == original:
            return facts
        for fact in facts.values():
            for evidence in [*fact.evidence, *fact.contrary]:
                start, end = view.to_original(*spelled.to_input(evidence.start, evidence.end))
                evidence.start, evidence.end, evidence.text = start, end, original[start:end]
        return facts

    return run

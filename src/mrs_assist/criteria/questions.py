"""Which indications a question names ("Is MRS covered for epilepsy under NIA?").

Whether a question asks about coverage at all is the answer layer's rule
(``mrs_assist.answer.plan.is_coverage_question``); this module only reads the catalogue.
The indication is found with the fact's own detection words from facts.yaml: first its direct words (``regex``,
``terms``, ``abbreviations``); only when none match, the condition words of its
``near`` pairs (so "epilepsy" alone finds the pre-surgical epilepsy indication, while
"stroke" does not also find the tumor-versus-stroke differential).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from mrs_assist.criteria.catalogue import Catalogue

def _compile(words: Iterable[str], *, case_sensitive: bool = False) -> tuple[re.Pattern[str], ...]:
    return _compiled(tuple(words), case_sensitive)


@lru_cache(maxsize=1024)
def _compiled(words: tuple[str, ...], case_sensitive: bool) -> tuple[re.Pattern[str], ...]:
    """The word patterns, built once per word list (every question reads every fact's)."""
    flags = 0 if case_sensitive else re.I
    out = []
    for word in words:
        pattern = word if any(c in word for c in "\\[](){}?*+|^$") else re.escape(word)
        try:
            out.append(re.compile(rf"(?<![\w-])(?:{pattern})(?![\w-])", flags))
        except re.error:
            continue
    return tuple(out)


def _direct(detect: dict) -> tuple[re.Pattern[str], ...]:
    patterns = _compile(detect.get("regex", []) + detect.get("terms", []))
    patterns += _compile(detect.get("abbreviations", {}), case_sensitive=True)
    return patterns


def _indirect(detect: dict) -> tuple[re.Pattern[str], ...]:
    return _compile(w for pair in detect.get("near", []) for w in pair.get("b", []))


def indications_in_question(question: str, catalogue: Catalogue, rows: Iterable[str]) -> list[str]:
    """The indication facts (among ``rows``) that the question names, in ``rows`` order."""
    rows = list(rows)
    specs = {name: catalogue.spec(name).detect for name in rows if name in catalogue}
    direct = [n for n in rows if any(p.search(question) for p in _direct(specs.get(n, {})))]
    if direct:
        return direct
    return [n for n in rows if any(p.search(question) for p in _indirect(specs.get(n, {})))]


def indication_spans(text: str, catalogue: Catalogue, name: str) -> list[tuple[int, int]]:
    """Where ``text`` names the indication ``name`` (its direct words, else its near words)."""
    detect = catalogue.spec(name).detect if name in catalogue else {}
    for patterns in (_direct(detect), _indirect(detect)):
        spans = [m.span() for p in patterns for m in p.finditer(text)]
        if spans:
            return spans
    return []

"""'Does a CT count as conventional imaging for Cohere?': yes when one clause names both the
term asked about and the thing it should count as ("Conventional imaging by magnetic resonance
imaging (MRI) or computed tomography (CT)"). Only a yes is ever claimed this way; a clause
that does not name both leaves the answer to the quoted text."""

from __future__ import annotations

import re

_COUNTS = re.compile(
    r"\b(?:does|do|is|are|would|will|can)\s+(?:an?\s+|the\s+)?(?P<x>[\w/+ -]{1,40}?)\s+"
    r"(?:count as|counts as|qualify as|qualifies as|be considered|considered|satisfy|satisfies)\s+"
    r"(?:an?\s+|the\s+)?(?P<y>[\w/ -]{3,50}?)(?:\s+(?:for|under|by|in|per)\b|[?,.]|$)",
    re.I,
)
_STOP = frozenset("a an the of for under by in per to and or".split())


def counts_as(question: str) -> tuple[list[str], list[str]] | None:
    """(words of the term, words of what it should count as), or None when not asked."""
    m = _COUNTS.search(question)
    if m is None:
        return None
    x = [w for w in re.findall(r"[\w/+-]+", m.group("x")) if w.lower() not in _STOP]
    y = [w for w in re.findall(r"[\w/+-]+", m.group("y")) if w.lower() not in _STOP]
    return (x, y) if x and y else None


def names_both(text: str, term: list[str], kind: list[str]) -> bool:
    """The clause text names every word of both (whole words, case-insensitive)."""
    return all(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text, re.I) for w in [*term, *kind])

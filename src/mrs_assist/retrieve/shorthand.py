"""Reviewer shorthand, spelled out for searching ("sx" → "symptoms", "E/I" → experimental/investigational).

UM reviewers type abbreviations the guidelines never print; BM25 matches words exactly and
the embedding model reads "sx" as noise. The search query keeps the question's own words
and appends each expansion, so an exact match on the abbreviation still counts. Only the
query changes: answers quote the guidelines, never this table.
"""

from __future__ import annotations

import re

SHORTHAND: dict[str, str] = {
    "e/i": "experimental investigational",
    "mn": "medically necessary medical necessity",
    "sx": "symptoms",
    "tx": "treatment",
    "dx": "diagnosis",
    "hx": "history",
    "pt": "patient",
    "pts": "patients",
    "mbr": "member",
    "peds": "pediatric",
    "ped": "pediatric",
    "d/o": "disorder",
    "dz": "disease",
    "wks": "weeks",
    "wk": "week",
    "mo": "months",
    "mos": "months",
    "yo": "years old",
    "y/o": "years old",
    "s/p": "status post",
    "f/u": "follow-up",
    "r/o": "rule out",
    "w/": "with",
    "xrt": "radiation",
    "rad": "radiation",
    "chemorad": "chemoradiation radiation",
    "nondx": "non-diagnostic",
    "defn": "definition",
    "def": "definition",
    "docs": "documentation",
    "refs": "references",
    "orig": "original",
    "v1": "version 1",
    "v2": "version 2",
    "mcg": "medical coverage guideline",
}
_TOKEN = re.compile(r"(?<![\w/])(" + "|".join(sorted(map(re.escape, SHORTHAND), key=len, reverse=True)) + r")(?![\w/])", re.I)


def expand_shorthand(question: str) -> str:
    """The question with the spelled-out form of each shorthand it uses appended ('' added if none)."""
    found = dict.fromkeys(SHORTHAND[m.group(1).lower()] for m in _TOKEN.finditer(question))
    return f"{question} ({'; '.join(found)})" if found else question


def spell_out(text: str) -> str:
    """The text with each shorthand replaced by its spelled-out form (for reading a case the
    question states: 'no new sx' → 'no new symptoms')."""
    return _TOKEN.sub(lambda m: SHORTHAND[m.group(1).lower()].split(" medical")[0], text)

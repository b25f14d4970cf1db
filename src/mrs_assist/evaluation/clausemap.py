"""Which curated clauses a raw-text chunk contains: how baselines' chunks are scored.

The rule (kept simple on purpose, and the same for every chunk-based baseline):

1. Normalise both texts: drop HTML tags, keep a Markdown link's text, drop emphasis and
   strike markers (``*``, ``_``, ``~~``, backticks, ``#``), backslash escapes and superscript
   footnote digits, turn dashes and quotes into plain ones, lower-case, and collapse whitespace.
2. A clause is *in* a chunk when its normalised text is a substring of the normalised chunk.
3. Otherwise, for a clause of at least ``MIN_FUZZY_TOKENS`` word tokens: when at least
   ``FUZZY_SHARE`` (60 %) of its tokens appear in the chunk in the same order (greedy
   left-to-right match). This catches clauses cut by page-break debris, struck-through
   text the curation removed, and long clauses a chunk holds only part of.

Short clauses ("Demyelination") must match exactly: a handful of common words appear in
order in almost any chunk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

FUZZY_SHARE = 0.6
MIN_FUZZY_TOKENS = 8

_TAG = re.compile(r"<[^>]+>")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_MARKS = re.compile(r"~~|\*+|`+|(?<!\w)_+|_+(?!\w)|^#+\s*", re.MULTILINE)
_TRANSLATE = str.maketrans(
    {"–": "-", "—": "-", "‐": "-", "‑": "-", "“": '"', "”": '"', "‘": "'", "’": "'", "\u00a0": " ", "\\": None}
    | dict.fromkeys("⁰¹²³⁴⁵⁶⁷⁸⁹", None)  # footnote markers the seeds carry and the clauses drop
)
_SPACE = re.compile(r"\s+")
_TOKEN = re.compile(r"[a-z0-9]+")


def normalise(text: str) -> str:
    """Markup-free, lower-case, whitespace-collapsed text (rule 1 above)."""
    text = _TAG.sub(" ", text)
    text = _LINK.sub(r"\1", text)
    text = _MARKS.sub("", text)
    text = text.translate(_TRANSLATE).lower()
    return _SPACE.sub(" ", text).strip()


def tokens(text: str) -> list[str]:
    """Word tokens of already normalised text."""
    return _TOKEN.findall(text)


def in_order_share(needle: list[str], haystack: list[str]) -> float:
    """Share of needle's tokens found in haystack in order (greedy; 0.0 for an empty needle)."""
    if not needle:
        return 0.0
    pos = found = 0
    positions: dict[str, list[int]] = {}
    for i, tok in enumerate(haystack):
        positions.setdefault(tok, []).append(i)
    for tok in needle:
        for p in positions.get(tok, ()):
            if p >= pos:
                found += 1
                pos = p + 1
                break
    return found / len(needle)


class ClauseMatcher:
    """Maps raw chunks to the clause ids they contain (rules in the module docstring)."""

    def __init__(self, clauses: Mapping[str, str]) -> None:
        """clauses: clause id → verbatim clause text."""
        self._clauses = [(cid, normalise(text)) for cid, text in clauses.items()]
        self._clauses = [(cid, norm, tokens(norm)) for cid, norm in self._clauses if norm]

    def clauses_in(self, chunk: str, *, restrict: Iterable[str] | None = None) -> list[str]:
        """Clause ids contained in the chunk, in corpus order; ``restrict`` limits to these
        policy ids (a chunk of one seed can only hold clauses of that seed's document)."""
        allowed = set(restrict) if restrict is not None else None
        norm = normalise(chunk)
        toks = tokens(norm)
        vocabulary = set(toks)
        out = []
        for cid, text, clause_tokens in self._clauses:
            if allowed is not None and cid.partition("#")[0] not in allowed:
                continue
            if text in norm:
                out.append(cid)
            elif len(clause_tokens) >= MIN_FUZZY_TOKENS:
                present = sum(1 for t in clause_tokens if t in vocabulary)
                if present / len(clause_tokens) >= FUZZY_SHARE and in_order_share(clause_tokens, toks) >= FUZZY_SHARE:
                    out.append(cid)
        return out

"""Untrusted text as a reader sees it, with a map back to the original offsets.

Clinical notes (and questions) are read twice: by the extractor, for facts, and by the
instruction checks, for parts that address the system. Both read the *normalized* text, so
an instruction set aside in plain ASCII is set aside however it is written:

1. Unicode NFKC (full-width ``ｉｇｎｏｒｅ``, mathematical ``𝐢𝐠𝐧𝐨𝐫𝐞``, ligatures ``ﬁ`` → ASCII);
2. format characters (category Cf: zero-width space and joiners, soft hyphen, word joiner,
   bidi embeddings, overrides and isolates, BOM) removed; the text inside a right-to-left
   override (U+202E … U+202C or the line's end) is reversed, as a reader sees it;
3. letters that look like ASCII letters (Cyrillic ``а``, Greek ``ο``, Cherokee ``Ꭺ`` …) folded to
   them with the Unicode confusables data (UTS #39 ``confusables.txt``, as the PyPI package
   ``confusable-homoglyphs`` ships it: no download at run time), accents dropped from Latin
   letters (``ïgnore`` → ``ignore``) and combining marks NFKC could not compose removed;
4. a word split by a hyphen at a line break (``disre-⏎gard``), or across a fax page break with
   only page furniture between (``IND-⏎=== Page 1 of 2 ===⏎ETERMINATE``), rejoined.

`normalize` returns the text and, for every character of it, the span of the original it
came from: evidence spans found in the normalized text are reported in the original's
coordinates (`Normalized.to_original`), so the reviewer is shown the characters the note holds.
"""

from __future__ import annotations

import json
import re
import string
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

_RLO, _PDF = "\u202e", "\u202c"
_HYPHEN_BREAK = re.compile(r"(?<=[A-Za-z])-[^\S\n]*\r?\n[^\S\n]*(?=[a-z])")
"""A hyphen at a line's end between two letters, the next line going on in lower case."""
_FURNITURE = r"[^\n]*(?:\bpage\s+\d+\s*(?:of|/)\s*\d+\b|\bP\s*\d{1,2}\s*/\s*\d{1,2}\b|\bfax\b|\bconfidential\b)[^\n]*|[^\S\n]*[=*_-]{3,}[^\S\n]*"
_PAGE_SPLIT = re.compile(rf"(?<=[A-Za-z]{{2}})-[^\S\n]*(?:\r?\n(?:{_FURNITURE})){{1,4}}\r?\n[^\S\n]*(?=[A-Za-z])", re.IGNORECASE)
"""A word split by a fax page break: "IMPRESSION: IND-" / "==== Page 1 of 2 ====" / "ETERMINATE".
Only page furniture (a page count, a fax or confidentiality banner, a rule) may sit between."""


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def ascii_lower(text: str) -> str:
    """``text`` with A-Z lowered and nothing else changed (``str.lower`` can change lengths)."""
    return text.translate(_ASCII_LOWER)


def lower_pattern(pattern: str) -> str:
    """A case-insensitive regex as a lower-case one (escapes such as \\W and \\B kept)."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\":
            out.append(pattern[i : i + 2])
            i += 2
        elif pattern.startswith("(?P", i):  # named groups: (?P<name>...), (?P=name)
            out.append("(?P")
            i += 3
        else:
            out.append(pattern[i].lower())
            i += 1
    return "".join(out)


@dataclass(frozen=True)
class Normalized:
    """Normalized text and, per character, the original span ``[starts[i], ends[i])`` it came from."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    original_length: int

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The original span covering normalized ``[start, end)`` (an empty span stays empty)."""
        if not self.text:
            return (0, 0)
        start = min(max(start, 0), len(self.text))
        end = min(max(end, start), len(self.text))
        if end == start:
            lo = self.starts[start] if start < len(self.text) else self.original_length
            return (lo, lo)
        # min/max, not first/last: inside a right-to-left override the order is reversed
        return (min(self.starts[start:end]), max(self.ends[start:end]))


def normalize(text: str) -> Normalized:
    """``text`` normalized as the module docstring says, with its offset map."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for seg_start, seg_end, segment in _segments(text):
        for ch in unicodedata.normalize("NFKC", segment):
            for out in _fold(ch):
                chars.append(out)
                starts.append(seg_start)
                ends.append(seg_end)
    folded = "".join(chars)
    # Rejoin hyphenated line breaks: drop the hyphen and the break, keep the map of the rest.
    keep = [True] * len(folded)
    for pattern in (_HYPHEN_BREAK, _PAGE_SPLIT):
        for m in pattern.finditer(folded):
            keep[m.start() : m.end()] = [False] * (m.end() - m.start())
    if not all(keep):
        chars = [c for c, k in zip(chars, keep) if k]
        starts = [s for s, k in zip(starts, keep) if k]
        ends = [e for e, k in zip(ends, keep) if k]
    return Normalized("".join(chars), tuple(starts), tuple(ends), len(text))


def normalize_text(text: str) -> str:
    """Only the normalized text (see `normalize`)."""
    return normalize(text).text


def _segments(text: str, *, overrides: bool = True):
    """(start, end, characters) of each base character with its combining marks, format
    characters left out and right-to-left override runs reversed (as displayed). Overrides
    inside a run are dropped like any format character: one level, never recursion."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == _RLO and overrides:
            stop = i + 1
            while stop < n and text[stop] not in (_PDF, "\n"):
                stop += 1
            yield from reversed(_shift(_segments(text[i + 1 : stop], overrides=False), i + 1))
            i = stop + (1 if stop < n and text[stop] == _PDF else 0)
            continue
        if unicodedata.category(ch) == "Cf":
            i += 1
            continue
        j = i + 1
        parts = [ch]
        while j < n and (unicodedata.combining(text[j]) or unicodedata.category(text[j]) == "Cf") and text[j] != _RLO:
            if unicodedata.category(text[j]) != "Cf":
                parts.append(text[j])
            j += 1
        yield i, j, "".join(parts)
        i = j


def _shift(segments, offset: int) -> list[tuple[int, int, str]]:
    return [(s + offset, e + offset, chars) for s, e, chars in segments]


def _fold(ch: str) -> str:
    """An ASCII look-alike of ``ch`` when the confusables data or an accent's removal gives one."""
    if ch.isascii():
        return ch
    if unicodedata.category(ch) == "Mn":
        return ""  # a combining mark NFKC could not compose ("t\u0301", "zalgo" stacks)
    table = _confusables()
    if ch in table:
        return table[ch]
    if unicodedata.category(ch).startswith("L"):
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        if base.isascii() and base.isalpha():
            return base
    return ch


@lru_cache(maxsize=1)
def _confusables() -> dict[str, str]:
    """Non-ASCII character → the ASCII letter or digit it is confusable with (UTS #39 data)."""
    data = json.loads(resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8"))
    table: dict[str, set[str]] = {}
    for key, entries in data.items():
        for entry in entries:
            other = entry.get("c", "")
            if len(key) != 1 or len(other) != 1:
                continue
            if key.isascii() and key.isalnum() and not other.isascii():
                table.setdefault(other, set()).add(key)
            elif other.isascii() and other.isalnum() and not key.isascii():
                table.setdefault(key, set()).add(other)
    return {ch: _pick(ch, targets) for ch, targets in table.items()}


def _pick(ch: str, targets: set[str]) -> str:
    """One ASCII target: same case as ``ch``, letters for letters, else the smallest.

    The confusables data puts capital I in the class whose prototype is 'l' (they look
    alike), so an upper-case letter folding to 'l' is read as 'I'.
    """
    letter = unicodedata.category(ch).startswith("L")
    ranked = sorted(targets, key=lambda t: (t.isalpha() != letter, (t.isupper() != ch.isupper()) if t.isalpha() else 0, t))
    best = ranked[0]
    if best == "l" and ch.isupper():
        return "I"
    return best


__all__ = ["Normalized", "normalize", "normalize_text"]

"""Misspelled words read as the word the reader looks for ("managment" → "management").

Interpreter-mediated notes, dictation and hurried typing misspell the very words that carry a
fact ("recurence", "enhancment", "epllepsy", "wont chang managment"). The reader's patterns are
written for the real words, so a misspelled one is simply missed: a purpose goes unread (a pend
where the note decides) or a "will not change management" goes unread (an approval where the
policy is not met).

A word is respelled only when all of these hold, so a clean note is never touched and a word
the reader does not need is never invented:
- it is not an English word (pyspellchecker's English frequency list, shipped in its wheel) and
  not a word of the reader's own vocabulary (the facts catalogue and the context lexicon);
- it has at least ``MIN_LENGTH`` letters (short tokens are abbreviations: "sx", "mets");
- exactly one reader word is nearest, one edit away (a deletion, insertion, substitution or
  swap; two for words of ``LONG_WORD`` letters or more: "reccurence"), or every nearest word is
  a form of one stem (the commoner is taken); a word that is a reader word once OCR's l-for-i is
  read back ("cllnlcal" → "clinical") is that word; rapidfuzz measures the distance;
- neither word is a prefix of the other: a truncated word ("interp", "resecti") is an
  abbreviation, not a misspelling;
- the edits look like a typing slip: the first letter kept, letters doubled, dropped, added or
  swapped, or one vowel for another ("tumer"). A consonant for another makes another word
  ("metab" is not "metal", "trach" is not "track").
The target is always a reader word that is also an English word or a word of the catalogue's
own phrases, so the respelling can only produce what a pattern matches.

Apostrophe-less negative contractions ("wont", "doesnt", "cant") get their apostrophe back:
a closed grammatical class, read as the contraction in clinical text.

`respell` returns the new text with, per character, the span of the input it came from, so
evidence still quotes the notes as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import product
from typing import Iterable

from rapidfuzz import process
from rapidfuzz.distance import OSA, Indel, Levenshtein

MIN_LENGTH = 5
"""Shorter words are left alone (abbreviations, not misspellings)."""

LONG_WORD = 9
"""Words this long may be two edits from the word meant ("reccurence"); shorter ones one."""

_VOWELS = frozenset("aeiouy")
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_CONTRACTIONS = {
    w: w[:-1] + "'t"
    for w in ("dont", "doesnt", "didnt", "wont", "cant", "isnt", "wasnt", "arent", "werent", "hasnt",
              "havent", "hadnt", "couldnt", "wouldnt", "shouldnt")
}


@dataclass(frozen=True)
class Respelled:
    """Respelled text and, per character, the input span ``[starts[i], ends[i])`` it came from
    (both empty when nothing was respelled: the text is the input, offsets map to themselves)."""

    text: str
    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()

    def to_input(self, start: int, end: int) -> tuple[int, int]:
        """The input span covering respelled ``[start, end)``."""
        n = len(self.text)
        start = min(max(start, 0), n)
        end = min(max(end, start), n)
        if not self.starts:
            return (start, end)
        if end == start:
            at = self.starts[start] if start < n else self.ends[-1]
            return (at, at)
        return (min(self.starts[start:end]), max(self.ends[start:end]))


class Speller:
    """The respelling rules above over one reader vocabulary."""

    def __init__(self, reader_words: Iterable[str], english: frozenset[str], frequency: dict[str, int]):
        self.english = english
        self.frequency = frequency
        words = {w for w in reader_words if len(w) >= 3}
        self.vocabulary = frozenset(words)  # never respelled (includes pattern stems: "leukodystroph")
        self.reader = frozenset(w for w in words if w in english)  # what a respelling may produce
        self._targets = sorted(self.reader)

    def known(self, word: str) -> bool:
        return word in self.english or word in self.vocabulary

    @lru_cache(maxsize=4096)
    def correction(self, word: str) -> str | None:
        """The reader word ``word`` (lower case) stands for, or None to leave it."""
        if word in _CONTRACTIONS:
            return _CONTRACTIONS[word]
        if len(word) < MIN_LENGTH or self.known(word):
            return None
        variants = _ocr_variants(word)
        for variant in variants:
            if variant != word and variant in self.reader:
                return variant
        reach = 2 if len(word) >= LONG_WORD else 1
        found = {c: d for c, d, _ in process.extract(word, self._targets, scorer=OSA.distance, score_cutoff=reach, limit=None)
                 if not (c.startswith(word) or word.startswith(c)) and _typo(word, c)}
        if not found:
            return None
        nearest = min(found.values())
        best = {c for c, d in found.items() if d == nearest}
        stem = min(len(c) for c in best) - 1
        if len(best) > 1 and len({c[:stem] for c in best}) > 1:
            return None  # two different words as near ("abcess": abscess or access)
        return max(sorted(best), key=lambda c: self.frequency.get(c, 0))

    def respell(self, text: str) -> Respelled:
        """``text`` with each misspelled word respelled (see the module docstring)."""
        chars: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        at = 0
        for m in _WORD.finditer(text):
            word = m.group()
            fixed = self.correction(word.lower())
            if fixed is None:
                continue
            for i in range(at, m.start()):
                chars.append(text[i]); starts.append(i); ends.append(i + 1)
            for ch in _same_case(word, fixed):
                chars.append(ch); starts.append(m.start()); ends.append(m.end())
            at = m.end()
        if not at:
            return Respelled(text)
        for i in range(at, len(text)):
            chars.append(text[i]); starts.append(i); ends.append(i + 1)
        return Respelled("".join(chars), tuple(starts), tuple(ends))


def _typo(word: str, meant: str) -> bool:
    """Whether ``word`` reads as a typing slip for ``meant``: the first letter kept, and each edit
    a letter left out ("pregant"), a vowel or a doubled letter too many ("reccurence"), two
    neighbours swapped ("recrods"), or one vowel for another ("tumer"). A consonant for another
    ("metab" → "metal", "trach" → "track") or a consonant too many ("lesns" → "less") makes
    another word."""
    if word[:1] != meant[:1]:
        return False
    reach = 2 if len(word) >= LONG_WORD else 1
    if Indel.distance(word, meant) <= reach and all(  # letters left out or doubled ("reccurence")
        op != "delete" or _slip(word, i) for op, i, _ in Indel.editops(word, meant)
    ):
        return True
    if OSA.distance(word, meant) < Levenshtein.distance(word, meant):
        return OSA.distance(word, meant) == 1  # one swap of neighbours ("recrods")
    return all(
        (word[i] in _VOWELS and meant[j] in _VOWELS) if op == "replace"
        else op != "delete" or _slip(word, i)  # a letter left out ("insert") is the commonest slip
        for op, i, j in Levenshtein.editops(word, meant)
    )


def _slip(word: str, i: int) -> bool:
    """Whether the letter at ``i`` is one a slip adds or drops: a vowel, or a doubled letter."""
    return word[i] in _VOWELS or word[i] in word[max(i - 1, 0) : i] + word[i + 1 : i + 2]


def _ocr_variants(word: str) -> list[str]:
    """``word`` with each choice of its l's read as i (at most four l's: 16 variants)."""
    spots = [i for i, c in enumerate(word) if c == "l"][:4]
    out = []
    for choice in product((False, True), repeat=len(spots)):
        chars = list(word)
        for i, flip in zip(spots, choice):
            if flip:
                chars[i] = "i"
        out.append("".join(chars))
    return out


def _same_case(original: str, fixed: str) -> str:
    if original.isupper() and len(original) > 1:
        return fixed.upper()
    if original[:1].isupper():
        return fixed[:1].upper() + fixed[1:]
    return fixed


@lru_cache(maxsize=4)
def speller_for(reader_text: str) -> Speller:
    """A speller over the words of ``reader_text`` (the catalogue and the lexicon as text): each is
    left as written, and those that are English words are what a misspelling may be read as."""
    frequency = _english_frequency()
    return Speller({w.lower() for w in re.findall(r"[A-Za-z]+", reader_text)}, frozenset(frequency), frequency)


@lru_cache(maxsize=1)
def _english_frequency() -> dict[str, int]:
    """pyspellchecker's English word-frequency list, read straight from its wheel (a third of the
    time its ``SpellChecker`` takes to build, which matters to a cold ``determine``)."""
    import gzip
    import json
    from importlib.resources import files

    try:
        data = (files("spellchecker") / "resources" / "en.json.gz").read_bytes()
        return json.loads(gzip.decompress(data))
    except (FileNotFoundError, OSError, ValueError):  # a future layout: ask the library
        from spellchecker import SpellChecker

        return dict(SpellChecker(distance=1).word_frequency.dictionary)

"""Faxed and OCR'd packets: read "N0 PACEMAKER" as "NO PACEMAKER" and "7639O" as "76390".

OCR confuses O with 0, I/l with 1, and I with l. In a packet that shows the confusion throughout (words
such as "C0NFIDENTIAL", "PR0STATE", "MR1"), a digit inside a word is read as the letter it
stands for, and a letter inside a number as the digit. Every replacement is one character for
one, so offsets into the notes do not move and evidence still quotes the original text.

A note is treated as OCR'd only when at least ``MIN_CONFUSED_WORDS`` words of three or more
characters mix letters with a 0 or 1 between letters: clean notes ("T2N0M0", "C71.2", "MRI T1")
are never touched, and a single odd token never changes a clean note.
"""

from __future__ import annotations

import re

MIN_CONFUSED_WORDS = 3
"""Words like "C0NFIDENTIAL" that mark a note as OCR'd."""

_TOKEN = re.compile(r"[A-Za-z0-9]+")
_CONFUSED = re.compile(r"[A-Za-z]{1,}[01][A-Za-z]|[A-Za-z]{2,}[01](?![0-9])|(?<![0-9])[01][A-Za-z]{2,}")
_NUMERIC = re.compile(r"(?=[0-9lIO]*[0-9])[0-9lIO]+")
_ICD_LIKE = re.compile(r"[A-Z][0-9lIO]{2}[0-9A-Z]{0,4}")
_SHORT = {"N0": "NO", "W0": "WO", "T0": "TO", "0F": "OF", "0R": "OR", "0N": "ON", "S0": "SO", "D0": "DO", "N0T": "NOT"}
_DIGIT_AS_LETTER = {"0": "O", "1": "I"}
_LETTER_AS_DIGIT = {"l": "1", "I": "1", "O": "0"}


def looks_ocrd(text: str) -> bool:
    """Whether the text shows OCR's letter/digit confusion in several words."""
    count = 0
    for m in _TOKEN.finditer(text):
        word = m.group()
        if len(word) >= 3 and _CONFUSED.search(word) and not _ICD_LIKE.fullmatch(word):
            count += 1
            if count >= MIN_CONFUSED_WORDS:
                return True
    return False


def fold_ocr(text: str) -> str:
    """``text`` with OCR confusions read back (same length); unchanged unless it looks OCR'd."""
    if not looks_ocrd(text):
        return text
    return _TOKEN.sub(_fold_token, text)


def _fold_token(m: re.Match[str]) -> str:
    word = m.group()
    if word in _SHORT:
        return _SHORT[word]
    if _ICD_LIKE.fullmatch(word):  # "R9O" / "C7l": a code, its tail is digits
        return word[0] + "".join(_LETTER_AS_DIGIT.get(c, c) for c in word[1:])
    if _NUMERIC.fullmatch(word):  # "7639O", "l22O9l834": a number with letters in it
        return "".join(_LETTER_AS_DIGIT.get(c, c) for c in word)
    letters = sum(c.isalpha() for c in word)
    if letters < 2:
        return word  # "T2", "L1", "4x6cm"-like runs keep their digits
    chars = list(word)
    if sum(c.isupper() for c in word) >= 2 and all(c.isupper() or c == "l" or not c.isalpha() for c in word):
        chars = ["I" if c == "l" else c for c in chars]  # "lNDETERMlNATE", "MRl": an ALL-CAPS word's l is an I
    for i, c in enumerate(chars):
        if c in _DIGIT_AS_LETTER and _next_to_letter(word, i):
            lower = i > 0 and chars[i - 1].islower()
            chars[i] = _DIGIT_AS_LETTER[c].lower() if lower else _DIGIT_AS_LETTER[c]
    return "".join(chars)


def _next_to_letter(word: str, i: int) -> bool:
    before = word[i - 1] if i > 0 else ""
    after = word[i + 1] if i + 1 < len(word) else ""
    return before.isalpha() or after.isalpha()

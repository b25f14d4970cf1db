"""Unfilled EHR template parts assert nothing: blank them before reading the notes.

Epic-style SmartList placeholders (``{Blank single:19197::"RRMS / CIS / RIS / other"}``) list the
options a clinician did not choose, and ``***`` marks a field left empty. Read as text, the
options would be facts ("RRMS" → multiple sclerosis). Each placeholder is replaced by as many
spaces (line breaks kept), so every offset into the notes still holds and evidence still quotes
the original text. A form's underscore line ("Purpose of MRS: ______") is a field left empty too
(a template gap), but stays as written: the layout reads a question answered by a blank line.
"""

from __future__ import annotations

import re

_SMARTLIST = (
    r"\{\s*(?:Blank|SmartList|SL|List|Choose|Select|Pick)\b[^{}]{0,600}\}"  # {Blank single:…::"…"}
    r"|\{[^{}\n]{0,200}?::[^{}]{0,400}\}"  # {anything::"options"}
)
_PLACEHOLDER = re.compile(rf"{_SMARTLIST}|\*{{3,}}", re.IGNORECASE)  # and *** (an empty field, or decoration)


def blank_template_fields(text: str) -> str:
    """``text`` with unfilled template placeholders blanked (same length, newlines kept)."""
    return _PLACEHOLDER.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)


_GAP = re.compile(
    rf"{_SMARTLIST}"  # a SmartList left unchosen
    r"|(?::|\b(?:for|of|with|is|was|on|from))[ \t]*\*{3,}"  # "Chief complaint: ***", "for *** who" (not "*** CONFIDENTIAL ***")
    r"|:[ \t]*_{4,}",  # "Purpose of MRS: ________" (a form's line left blank)
    re.IGNORECASE,
)


def has_template_gaps(text: str) -> bool:
    """Whether ``text`` has a template field left unfilled where a value belongs."""
    return _GAP.search(text) is not None

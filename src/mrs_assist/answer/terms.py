"""'Does a CT count as conventional imaging for Cohere?': yes when one clause names both the
term asked about and the thing it should count as ("Conventional imaging by magnetic resonance
imaging (MRI) or computed tomography (CT)"). Only a yes is ever claimed this way; a clause
that does not name both leaves the answer to the quoted text."""

from __future__ import annotations

import re

_COUNTS = re.compile(
    r"\b(?:does|do|is|are|would|will|can)\s+(?:an?\s+|the\s+)?(?P<x>[\w/+ -]{1,40}?)\s+"
    r"(?:count as|counts as|qualify as|qualifies as|be considered|considered|satisfy|satisfies|meet|meets|"
    r"fulfil|fulfill|fulfils|fulfills|serves? as|be (?:used|accepted|taken) as|"
    # "is a CT acceptable as the conventional imaging?"
    r"(?:be\s+)?(?:acceptable|accepted|ok|okay|valid|good enough)\s+as)\s+"
    r"(?:an?\s+|the\s+)?(?:[\w-]+['’]s\s+)?['‘\"“]?(?P<y>[\w/ '’\"”-]{3,50}?)['’\"”]?"
    # "… count as the 'conventional imaging' or do they have to have had an MRI first?": the first alternative
    r"(?:\s+(?:for|under|by|in|per|or)\b|[?,.]|$)",
    re.I,
)
_STOP = frozenset("a an the of for under by in per to and or".split())
_GENERIC = frozenset("condition conditions requirement requirements criterion criteria rule clause part prong "
                     "element item box".split())
"""Words for a policy's part, not what it names ("Cohere's conventional-imaging condition")."""
_FILLER = frozenset("enough sufficient alone itself scan scans study studies exam exams result results".split())
"""Words around an imaging study's name that are not the term ("is a CT scan enough to satisfy …": the CT)."""
_POINTING = frozenset("that this it which".split())
_MODALITY = re.compile(r"\b(?:CT|MRI|PET|SPECT|ultrasound|x-ray|angiogra\w+|EEG|MEG)\b", re.I)
"""What "does that satisfy …" points back to, when the question stated a study before it."""


def counts_as(question: str) -> tuple[list[str], list[str]] | None:
    """(words of the term, words of what it should count as), or None when not asked. A term
    that only points back ("does that satisfy …") is the study the question named before it;
    the payer's name and words for a policy's part are not what it should count as."""
    m = _COUNTS.search(question)
    if m is None:
        return None
    x = [w for w in re.findall(r"[\w/+]+", m.group("x")) if w.lower() not in _STOP]
    study = [w for w in x if w.lower() not in _FILLER]
    if study and all(_MODALITY.fullmatch(w) for w in study):  # "a CT scan enough to": the CT
        x = study
    elif len(named := [w for w in study if _MODALITY.fullmatch(w)]) == 1:
        # "an inconclusive CT head": the study is the term; its result and the part imaged describe it
        x = named
    if [w.lower() for w in x] in (["that"], ["this"], ["it"], ["which"]) or (x and x[0].lower() in _POINTING and len(x) == 1):
        before = [f.group(0) for f in _MODALITY.finditer(question, 0, m.start())]
        x = before[-1:]
    y = [w for w in re.findall(r"[\w/+]+", m.group("y")) if w.lower() not in _STOP | _GENERIC]
    return (x, y) if x and y else None


def names_both(text: str, term: list[str], kind: list[str]) -> bool:
    """The clause text names every word of both (whole words, case-insensitive)."""
    return all(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text, re.I) for w in [*term, *kind])

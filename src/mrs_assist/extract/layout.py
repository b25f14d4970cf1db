"""Where a mention sits in a clinic note: its section, its line's form, and its date.

Clinic notes are documents, not paragraphs. The same words mean different things under
"FAMILY HISTORY:" and under "ASSESSMENT:", on an unchecked checkbox line, before an answer
"No", in a negated list, or in a statement dated two years before the study. This module
reads that structure; ConText (extract/context.py) reads the sentence.

- Sections: medspaCy's Sectionizer with the header rules in extract/lexicon.yaml
  (``sections``). Each section category adds a reading to every mention in it: family
  history is family, past history and copied-forward text are ``prior`` (history, not this
  study's reason), and assessment/plan/reason-for-exam sections state the reason for this
  study.
- Line forms (``line_cues``): an unchecked checkbox (``[ ]``, ``☐``) asserts nothing; an
  item answered "No"/"N"/"none" (``Pacemaker? No``) is negated; a negation cue that leads a
  comma/slash/semicolon list ("Denies: fever, seizures, weakness") reaches every item of it.
- Dates (``NoteDates``): a sentence whose dates are all well before the note's latest date
  (the current study) is history, unless it speaks of the present ("now", "today",
  "requested").
"""

from __future__ import annotations

import datetime as dt
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache

from mrs_assist.extract.spec import Lexicon

REASON_SECTIONS = frozenset({"assessment", "plan", "reason"})
"""Sections that state the reason for this study: read first for purposes."""

PRIOR_DAYS = 270
"""A dated statement this many days or more before the note's latest date is history."""

_UNCHECKED = re.compile(r"\[\s*\]|☐|□|\(\s\)")
_CHECKED = re.compile(r"\[\s*[xX✓✔✗*]\s*\]|☑|☒|■|\(\s*[xX]\s*\)")
_ANSWER_NO = re.compile(
    # (the question is one sentence: "Meningioma resected 2021. Current treatment: none" answers the treatment)
    r"(?P<q>[A-Za-z\[(](?:[^:?\n.]|\.(?!\s)){0,80}?)\s*[:?]\s*(?P<a>no|n|none|negative|denied|denies|absent)\b\.?"
    # "…tinnitus): no\nvestibular schwannoma": a line that wraps the sentence on is no answer
    r"(?=[ \t]{2,}|\s*[;,|]|[ \t]*$(?!\n[ \t]*(?-i:[a-z]))|(?<=\.)\s+[A-Z])",
    re.IGNORECASE | re.MULTILINE,
)
_LEAD_NEGATION = re.compile(
    r"^\s*(?:[A-Za-z][\w /&()-]{0,40}:\s*)?(?:-\s*)?(?:(?:he|she|they|the patient|patient|pt)\s+)?(?:specifically\s+|also\s+|otherwise\s+)?"
    r"(?:no|denies|denied|negative for|neg for|without|none(?:\s*[-:]\s*no)?|never)\b",
    re.IGNORECASE,
)
_SEGMENT_END = re.compile(r";|\?|\bbut\b|\bexcept\b|\bpositive for\b|\bendorses\b|\breports\b|\bhowever\b", re.IGNORECASE)
_ITEM_SPLIT = re.compile(r",|/|\bor\b|\band\b|\bnor\b|\bno\b|-", re.IGNORECASE)
MAX_LIST_ITEM_WORDS = 6
"""A negation reaches along a list only while every item before the mention is this short."""

_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
_DATE = re.compile(
    r"(?<![\d/])(?P<m>0?[1-9]|1[0-2])/(?:(?P<d>[0-3]?\d)/)?(?P<y>(?:19|20)\d{2})(?![\d/])"
    r"|\b(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(?P<y2>(?:19|20)\d{2})\b"
    r"|(?<![\d/.-])(?P<y3>(?:19[89]|20[0-4])\d)(?![\d/.-])"
    # two-digit years, as transcriptions write them: "3/15/71", "02/04/08"; a month and a
    # two-digit year only where no day could be meant ("until 8/71", "in 12/92": 32-99)
    r"|(?<![\d/])(?P<m4>0?[1-9]|1[0-2])/(?P<d4>[0-3]?\d)/(?P<y4>\d{2})(?![\d/])"
    r"|\b(?:in|on|until|till|by|from|through|before|after|during)\s+(?P<m5>0?[1-9]|1[0-2])/(?P<y5>[3-9]\d)(?![\d/])",
    re.IGNORECASE,
)
TWO_DIGIT_PIVOT = 40
"""A two-digit year up to this is 20yy, above it 19yy."""
_ONSET_DATE = re.compile(
    r"\b(?:diagnosed|dx(?:'?d)?|since|onset|began|starting|first (?:noted|seen|diagnosed)|(?:confirmed|established)(?:\s+(?:by|on|with)\s+(?:[^.;\n]|\.(?=\S)|\n(?![ \t]*\n)){0,100}?)?|(?:hx|h/o|history)(?=\s+\())\s+\(?(?:(?:in|on|at)\s+)?"
    r"(?:(?:0?[1-9]|1[0-2])/(?:[0-3]?\d/)?(?:19|20)\d{2}|(?:0?[1-9]|1[0-2])/[0-3]?\d/\d{2}(?![\d/])|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(?:19|20)\d{2}"
    r"|(?:19|20)\d{2})\b"
    r"|\b(?:19|20)\d{2}\s+(?:revised\s+)?(?:McDonald|WHO|ILAE|AAN|NCCN|RANO|criteria|classification|guidelines?|edition|version)\b",
    re.IGNORECASE,
)
"""When a condition began ("RRMS diagnosed 2016", "seizures since 2019"), the history a statement
cites ("r/o recurrence given hx (2009)") or a criteria edition ("2010 McDonald criteria", "2021 WHO
classification"): no date of the statement itself."""
_PRESENT = re.compile(
    r"\b(?:now|today|currently|current|presents?|presented|request(?:s|ed|ing)?|ordered|plan(?:ned)?|recommend\w*|MRS|spectroscop\w*)\b",
    re.IGNORECASE,
)


@dataclass
class Cues:
    """What a mention's place in the note adds: ConText-style categories and readable labels."""

    categories: set[str] = field(default_factory=set)
    labels: list[str] = field(default_factory=list)
    drop: bool = False
    """An unchecked checkbox: the line asserts nothing."""
    answered_no: bool = False
    """The mention is a question its line answers "No" (the fact is false, whatever its readings)."""
    unanswered: bool = False
    """The mention is a form question with no option chosen (dropped, unless a fact asks it)."""


_COLON = r"\s*:"
_ASIDE_COLON = r"\s*(?:\((?![^()\n]*\bforward\b)[^()\n]{1,80}\)\s*)?:"
"""An aside that says its text was brought forward is the ``prior_note`` header's, not this one's."""


def section_rules(lexicon: Lexicon) -> list:
    """medspaCy SectionRules for the lexicon's header patterns (one regex per category)."""
    from medspacy.section_detection import SectionRule

    rules = []
    for category, headers in lexicon.sections.items():
        # a header may carry an aside before its colon: "PAST MEDICAL HISTORY (auto-populated from
        # 2019 encounter):", "Plan (discussed with family):" is still that section
        headers = [h[: -len(_COLON)] + _ASIDE_COLON if h.endswith(_COLON) else h for h in headers]
        alternatives = "|".join(f"(?:{h})" for h in headers)
        rules.append(SectionRule(f"{category} header", category, pattern=rf"(?m)(?<![\w/&-])(?:{alternatives})"))
    return rules


def sections_of(doc) -> list[tuple[int, str | None]]:
    """(start character, category) boundaries of a Doc's sections, in order (category None:
    outside any section).

    medspaCy runs a section to the next header. Clinic notes are looser, so a section ends
    earlier: a header with text on its own line ("PSH: aneurysm clipping 2008.") covers
    that line and the list items under it; a header alone on its line covers the lines
    down to a blank line. Copied-forward text (``prior_note``) under a header alone on its
    line runs to its end marker (``current``) or a blank line, over any headers copied with
    it; one copied onto its header's line runs to the next header or blank line.
    """
    text = doc.text
    found = []
    for section in doc._.sections:
        title = section.title_span
        t0, t1 = (title.start, title.end) if hasattr(title, "start") else title
        if t1 <= t0:
            continue
        found.append((doc[t0].idx, doc[t1 - 1].idx + len(doc[t1 - 1].text), section.category))
    bounds: list[tuple[int, str | None]] = []
    i = 0
    while i < len(found):
        h0, h1, category = found[i]
        nxt = found[i + 1][0] if i + 1 < len(found) else len(text)
        line_end = text.find("\n", h1)
        line_end = len(text) if line_end < 0 else line_end
        inline = bool(text[h1:line_end].strip(" \t:-"))
        if category == "prior_note" and not inline:
            j = i + 1
            while j < len(found) and found[j][2] != "current" and not _BLANK_LINE.search(text, h1, found[j][0]):
                j += 1
            nxt = found[j][0] if j < len(found) else len(text)
            end = min(nxt, _blank_line_at(text, h1, nxt))
            bounds += [(h0, category), (end, None)]
            i = j
            continue
        if category == "prior_note":
            # "Problem list (carried forward 2019): 'Concussion - resolved'; 'ADHD'." copies a
            # list onto its header's line: it runs to the next header or blank line, as any section.
            end = _blank_line_at(text, h1, nxt)
        elif inline:
            end = line_end
            while end < nxt and (_LIST_ITEM.match(text, end + 1) or _wraps_on(text, end)):
                following = text.find("\n", end + 1)
                end = len(text) if following < 0 else following
        else:
            end = _blank_line_at(text, h1, nxt)
        bounds += [(h0, category), (min(end, nxt), None)]
        i += 1
    for marker in _TRAILING_COPY.finditer(text):
        bounds = _override(bounds, _copied_from(text, bounds, marker.start()), marker.end(), "prior_note")
    return bounds


_TRAILING_COPY = re.compile(
    r"[\[(]\s*(?:(?:the\s+)?(?:text|note|entry|assessment|plan|section|paragraph)\s+)?(?:is\s+)?"
    r"(?:identical|copied|carried\s+forward|pulled\s+forward|verbatim)\b[^\])\n]{0,60}?"
    r"\b(?:note|visit|encounter|entry)\b[^\])\n]{0,20}[\])]", re.IGNORECASE)
"""A marker after copied text saying so ("... - MRS requested." [text identical to 04/2023 note]):
the text before it, back to its paragraph's or its header line's start, is copied forward."""


def _copied_from(text: str, bounds: list[tuple[int, str | None]], marker: int) -> int:
    """Where the text a trailing copy marker annotates starts: the later of its paragraph's start
    and the start of the line holding the last section header before it."""
    blank = text.rfind("\n\n", 0, marker)
    start = 0 if blank < 0 else blank + 2
    headers = [b for b, category in bounds if category is not None and b < marker]
    if headers:
        start = max(start, text.rfind("\n", 0, headers[-1]) + 1)
    return start


def _override(bounds: list[tuple[int, str | None]], r0: int, r1: int, category: str) -> list[tuple[int, str | None]]:
    """``bounds`` with [r0, r1) in ``category`` (what follows r1 keeps the category it had there)."""
    after = section_at(bounds, r1)
    return ([b for b in bounds if b[0] < r0] + [(r0, category), (r1, after)] + [b for b in bounds if b[0] > r1])


WRAP_WIDTH = 60
"""A line this long that ends mid-sentence was wrapped (a fax, a fixed-width EHR export)."""


def _wraps_on(text: str, end: int) -> bool:
    """Whether the line ending at ``end`` runs on into the next one: it was wrapped (long, and no
    sentence ends with it) and the next line is text, not blank. An inline section ("PURPOSE OF
    STUDY: ... RESULTS ARE FOR RESEARCH\nPURPOSES ONLY ...") then covers its wrapped lines."""
    line = text[text.rfind("\n", 0, end) + 1 : end].rstrip()
    if len(line) < WRAP_WIDTH or line.endswith((".", "!", "?", ":")):
        return False
    following = text.find("\n", end + 1)
    return bool(text[end + 1 : len(text) if following < 0 else following].strip())


_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*•·]|\d+[.)]|#)\s")


def _blank_line_at(text: str, start: int, limit: int) -> int:
    m = _BLANK_LINE.search(text, start, limit)
    return m.start() if m else limit


def section_at(sections: list[tuple[int, str | None]], char: int) -> str | None:
    """The category of the section holding ``char`` (None outside every section)."""
    i = bisect_right([s for s, _ in sections], char) - 1
    return sections[i][1] if i >= 0 else None


LINE_REACH = 400
"""How far (characters) a line's checkbox, answered question or list lead-in reaches a mention."""


def line_cues(notes: str, start: int, sentence: tuple[int, int]) -> Cues:
    """The cues of the line around a mention starting at ``start`` (see the module docstring)."""
    cues = Cues()
    # A line's cues reach at most LINE_REACH characters back: a box, an answer or a list lead-in
    # further away on one very long line is not this mention's (and reading it all is quadratic).
    line_start = notes.rfind("\n", 0, start) + 1
    line_end = notes.find("\n", start)
    line_end = len(notes) if line_end < 0 else line_end
    reach = max(line_start, start - LINE_REACH)
    colon = notes.find(":", start, line_end)
    if colon >= 0 and (_BLANK_FIELD.fullmatch(notes, colon + 1, line_end) or (
            _BLANKED_FIELD.fullmatch(notes, colon + 1, line_end) and _LABEL.fullmatch(notes, start, colon))):
        # a form's label whose answer is a blank line ("New or worsening symptoms (describe): ____")
        cues.drop = True
        cues.unanswered = True
        cues.labels.append("form field left blank")
        return cues
    before = notes[reach:start]
    boxes = [(m.start(), False) for m in _UNCHECKED.finditer(before)] + [(m.start(), True) for m in _CHECKED.finditer(before)]
    answer = _form_answer(notes, start, line_end) if not boxes or _boxes_follow_labels(notes, line_start, line_end) else None
    if answer is None and _boxes_follow_labels(notes, line_start, line_end):
        # "Pacemaker [ ]  Clips [X]": each box follows its label, so a mention's box is the next one
        after = _BOX.search(notes, start, min(line_end, start + LINE_REACH))
        boxes = [] if after is None else [(0, bool(_CHECKED.fullmatch(after.group())))]
    if boxes and not max(boxes)[1]:
        cues.drop = True
        cues.labels.append("unchecked box")
        return cues
    if answer is not None:
        if answer == "" or answer in _UNSURE_OPTIONS:
            cues.drop = True
            cues.unanswered = answer == ""
            cues.labels.append(f"form question answered {answer!r}" if answer else "form question left unanswered")
            return cues
        if answer in _NO_OPTIONS:
            cues.categories.add("negated")
            cues.answered_no = True
            cues.labels.append(f"form question answered {answer!r}")
            return cues
    for q0, q1, answer in _answers(notes, line_start, line_end):
        if q0 <= start < q1:
            cues.categories.add("negated")
            cues.answered_no = True
            cues.labels.append(f"answered {answer!r}")
            return cues
    lo = max(reach, sentence[0])
    ends = [m.end() for m in _SEGMENT_END.finditer(notes, lo, start)]
    lo = max([lo, *ends])
    segment = notes[lo:start]
    lead = _LEAD_NEGATION.match(segment)
    if lead:
        items = _ITEM_SPLIT.split(segment[lead.end():])
        if len(items) > 1 and all(len(item.split()) <= MAX_LIST_ITEM_WORDS for item in items):
            cues.categories.add("negated")
            cues.labels.append(f"negated list ({lead.group().strip()!r})")
    return cues


_BOX = re.compile(rf"{_UNCHECKED.pattern}|{_CHECKED.pattern}")
_BLANK_FIELD = re.compile(r"[ \t]*_{3,}[ \t_]*")
"""What follows a form label's colon when the field was left blank: a run of underscores."""
_BLANKED_FIELD = re.compile(r"[ \t]{3,}")
"""... or the spaces a blanked template placeholder left ("New symptoms: {Blank single:…}"), after a
label that is the mention itself (``_LABEL``), not a later field on its line."""
_LABEL = re.compile(r"[A-Za-z][A-Za-z /'()-]{0,40}")


def _boxes_follow_labels(notes: str, line_start: int, line_end: int) -> bool:
    """Whether a line's checkboxes follow their labels ("MRI safety: Pacemaker [ ]  Clips [ ]")
    rather than lead them ("Implants: [ ] VNS  [X] DBS"): a label stands before the first box."""
    first = _BOX.search(notes, line_start, line_end)
    if first is None:
        return False
    lead = notes[line_start:first.start()].strip()
    return bool(lead) and not lead.endswith((":", "-", "–", "•", "*", ")"))


_YES_OPTIONS = frozenset({"yes", "y", "true", "present", "positive"})
_NO_OPTIONS = frozenset({"no", "n", "false", "absent", "negative", "none"})
_UNSURE_OPTIONS = frozenset({"unknown", "unsure", "n/a", "pending"})
_OPTION = re.compile(
    rf"(?P<box>{_UNCHECKED.pattern}|{_CHECKED.pattern})\s*(?P<label>n/a|[A-Za-z]+)", re.IGNORECASE
)
FORM_QUESTION_REACH = 120
"""How far (characters) after a mention a form question's first option may sit."""


def _form_answer(notes: str, start: int, line_end: int) -> str | None:
    """The answer a form question gives a mention in it: ``Inconclusive?  [ ] Yes  [X] No``.

    A mention followed on its line by yes/no checkbox options ("Pacemaker/ICD  [ ] yes  [ ] no")
    is a form question: the checked option answers it ("no" → the mention is negated), none checked
    leaves it unanswered (``""``: it asserts nothing), whatever its options. ``None`` when the line
    is not such a question, or a choice field's option is checked ("[X] Brain [ ] Breast"). An
    "unknown"/"n/a" box checked asserts nothing either (the caller drops it).
    """
    first = _BOX.search(notes, start, min(line_end, start + FORM_QUESTION_REACH))
    if first is None:
        return None
    options = list(_OPTION.finditer(notes, first.start(), line_end))
    if not options or options[0].start() != first.start():
        return None
    labels = [(o.group("label").lower(), bool(_CHECKED.fullmatch(o.group("box")))) for o in options]
    checked = [label for label, on in labels if on]
    if not any(label in _YES_OPTIONS for label, _ in labels):
        # A choice field ("Symptoms since last visit: [ ] stable [ ] new [ ] worse"): with no
        # option chosen the question is unanswered and its label asserts nothing (issue 18).
        return None if checked else ""
    return checked[0] if checked else ""


@lru_cache(maxsize=256)
def _answers(notes: str, line_start: int, line_end: int) -> tuple[tuple[int, int, str], ...]:
    """The question spans of a line answered "No" (one scan per line, however many mentions)."""
    # The search sees the next line too, so an answer at the line's end can tell a wrapped sentence.
    following = notes.find("\n", line_end + 1)
    window = len(notes) if following < 0 else following
    return tuple((m.start("q"), m.end("q"), m.group("a")) for m in _ANSWER_NO.finditer(notes, line_start, window)
                 if m.start("a") < line_end)


def parse_dates(text: str) -> list[dt.date]:
    """The dates written in ``text`` (mm/dd/yyyy, mm/yyyy, "Oct 2024", a bare year), in order."""
    return _dates(text)


def _century(yy: str) -> int:
    return int(yy) + (2000 if int(yy) <= TWO_DIGIT_PIVOT else 1900)


def _dates(text: str) -> list[dt.date]:
    out = []
    for m in _DATE.finditer(text):
        try:
            if m.group("y"):
                out.append(dt.date(int(m.group("y")), int(m.group("m")), int(m.group("d") or 15)))
            elif m.group("y2"):
                out.append(dt.date(int(m.group("y2")), _MONTHS[m.group("mon").lower()[:3]], 15))
            elif m.group("y4"):
                out.append(dt.date(_century(m.group("y4")), int(m.group("m4")), int(m.group("d4"))))
            elif m.group("y5"):
                out.append(dt.date(_century(m.group("y5")), int(m.group("m5")), 15))
            else:
                out.append(dt.date(int(m.group("y3")), 7, 1))
        except ValueError:
            continue
    return out


class NoteDates:
    """The note's latest date (the current study) and which sentences are dated well before it."""

    def __init__(self, notes: str) -> None:
        self.notes = notes
        dates = _dates(notes)
        self.current = max(dates) if dates else None

    def prior(self, sentence: tuple[int, int]) -> str | None:
        """The sentence's latest date when it is history (PRIOR_DAYS or more before the current
        study, and the sentence does not speak of the present); else None."""
        if self.current is None:
            return None
        text = _ONSET_DATE.sub(" ", self.notes[sentence[0]:sentence[1]])
        dates = _dates(text)
        if not dates or _PRESENT.search(text):
            return None
        latest = max(dates)
        if (self.current - latest).days >= PRIOR_DAYS:
            return latest.isoformat()[:7]
        return None


# --- conditional and planned statements (issue 18) ------------------------------------------
CONDITION = re.compile(
    r"\b(?:if|should|once|unless|in case|in the event(?: that)?|provided that|contingent (?:up)?on)\b",
    re.IGNORECASE,
)
_NOT_A_CONDITION = re.compile(
    r"(?:determine|determining|see|seeing|evaluate|evaluating|assess|assessing|clarify|clarifying|establish|"
    r"know|knowing|confirm|confirming|tell|telling|decide|deciding|check|checking|unclear|unsure|uncertain|"
    r"ask|asked|sure|wonder|question|as|even|only|and|or)\W*$",
    re.IGNORECASE,
)
_CONSEQUENCE = re.compile(
    r"\b(?:will|would|shall|may|might|could|can|plan(?:s|ned)?|then|consider|to be (?:obtained|ordered|considered)|"
    r"need(?:s)?|request(?:s|ed)?|proceed|obtain)\b|->|=>|→",
    re.IGNORECASE,
)


_ITEM_START = re.compile(r"(?:[.!?;]\s|\n[ \t]*(?:[-*•·]|\d+[.)])\s|\n[ \t]*\n|\A)")


def item_start(notes: str, sentence_start: int) -> int:
    """Where the statement holding a sentence begins: the sentence, or the list item or
    paragraph it continues ("- If the repeat MRI is indeterminate, we will obtain\n  MR
    spectroscopy to …" is one statement wrapped over two lines)."""
    lo = max(0, sentence_start - 400)
    starts = [m.end() for m in _ITEM_START.finditer(notes, lo, sentence_start + 1)]
    return max(starts) if starts else sentence_start


def conditional_from(notes: str, sentence: tuple[int, int]) -> tuple[int, str] | None:
    """Where a statement's conditional clause starts, and its trigger, or None.

    "If the repeat MRI is inconclusive, we will obtain MRS to distinguish recurrence from
    necrosis" plans a study on a future event: what follows the trigger is not this request's
    fact. A trigger counts only when a consequence goes with it in the statement (will,
    would, plan, then, ->, before or after it: "MRS can be added if the MRI is inconclusive")
    and it is not an indirect question ("to determine if this is recurrence").
    """
    lo, hi = item_start(notes, sentence[0]), sentence[1]
    for m in CONDITION.finditer(notes, lo, hi):
        if _NOT_A_CONDITION.search(notes, max(lo, m.start() - 30), m.start()):
            continue
        if _CONSEQUENCE.search(notes, m.end(), hi) or _CONSEQUENCE.search(notes, lo, m.start()):
            return m.start(), m.group()
    return None


# --- packets: several documents in one request (issue 18) ------------------------------------
_DOC_HEADER = re.compile(
    r"(?im)^[ \t]*(?:>{1,3}[ \t]*)?(?:"  # an email-style ">> DOC A: …" lead-in too
    r"\[\s*(?:DOC(?:UMENT)?\s*)?(?!X\s*\])[A-Z0-9]{1,3}\s*\]"  # [DOC 1], [2], [B]; not a checked box [X]
    r"|(?:={2,}|-{2,}|#{2,})[ \t]*(?!page\b|\(?cont)(?:[A-Za-z]|\[\s*[A-Z0-9]{1,3}\s*\])[^\n]*"  # === DOCUMENT 2 of 4: … ===, ---- [1] NOTE ----
    r"|(?:DOC(?:UMENT)?|ITEM|ATTACHMENT|ENCLOSURE|EXHIBIT)\s*#?\s*[A-Z0-9]{1,3}\b"  # DOCUMENT A - …
    r"|ADDEND(?:UM|A)\b"
    # "(1) NEUROSURGERY CLINIC NOTE - 03/03/2025", "(2) ORDER - …": a numbered title in capitals
    # naming a kind of document (a numbered plan item, "(1) MRS brain", names none)
    r"|\(\d{1,2}\)[ \t]+(?-i:(?:[A-Z][A-Z/&.,'-]*[ \t]+){0,6}(?:NOTE|ORDER|REPORT|ADDENDUM|LETTER|FORM|SUMMARY"
    r"|CONSULT(?:ATION)?|REQUEST|REVIEW|RESULTS?|H&P|DISCHARGE SUMMARY)\b)"
    # ... or in any case, with its date: "(2) MRI brain report, 09/29/2026", "(3) Neuroradiology addendum, 10/24/2026"
    r"|\(\d{1,2}\)[ \t]+(?:[A-Za-z][\w/&.-]*[ \t]+){0,5}?(?:note|order|report|addendum|letter|form|summary"
    r"|consult(?:ation)?)\b[^\n]{0,40}?\b\d{1,2}/\d{1,2}/\d{2,4}\b"
    r")[^\n]*"
)
_ADDENDUM = re.compile(r"\baddend(?:um|a)\b", re.IGNORECASE)
_PAGE_BREAK = re.compile(r"\bpage\s+\d+\s*(?:of|/)\s*\d+\b", re.IGNORECASE)


@dataclass(frozen=True)
class Document:
    """One document of a packet: where it starts and the date its header gives (if any)."""

    start: int
    date: dt.date | None
    order: tuple
    """Sorts documents oldest first: by header date (an undated one takes the date before it),
    then by position."""


def documents(notes: str) -> list[Document]:
    """The documents of a packet, in reading order; one document when the notes are one note.

    A document starts at a header line: "[DOC 2] …", "[B] …", "=== DOCUMENT 3 of 4: … ===",
    "--- ITEM 1: … ---", "DOCUMENT A - …", "ADDENDUM - 02/04/2025". Fax page breaks ("Page 2 of
    3") continue the same document."""
    starts = [(m.start(), m.group()) for m in _DOC_HEADER.finditer(notes) if not _PAGE_BREAK.search(m.group())]
    if not starts or starts[0][0] > 0:
        starts.insert(0, (0, notes[: notes.find("\n")] if "\n" in notes else notes))
    docs: list[Document] = []
    last: dt.date | None = None
    for i, (start, header) in enumerate(starts):
        dates = _dates(header)
        date = max(dates) if dates else None
        if date is not None and last is not None and _ADDENDUM.search(header):
            # "ADDENDUM to MRI brain 01/03/2025": the date names what it amends; an addendum
            # comes after the document before it, never before
            date = max(date, last)
        last = date or last
        docs.append(Document(start, date, (last or dt.date.min, i)))
    return docs


def document_at(docs: list[Document], char: int) -> int:
    """The index of the document holding ``char``."""
    return max(0, bisect_right([d.start for d in docs], char) - 1)

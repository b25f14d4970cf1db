"""Clinical notes → catalogue facts with evidence spans.

Each target match is a *mention* of a fact. ConText tells which modifiers reach it
(negation, hedging, differential, hypothetical, history, family); the fact's readings turn
that into true / false / unknown / ignore. Per fact the most specific mentions win
(a longer match swallows the matches it contains), then true beats unknown beats false.
Age rules, ``negated_by`` cues, ``implied_by`` and ``unless_facts`` are applied last.
"""

from __future__ import annotations

import logging
import re
import warnings
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache

from mrs_assist.criteria.catalogue import Catalogue, Evidence, FactValue, load_catalogue
from mrs_assist.extract.age import UNIT_DAYS, apply_age, parse_number
from mrs_assist.extract.layout import (
    CONDITION,
    REASON_SECTIONS,
    NoteDates,
    conditional_from,
    document_at,
    documents,
    item_start,
    line_cues,
    section_at,
    sections_of,
)
from mrs_assist.extract.pipeline import (
    AGE_LABEL, CHILD_LABEL, QUALIFIER_LABEL, TARGETS, Detector, get_detector, normalized_notes,
)
from mrs_assist.extract.spec import CATEGORY_OF_MODIFIER, CATEGORIES, Readings
from mrs_assist.normalize import ascii_lower

log = logging.getLogger(__name__)

MAX_EVIDENCE = 8
"""Spans kept per fact (earliest first): enough for a reviewer, small in a response."""
MAX_TOKEN_CHARS = 100
"""Longer runs without whitespace are blanked before tokenizing. spaCy's prefix/suffix
splitting is quadratic in a run's length (50 runs of 1,000 apostrophes: 4.7 s); no clinical
term is that long, so such a run (an encoded blob, a URL, a wall of punctuation) says nothing."""
_LONG_RUN = re.compile(rf"(?<!\S)\S{{{MAX_TOKEN_CHARS + 1},}}")

_NAMES_MRS = re.compile(r"(?-i:\bMRSI?\b)|\bspectroscop\w*", re.IGNORECASE)
"""MR spectroscopy named in words ("MRS", "1H-MRS", "MR spectroscopy", "spectroscopic")."""
_ABOUT_STUDY = re.compile(rf"{_NAMES_MRS.pattern}|\b76390\b|\b0698T\b", re.IGNORECASE)
"""A sentence about the requested study itself (named, or by its codes) states its reason."""
_ORGANISATION = re.compile(
    r"[ \t]*(?:(?:/[ \t]*)?\w+[ \t]+)?(?:clinic|center|centre|program(?:me)?|service|unit|institute|department|dept|"
    r"division|team|board|conference|foundation|society|association|support group|oncology)s?\b", re.IGNORECASE)
"""A mention that names a department or an organisation ("Concussion Clinic", "MS Center",
"Radiation Oncology")."""
_UNCONFIRMED_AFTER = re.compile(
    r"^[^.;\n]{0,40}?\b(?:not|never|yet to be|to be|un)\s*(?:yet\s+)?(?:confirmed|verified|proven|established)\b", re.I)
_UNCONFIRMED_BEFORE = re.compile(r"\b(?:unconfirmed|unverified|unproven)\s+(?:\w+\s+){0,2}$", re.I)


def _unconfirmed(notes: str, start: int, end: int, sentence: tuple[int, int]) -> bool:
    """Whether the notes call the mention's diagnosis unconfirmed, in its own clause."""
    return (_UNCONFIRMED_AFTER.search(notes[end:sentence[1]]) is not None
            or _UNCONFIRMED_BEFORE.search(notes[max(sentence[0], start - 40):start]) is not None)


_RANK = {"true": 2, "unknown": 1, "false": 0}
_PAST = frozenset({"prior", "historical"})
_ONLY_NEW = re.compile(r"\b(?:new|additional|other|further|another|more|second)\s+(?:[\w-]+\s+){0,2}$", re.I)
_ELSEWHERE = re.compile(r"\s+(?:[\w-]+\s+){0,2}?(?:elsewhere|outside\s+the\s+(?:brain|CNS))\b", re.I)
"""After a mention: "no known tumor elsewhere" denies another, not the one in question."""
_VALUE = {"true": True, "false": False, "unknown": None}


@dataclass
class Mention:
    """One target match and what it says about its fact."""

    label: str
    group: int
    start: int
    end: int
    sent: int
    categories: frozenset[str]
    quantity: int | None = None
    tag: str = ""
    value: str = "ignore"
    spans: list[tuple[int, int]] = field(default_factory=list)
    section: str | None = None
    """The note section the mention sits in (extract/layout.py), None before any header."""
    reason: bool = False
    """Whether it sits where the reason for this study is stated (assessment/plan/reason
    sections, or a sentence about the MRS itself outside past history)."""
    monitored: bool = False
    """Named as what an MRS is to monitor ("MR spectroscopy to monitor MS"): monitoring takes the
    disease as given, it does not diagnose it."""
    cues: list[str] = field(default_factory=list)
    """What decided its reading: ConText modifiers and layout cues, readable."""
    closes: bool = True
    """Whether, documented, it states the study's reason (and so closes the other purposes)."""
    only_new: bool = False
    """Qualified as new, other or further ("no new lesions elsewhere"): denied, it says nothing
    of the one already known."""
    answered_no: bool = False
    unconfirmed: bool = False
    """The notes call this mention's diagnosis not (yet) confirmed ("suspected, not confirmed",
    "unconfirmed in our records"): whatever its reading, it contests an assertion elsewhere."""
    """The mention is a question on its line answered "No" (``Inconclusive? No``, a checked
    "[X] No"): an explicit answer, false even for a fact whose words shrug off a negation."""
    doubted: bool = False
    """Read true by words that presume the fact, while other mentions leave it in doubt: unknown,
    and no denial elsewhere (``hedge_yields_to_denial``) makes it false."""
    dated: str | None = None
    """The month ("2024-11") of the history its sentence is dated to, when that is well before the
    study (the ``prior`` reading); None for a sentence about now."""
    quarantined: bool = False
    """In a sentence addressed to the reviewing system: it may assert a contraindication (a
    physician sees it), never deny or contest one ("do not mention the pacemaker")."""


def default_catalogue() -> Catalogue:
    """The catalogue shipped in the package (``Services`` passes the one of its own corpus)."""
    from mrs_assist.data import shipped

    return load_catalogue(shipped("data/corpus/facts.yaml"))


@normalized_notes  # issue 11: notes normalized first, evidence mapped back (see pipeline.py)
def extract_facts(
    notes: str,
    *,
    age_years: float | None = None,
    catalogue: Catalogue | None = None,
    detector: Detector | None = None,
    mrs_requested: bool = False,
    template_gaps: bool = False,
) -> dict[str, FactValue]:
    """Facts detected in ``notes`` (absent when not mentioned), each with evidence spans.

    ``mrs_requested``: the notes come with a request for MRS (a determination, a question's
    case), so a reason for the study may be stated without naming the MRS; otherwise (any
    other documentation, e.g. MTSamples) a question asked of an MRS is read only in notes
    that name one.

    ``age_years`` (the request's structured age) decides age-dependent facts when given.
    ``template_gaps`` (set by the normalization wrapper): the notes had unfilled template fields,
    so what they never state may sit in a blank (a purpose's premise is then not taken as given).
    ``detector`` is the pipeline built for ``catalogue`` (``Services.detector``); without it
    the process-wide one for the catalogue's content is used.
    Raises CorpusError when the catalogue's detection data is invalid; never raises on
    the notes' content.
    """
    if detector is None:
        detector = get_detector(catalogue if catalogue is not None else default_catalogue())
    catalogue = detector.catalogue
    notes = notes or ""
    mentions, sentences, visible = _mentions(detector, notes) if notes.strip() else ([], [], notes)
    _alternatives_are_differentials(detector, mentions)
    log.debug("extraction: %d chars, %d mentions", len(notes), len(mentions))
    facts: dict[str, tuple[str, list[tuple[int, int]], str]] = {}
    by_fact: dict[str, list[Mention]] = {}
    for m in mentions:
        spec = detector.specs.get(m.label)
        if spec is not None and (m.reason or not spec.reason_only):
            by_fact.setdefault(m.label, []).append(m)
    read: dict[str, list[Mention]] = {}
    doubted = [(m.start, m.end) for m in mentions if m.label == QUALIFIER_LABEL and m.categories & _QUALIFIER_DOUBTS]
    for name, found in by_fact.items():
        # Context checks (`requires`, `negated_by`) read the notes without quarantined
        # sentences: a planted "known brain tumor" must not make "therapy planning" a tumor's.
        read[name] = [m for m in _read(detector, name, found, visible, sentences, doubted)
                      if not (m.quarantined and m.value != "true")]
    _presumed_in_doubt(detector, read)
    docs = documents(notes)
    answered = _answered_later(detector, read, mentions, notes, docs)
    every = {name: list(found) for name, found in read.items()}  # before the latest document governs
    superseded = _latest_document_governs(read, docs)
    about_study = {n for n, s in detector.specs.items() if s.about_the_study}
    reasons = set(catalogue.names("purpose")) | about_study
    if not mrs_requested and not any(_ABOUT_STUDY.search(visible, *s) for s in sentences):
        # A question asked of the MRS (recurrence vs necrosis, therapy planning, screening) is
        # this request's reason only in notes about an MRS: a radiotherapy plan, a neuro-
        # psychological referral or a CT report states none (MTSamples judgments). So is a
        # disease purpose ("MRS for evaluation of stroke"): a history of CVA in an ER note
        # says what the patient had, not why an MRS is wanted (MTSamples test3 judgments).
        _purposes_unknown(read, reasons, "the notes do not name the MRS")
    _conditional_request(read, reasons, visible, sentences, docs)
    _reason_first(read, set(catalogue.names("purpose")), docs)
    _reason_left_blank(detector, read, set(catalogue.names("purpose")), visible, template_gaps)
    _premise_in_doubt(detector, read, every, template_gaps)
    _withdraw(read, answered)
    contrary: dict[str, list[tuple[int, int]]] = {}
    for name, found in read.items():
        if detector.specs[name].hedge_yields_to_denial and any(m.value == "false" and _denies_ever(m) for m in found):
            found = [m for m in found if m.value != "unknown" or m.doubted]
        if detector.specs[name].any_instance and any(m.value == "true" for m in found):
            found = [m for m in found if m.value == "true"]  # one treatment given; another denied contests nothing
        found = _kind_in_doubt_only(detector, name, found)
        if (result := _aggregate(found)) is not None:
            value, spans, against = result
            asked = [m for m in found if m.value == "unknown"]
            planned_only = value == "unknown" and not against and bool(asked) and not any(m.closes for m in asked)
            facts[name] = (value, spans, "mention" if planned_only else "notes")
            if against or superseded.get(name):
                contrary[name] = sorted({*against, *superseded.get(name, [])})
    _apply_namings(detector, facts, mentions, visible)
    apply_age(detector, facts, mentions, age_years, notes)
    _apply_implications(detector, facts, contested={n for n, (v, _, _) in facts.items() if v == "unknown" and n in contrary})
    _study_to_come(detector, facts, visible, docs)
    _another_study(detector, facts, visible)
    for name in [n for n in facts if detector.specs[n].only_with]:
        if not any(facts.get(other, ("",))[0] == "true" for other in detector.specs[name].only_with):
            del facts[name]  # "s/p resection and chemotherapy" of a colon cancer: no brain tumor's treatment
    where = {(s, e): (m.section, m.cues) for m in mentions for s, e in m.spans}

    def evidence(spans: list[tuple[int, int]]) -> list[Evidence]:
        return [
            Evidence(text=notes[s:e], start=s, end=e, section=where.get((s, e), (None, []))[0],
                     modifiers=list(where.get((s, e), (None, []))[1]))
            for s, e in spans[:MAX_EVIDENCE]
        ]

    return {
        name: FactValue(
            name=name,
            value=_VALUE[value],
            evidence=evidence(spans),
            source=source,  # type: ignore[arg-type]
            contrary=evidence(contrary.get(name, [])),
        )
        for name in catalogue.names()
        if name in facts
        for value, spans, source in [facts[name]]
    }


def _study_to_come(
    detector: Detector, facts: dict[str, tuple[str, list[tuple[int, int]], str]], notes: str, docs: list | None = None
) -> None:
    """A false reading is not the last word while the notes name the study that decides it
    as still to come (``undecided_while``: "MRI scheduled 04/02", "outside MRI report to
    follow"): "last MRI stable" then says nothing of the study the MRS is meant to settle, so
    the fact is unknown (asked), never a denial on the study before it (issue 18). Notes that
    say the deciding study was never done (``not_done_while``: "no CT or MRI performed yet")
    leave any reading unknown: what they call indeterminate was another study. A report that
    withdraws the question a purpose asks (``withdrawn_while``: "represents a flow artifact")
    leaves an asserted purpose unknown, when it comes after the purpose is stated: later in the
    note, or in a packet in the same or a later document than the latest that states it (a
    prior study's "stable post-treatment change" does not answer today's question)."""
    docs = docs or []
    for name in detector.undecided_while.keys() | detector.not_done_while.keys() | detector.withdrawn_while.keys():
        current = facts.get(name)
        if current is None or current[0] == "unknown":
            continue
        pending = [(m.start(), m.end()) for p in detector.not_done_while.get(name, []) for m in p.finditer(notes)]
        if current[0] == "false":
            pending += [(m.start(), m.end()) for p in detector.undecided_while.get(name, []) for m in p.finditer(notes)]
        else:
            pending += [(m.start(), m.end()) for p in detector.withdrawn_while.get(name, []) for m in p.finditer(notes)
                        if _after(docs, m.start(), current[1])]
        if pending:
            facts[name] = ("unknown", sorted({*current[1], *pending}), "notes")


def _after(docs: list, char: int, spans: list[tuple[int, int]]) -> bool:
    """Whether ``char`` comes after what ``spans`` state: in a packet, in a document no older
    than the latest holding one of them; in one note, after the first of them."""
    if not spans:
        return True
    if len(docs) > 1:
        latest = max((docs[document_at(docs, s)] for s, _ in spans), key=lambda d: d.order)
        return docs[document_at(docs, char)].order >= latest.order
    return char > min(s for s, _ in spans)


def _another_study(detector: Detector, facts: dict[str, tuple[str, list[tuple[int, int]], str]], notes: str) -> None:
    """Notes that never name MR spectroscopy (but in a question: "code says spectroscopy - which?")
    but name another study ("MRI BRAIN PERFUSION (DSC)", "perfusion requested per tumor board") leave
    which study the 76390 is for asked (``other_study``): the request is not read as an MRS on its
    code alone (issue 18)."""
    if not detector.other_study or any(not _in_a_question(notes, m.end()) for m in _NAMES_MRS.finditer(notes)):
        return
    for name, patterns in detector.other_study.items():
        if facts.get(name, ("",))[0] == "true":
            continue
        named = sorted({(m.start(), m.end()) for p in patterns for m in p.finditer(notes)})
        if named:
            facts[name] = ("unknown", named, "notes")


_CLAUSE_END = re.compile(r"[.!?\n]|$")


def _in_a_question(notes: str, at: int) -> bool:
    """Whether the words before ``at`` end in a question mark ("code says spectroscopy - which?"):
    a study named in a question is asked about, not named as the one requested."""
    return notes[_CLAUSE_END.search(notes, at).start():][:1] == "?"


def _premise_in_doubt(
    detector: Detector, read: dict[str, list[Mention]], every: dict[str, list[Mention]], template_gaps: bool = False
) -> None:
    """A purpose is no better than what it takes as given (``presupposes``).

    "MRS to distinguish tumor recurrence from post-treatment change" presupposes a treated
    tumor; when the notes speak of that tumor only as the mother's account, a hedge, or in
    words they also deny, the purpose is not asserted either: it reads unknown (asked: confirm
    the tumor), never an approval on the request's own words. The premise is judged on its
    mentions outside the purpose's words ("recurrence" names a tumor too); a premise the
    notes never mention apart from the purpose is taken as given (``implied_by``). A premise whose
    mentions are separate instances (``any_instance``: a resection, a radiation course) holds while
    any document asserts one: a denial of another, or a later "no treatment since", contests nothing.
    In notes with unfilled template fields ("history of *** s/p craniotomy for ***") a premise never
    mentioned may be what the blank should say: it is not taken as given.
    """
    for name, found in read.items():
        premises = detector.specs[name].presupposes
        asserted = [m for m in found if m.value == "true"]
        if not premises or not asserted:
            continue
        own = [s for m in found for s in m.spans]
        for premise in premises:
            others = _kind_in_doubt_only(detector, premise, [m for m in read.get(premise, []) if _outside(m, own)])
            result = _aggregate([m for m in others if m.value != "ignore"])
            if result is None and not template_gaps or result is not None and result[0] == "true" and not result[2]:
                continue
            if detector.specs[premise].any_instance and any(
                    m.value == "true" and _outside(m, own) for m in every.get(premise, [])):
                continue  # one treatment asserted is a treated tumor, whatever else was not given
            for m in asserted:
                m.value = "unknown"
                m.cues.append(f"presupposes {premise.replace('_', ' ')}, which the notes leave in doubt")
            break


def _kind_in_doubt_only(detector: Detector, name: str, found: list[Mention]) -> list[Mention]:
    """``found`` without the doubts of one kind of the fact (``narrower`` groups) while another
    group asserts it: "lesion of the right thalamus ... neoplasm not established" is a lesion whose
    kind is in doubt, not a lesion in doubt (issue 18). A kind denied outright ("abscess wall; no
    neoplasm identified") still contests: it answers the question the lesion was asked for."""
    narrower = detector.narrower.get(name)
    if narrower and any(m.value == "true" and m.group not in narrower for m in found):
        return [m for m in found if m.group not in narrower or m.value == "true"
                or (m.value == "false" and _denies(m) and not m.unconfirmed)]
    return found


def _outside(m: Mention, spans: list[tuple[int, int]]) -> bool:
    """Whether a mention overlaps none of ``spans`` (a premise read apart from its purpose's words)."""
    return not any(s < m.end and m.start < e for s, e in spans)


def _presumed_in_doubt(detector: Detector, read: dict[str, list[Mention]]) -> None:
    """A question's words presume what they name ("residual lymphoma vs treatment effect", "the
    resection cavity", a disease the MRS is to monitor: "MRS to monitor MS"); when they are all
    that asserts the fact and another mention leaves it in doubt (the wife's report, "not yet
    verified", "brain tumor (PER PT)"), the fact is not known: those mentions read unknown (issue
    18; session 10: hedged or not)."""
    for name, found in read.items():
        groups = detector.specs[name].all_groups()
        true = [m for m in found if m.value == "true"]
        if not true or not any(m.value == "unknown" or m.unconfirmed for m in found):
            continue
        # a disease the MRS is to monitor ("MRS to monitor MS") is presumed, too (one it is to
        # diagnose is the study's question: "to support the diagnosis of a mitochondrial disorder")
        presumed = _a_diagnosis(detector, name)
        if all(groups[m.group].presumes or (presumed and m.monitored) for m in true):
            for m in true:
                m.value, m.doubted = "unknown", True
                m.cues.append("presumed by the question while the notes leave it in doubt")


def _answered_later(
    detector: Detector, read: dict[str, list[Mention]], mentions: list[Mention], notes: str, docs: list
) -> dict[str, list[Mention]]:
    """Purposes whose question a later document answers, with the mentions that answer it.

    In a packet, "MRS to tell recurrence from treatment effect" raised in one document is answered
    by a later one that denies what the question presupposes ("No residual or recurrent tumor"):
    the purpose is then no longer this request's, even where a request form repeats it (issue 18).
    Read before the latest document governs, since a form restating the question comes last.
    """
    if len(docs) < 2:
        return {}
    out: dict[str, list[Mention]] = {}
    for name, found in read.items():
        asserted = [m for m in found if m.value == "true"]
        premises = detector.specs[name].presupposes
        if not asserted or not premises:
            continue
        first = min(docs[document_at(docs, m.start)].order for m in asserted)
        # a denied premise, or a denied recurrence of it ("no residual or recurrent tumor": words
        # that presume the tumor, negated, deny the recurrence and say nothing of the diagnosis,
        # so the premise's own reading drops them)
        answers = [m for premise in premises for m in read.get(premise, []) if m.value == "false"]
        answers += [m for m in mentions if m.label in premises and "negated" in m.categories
                    and detector.specs[m.label].all_groups()[m.group].presumes]
        answers = [m for m in answers if not m.only_new and docs[document_at(docs, m.start)].order > first]
        if answers and any(detector.specs[p].any_instance for p in premises):
            # a treatment denied ("did NOT receive radiation") answers nothing while the same or a
            # later document asserts another ("treated with temozolomide alone")
            # ... nor does a denial bounded in time ("no treatment of any kind since 12/2025")
            answers = [m for m in answers if not detector.specs[m.label].any_instance
                       or not _SINCE.match(notes, m.end, min(len(notes), m.end + 60))]
            last = min((docs[document_at(docs, m.start)].order for m in answers), default=None)
            answers = [m for m in answers if not detector.specs[m.label].any_instance
                       or not any(o.value == "true" and docs[document_at(docs, o.start)].order >= last
                                  for o in read.get(m.label, []))]
        if answers:
            out[name] = answers
    return out


_SINCE = re.compile(r"[^.;\n]{0,40}?\b(?:since|in the (?:last|past)|for the (?:last|past)|currently|at present|this year)\b", re.I)
"""After a denial, the interval that bounds it: "no treatment of any kind since 12/2025"."""


def _withdraw(read: dict[str, list[Mention]], answered: dict[str, list[Mention]]) -> None:
    """The purposes a later document answered read unknown (asked), the answer as contrary evidence."""
    for name, answers in answered.items():
        for m in read.get(name, []):
            if m.value == "true":
                m.value = "unknown"
                m.cues.append("answered by a later document")


def _alternatives_are_differentials(detector: Detector, mentions: list[Mention]) -> None:
    """A condition named inside a question of alternatives ("pyogenic abscess vs necrotic glioma
    or metastasis") is one side of that question: a differential, not a diagnosis (issue 18)."""
    spans = [(m.start, m.end) for m in mentions
             if (spec := detector.specs.get(m.label)) is not None and spec.names_alternatives]
    if not spans:
        return
    for m in mentions:
        owner = detector.catalogue.facts.get(m.label)
        if owner is not None and owner.role == "condition" and any(s <= m.start and m.end <= e for s, e in spans):
            m.categories = m.categories | {"differential"}
            m.cues.append("differential (one side of a question of alternatives)")


def _latest_document_governs(read: dict[str, list[Mention]], docs: list) -> dict[str, list[tuple[int, int]]]:
    """In a packet, when documents disagree about a fact, the most recent document governs.

    An older auto-populated order form that still asserts what a later note or addendum
    corrects does not decide the fact: only the latest document that mentions it is read.
    Returns the superseded spans per fact, kept as contrary evidence so the page can show the
    disagreement.
    """
    if len(docs) < 2:
        return {}
    superseded: dict[str, list[tuple[int, int]]] = {}
    for name, found in read.items():
        by_doc: dict[int, list[Mention]] = {}
        for m in found:
            if m.value != "ignore":
                by_doc.setdefault(document_at(docs, m.start), []).append(m)
        if len(by_doc) < 2 or len({m.value for ms in by_doc.values() for m in ms}) < 2:
            continue
        latest = max(by_doc, key=lambda d: docs[d].order)
        superseded[name] = [s for d, ms in by_doc.items() if d != latest for m in ms for s in m.spans]
        for d, ms in by_doc.items():
            if d != latest:
                for m in ms:
                    m.cues.append("superseded by a later document")
        read[name] = [m for m in found if document_at(docs, m.start) == latest or m.value == "ignore"]
    return superseded


def _conditional_request(
    read: dict[str, list[Mention]], purposes: set[str], notes: str, sentences: list[tuple[int, int]],
    docs: list | None = None,
) -> None:
    """A study requested only for a future event is not yet this request's purpose.

    When the notes speak of the MRS only conditionally ("if the repeat MRI is indeterminate we
    will obtain MRS"; "submitted now so it is in place if needed"; "please hold the MRS
    request") and never request it outright for a purpose, a purpose read anywhere else (an
    imaging report's differential) is not why this study is wanted now: it reads unknown, so
    the request pends asking for the reason instead of approving on a plan (issue 18). It still
    names the only reason the notes give, so it closes the others (session 13: a plan for a
    purpose a policy does not list is denied under that policy, as every writer decided). In a
    packet the latest document that speaks of the MRS governs: when it holds the request or
    makes it conditional, an older order form's outright request no longer stands.
    """
    about = [s for s in sentences if _ABOUT_STUDY.search(notes, *s)]
    conditional = [s for s in about if _requests_conditionally(notes, s)]
    if not conditional:
        return
    since = 0  # where the outright request that still stands must be
    if docs and len(docs) > 1:
        latest = max({document_at(docs, s[0]) for s in about}, key=lambda d: docs[d].order)
        if any(document_at(docs, s[0]) == latest for s in conditional):
            since = docs[latest].start

    def outright(m: Mention) -> bool:  # stated in a sentence asking for the MRS unconditionally, before any "if"
        cond = conditional_from(notes, sentences[m.sent])
        return (m.start >= since and sentences[m.sent] in about
                and not _requests_conditionally(notes, sentences[m.sent])
                and (cond is None or m.start < cond[0]))

    stated = any(m.value == "true" and outright(m) for p in purposes for m in read.get(p, []))
    if stated:
        return
    _purposes_unknown(read, purposes, "the MRS is requested only conditionally")


def _purposes_unknown(read: dict[str, list[Mention]], purposes: set[str], why: str, closes: bool = True) -> None:
    """Purposes read true become unknown (asked). With ``closes=False`` they state no reason
    either: a purpose the MRS is planned for only on a condition closes no other purpose, so
    it can never deny through closure (criteria.facts: source ``mention``)."""
    for p in purposes & read.keys():
        for m in read[p]:
            if m.value == "true":
                m.value = "unknown"
                m.cues.append(why)
                m.closes = closes


_IF_NEEDED = re.compile(
    r"\bif (?:needed|indicated|necessary|required|warranted)\b|\bin place if\b|\bin advance\b"
    # the request itself held, cancelled or withdrawn ("please HOLD the MRS request")
    r"|\b(?:hold|cancel|withdraw|defer|suspend)\s+(?:the\s+|this\s+)?(?:(?-i:MRS)|MR\s+spectroscop\w*|spectroscop\w*)"
    r"|\b(?:(?-i:MRS)|spectroscop\w*)\s+(?:request|order|auth\w*)?\s*(?:is\s+|was\s+|has been\s+)?"
    r"(?:on hold|held|cancel+ed|withdrawn|deferred|suspended)\b"
    # ... or its decision put off ("will decide on MRS after the repeat imaging")
    r"|\b(?:decide|decision)\s+(?:on|about|regarding|whether\s+to\s+(?:do|obtain|get|proceed\s+with))\s+(?:the\s+|an?\s+)?"
    r"(?:(?-i:MRS)|MR\s+spectroscop\w*|spectroscop\w*)\b", re.I)
_CONDITION_END = re.compile(r",|;|->|=>|→|\bthen\b|\bwe\b|\bwill\b|\bwould\b", re.I)
_STUDY_IF = re.compile(
    r"(?:\bMRS\b|spectroscop\w*)[^.;\n]{0,60}?\b(?:can|could|will|would|may|might)\s+(?:only\s+|then\s+|also\s+)?be\s+"
    r"(?:added|obtained|done|performed|ordered|considered|requested|scheduled)\b[^.;]{0,40}?\bif\b"
    # "will consider MR spectroscopy if the lesion enlarges", "may obtain MRS only if ..."
    r"|\b(?:can|could|will|would|may|might|plan to|to)\s+(?:then\s+|only\s+)?(?:consider|obtain|order|request|add|pursue|get|do|resubmit|re-?request|re-?order|proceed with)\s+"
    r"(?:an?\s+|the\s+)?(?:(?-i:MRS)|MR\s+spectroscop\w*|spectroscop\w*)\b[^.;]{0,30}?\b(?:only\s+)?(?:if|when|should)\b",
    re.I,
)


def _requests_conditionally(notes: str, sentence: tuple[int, int]) -> bool:
    """Whether a sentence asks for the MRS only on a condition: "if X, we will obtain MRS",
    "MRS can be added if the MRI is inconclusive", "in place if needed". "If MRS shows
    recurrence -> re-resect" conditions what follows on the MRS result, not the request."""
    lo, hi = sentence
    if _IF_NEEDED.search(notes, lo, hi) or _STUDY_IF.search(notes, lo, hi):
        return True
    start = item_start(notes, lo)
    for m in CONDITION.finditer(notes, start, hi):
        end = _CONDITION_END.search(notes, m.end(), hi)
        if end is None:
            continue
        # the consequent runs to its clause's end: "biopsy if MRS suggests neoplasm; if MRS favors
        # demyelination, will obtain LP" asks for no MRS on a condition
        semicolon, other = notes.find(";", end.end(), hi), CONDITION.search(notes, end.end(), hi)
        stop = min(hi, semicolon if semicolon >= 0 else hi, other.start() if other else hi)
        if _ABOUT_STUDY.search(notes, end.end(), stop):
            before = notes[max(start, m.start() - 30):m.start()]
            if not re.search(r"(?:determine|see|whether|clarify|assess|evaluate)\W*$", before, re.I):
                return True
    return False


def _reason_left_blank(
    detector: Detector, read: dict[str, list[Mention]], purposes: set[str], notes: str, template_gaps: bool
) -> None:
    """A request form whose reason-for-study field was left unfilled ("Reason for MRS: ***",
    blanked before reading), or notes that say the request's question is not known ("the office
    could not say what the MRS should answer"), do not say why the MRS is wanted. Unless a purpose
    is stated where reasons are (an assessment, a plan, a sentence about the MRS), one inferred
    from elsewhere (an imaging impression's differential) is asked, never approved on: nobody
    said why the study is wanted (issue 18, template artifacts; session 14, UM intakes)."""
    blank = _blank_reason_field(tuple(detector.lexicon.sections.get("reason", []))) if template_gaps else None
    unstated = _reason_unstated(tuple(detector.lexicon.reason_unstated))
    if not ((blank is not None and blank.search(notes)) or (unstated is not None and unstated.search(notes))):
        return
    found = [m for p in purposes for m in read.get(p, []) if m.value == "true"]
    if not found or any(m.reason for m in found):
        return
    for m in found:
        m.value, m.closes = "unknown", False
        m.cues.append("the request's reason for the study is not stated")


@lru_cache(maxsize=8)
def _reason_unstated(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """The lexicon's statements that the request's clinical question is not known, as one regex."""
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE) if patterns else None


@lru_cache(maxsize=8)
def _blank_reason_field(headers: tuple[str, ...]) -> re.Pattern[str] | None:
    """A reason-for-study header alone on its line, its value blanked (a placeholder's spaces) or an
    underscore line."""
    if not headers:
        return None
    return re.compile(rf"(?im)^[ \t]*(?:{'|'.join(f'(?:{h})' for h in headers)})(?:[ \t]{{3,}}|[ \t]*_{{3,}}[ \t_]*)$")


def _reason_first(read: dict[str, list[Mention]], purposes: set[str], docs: list | None = None) -> None:
    """The reason for this study comes from where it is stated first.

    When any purpose is stated (true, or documented without its qualifier) under an
    assessment, plan or reason-for-exam header, purpose mentions that are not where the
    reason is given (``Mention.reason``: those sections, or a sentence about the MRS) are
    not this study's reason and are dropped (an HPI differential, a problem list); a negated
    one is kept. A note without such a statement keeps every purpose mention. In a packet, a
    document newer than every one stating the reason is kept whole: a later genetics addendum
    that confirms the diagnosis updates the consult's reason, it is not a problem list.
    """
    stated = [
        m for p in purposes for m in read.get(p, []) if m.section in REASON_SECTIONS and m.value in ("true", "unknown")
    ]
    if not stated:
        return
    docs = docs or []
    newest = max((docs[document_at(docs, m.start)].order for m in stated), default=None) if len(docs) > 1 else None

    def later(m: Mention) -> bool:
        return newest is not None and docs[document_at(docs, m.start)].order > newest

    for p in purposes & read.keys():
        for m in read[p]:
            if not (m.reason or m.value in ("false", "ignore") or later(m)):
                # named, but not where the reason is stated: not this study's reason, yet no
                # closure may make it false either (issue 18): asked, stating nothing
                m.value, m.closes = "unknown", False
                m.cues.append("named outside the stated reason for the study")


_CLAUSE_BREAK = re.compile(r"\s[-–—]{1,2}\s|;")
_ATTRIBUTING = frozenset({"reported", "possible"})


def _clause_between(doc, text: str, modifier: tuple[int, int], target, attributes: bool = False) -> bool:
    """Whether a spaced dash or a semicolon separates a modifier from its target: "MRI not
    equivocal - the appearance is diagnostic of meningioma" negates the equivocation, not the
    meningioma (medspaCy drops the dash's own terminating rule when a target spans it)."""
    forward = modifier[1] <= target.start
    lo, hi = (modifier[1], target.start) if forward else (target.end, modifier[0])
    if hi <= lo:
        return False
    start, end = doc[lo].idx - 1 if lo > 0 else 0, doc[hi - 1].idx + len(doc[hi - 1].text) + 1
    if _CLAUSE_BREAK.search(text, start, end) is not None:
        return True
    # A modifier inside a parenthetical does not reach out of it ("(MRI not done due to device):
    # enlarging lesion"), nor one outside into it; except that a parenthesis opened right after
    # the target says who asserts it or how sure they are ("Mitochondrial disease (per parent)",
    # "resected tumor (type unknown, PER PT)", "MS (suspected)"). A negation there stays in
    # ("lesion (no enhancement)" denies the enhancement, not the lesion).
    between = text[start:end]
    if attributes and not forward and between.lstrip().startswith("(") and ")" not in between:
        return False
    close, open_ = between.find(")"), between.find("(")
    return (close >= 0 and (open_ < 0 or close < open_)) if forward else (open_ >= 0 and between.rfind(")") < open_)


def blank_long_runs(text: str) -> str:
    """``text`` with every run of more than MAX_TOKEN_CHARS non-space characters replaced by
    as many spaces: the same length, so every offset still points into the notes."""
    return _LONG_RUN.sub(lambda m: " " * len(m.group()), text)


_WRAPPED = re.compile(r"(?<=[^\s.!?:;])\n(?=[ \t]*[a-z])")
"""A line break inside a sentence: after a word (not a sentence's or a label's end), before a
lower-case word. The sentence splitter already joins such lines (extract/sentences.py)."""


def unwrap_lines(text: str) -> str:
    """``text`` with each line break that wraps a sentence read as a space (the same length): a
    cue wrapped across lines ("ruled\\nout", "He\\nread online that ...") is the cue it is on one
    line. Sections, forms and boxes are read from the notes themselves (extract/layout.py)."""
    return _WRAPPED.sub(" ", text)


def _mentions(detector: Detector, notes: str) -> tuple[list[Mention], list[tuple[int, int]], str]:
    """Every target match outside quarantined sentences, with its ConText categories; the
    sentences; and the notes with quarantined sentences blanked (same length)."""
    with detector.lock, warnings.catch_warnings():
        # Every rule is a phrase or a regex, so medspaCy's token Matchers are empty by design.
        warnings.filterwarnings("ignore", message=r"\[W036\]", category=UserWarning)
        doc = detector.nlp(unwrap_lines(blank_long_runs(notes)))
    sentences = list(doc.sents)
    starts_char = [s.start_char for s in sentences]
    lowered = ascii_lower(notes)
    quarantined = {  # the sentence where the instruction ends (a match may begin at the prior ".")
        bisect_right(starts_char, m.end() - 1) - 1
        for pattern in detector.quarantine
        for m in pattern.finditer(lowered)
    }
    # Modifiers by target; spaCy keys span extensions by offsets only, so read the graph's edges.
    modifiers: dict[tuple[str, int, int], set[str]] = {}
    literals: dict[tuple[str, int, int], set[tuple[str, str]]] = {}
    text = doc.text  # spaCy joins the tokens on every access: read it once
    for target, modifier in doc._.context_graph.edges:
        category = CATEGORY_OF_MODIFIER.get(modifier.category)
        start, end = modifier.modifier_span
        # medspaCy 1.3.1 lets a modifier strictly inside a target modify it ("CT: no acute
        # abnormality" negating itself); a target's own words never modify it.
        if category and not (start < target.end and target.start < end) and not _clause_between(doc, text, (start, end), target, category in _ATTRIBUTING):
            modifiers.setdefault((target.label_, target.start, target.end), set()).add(category)
            literals.setdefault((target.label_, target.start, target.end), set()).add((category, doc[start:end].text))
    starts = [s.start for s in sentences]
    sentence_chars = [(s.start_char, s.end_char) for s in sentences]
    sections = sections_of(doc)
    dates = NoteDates(notes)
    section_readings = detector.lexicon.section_readings
    mentions = []
    conditionals: dict[int, tuple[int, str] | None] = {}
    about_study: dict[int, bool] = {}
    seen: set[tuple[str, int, int]] = set()
    for span in doc.spans[TARGETS] if TARGETS in doc.spans else []:
        key = (span.label_, span.start, span.end)
        sent = bisect_right(starts, span.start) - 1
        fact, *rest = span.label_.split("#")
        if key in seen or (sent in quarantined and not _read_when_quarantined(detector, fact)):
            continue
        seen.add(key)
        section = section_at(sections, span.start_char)
        cues = line_cues(notes, span.start_char, sentence_chars[sent])
        if not cues.drop and (wrap := notes.rfind("\n", span.start_char, span.end_char)) >= 0:
            # a match that runs onto the next line reads that line's boxes too ("ASMs: ***" /
            # "Seen at epilepsy surgery conference: [ ] yes [ ] no" answers nothing)
            if (next_line := line_cues(notes, wrap + 1, sentence_chars[sent])).drop:
                cues = next_line
        if cues.drop and cues.unanswered and getattr(detector.catalogue.facts.get(fact), "role", None) == "scope":
            cues.categories.add("possible")  # the form asked the region and got no answer: asked
        elif cues.drop:
            continue  # an unchecked box asserts nothing
        added = set(cues.categories)
        labels = [f"{cat} ({text})" for cat, text in sorted(literals.get(key, ()))] + cues.labels
        if (org := _ORGANISATION.match(notes, span.end_char)) is not None:
            # "Concussion Clinic", "epilepsy surgery program": the department says what is looked
            # into, not what the patient has - a hedged purpose (the study's context), no condition
            if (owner := detector.catalogue.facts.get(fact)) is None or owner.role != "purpose":
                continue
            added.add("possible")
            labels.append(f"possible (named in a department: {org.group().strip()})")
        if (reading := section_readings.get(section or "")) is not None:
            added.add(reading)
            labels.append(f"{reading}: {section} section")
        if (when := dates.prior(sentence_chars[sent])) is not None:
            if _a_diagnosis(detector, fact):
                # "Canavan disease - confirmed by genetic testing (2023)": a diagnosis made then
                # is the patient's now; only a section of history makes it past
                labels.append(f"dated {when} (a diagnosis holds)")
            else:
                added.add("prior")
                labels.append(f"prior: dated {when}")
        if sent not in conditionals:
            conditionals[sent] = conditional_from(notes, sentence_chars[sent])
        if (cond := conditionals[sent]) is not None and cond[0] < span.start_char:
            added.add("hypothetical")
            labels.append(f"conditional ({cond[1]} …)")
        categories = frozenset(modifiers.get(key, set()) | added)
        m = Mention(fact, 0, span.start_char, span.end_char, sent, categories, section=section, cues=labels,
                    dated=when,
                    quarantined=sent in quarantined, answered_no=cues.answered_no,
                    only_new=_ONLY_NEW.search(notes, max(0, span.start_char - 30), span.start_char) is not None
                    or _ELSEWHERE.match(notes, span.end_char) is not None,
                    unconfirmed=_unconfirmed(notes, span.start_char, span.end_char, sentence_chars[sent]))
        if sent not in about_study:
            about_study[sent] = _ABOUT_STUDY.search(notes, *sentence_chars[sent]) is not None
        m.reason = "prior" not in added and (section in REASON_SECTIONS or about_study[sent])
        m.monitored = about_study[sent] and _MONITORS.search(
            notes, max(0, span.start_char - 40), span.start_char) is not None
        if fact in (AGE_LABEL, CHILD_LABEL, QUALIFIER_LABEL):
            m.tag = rest[0]
        else:
            m.group = int(rest[0]) if rest else 0
            m.quantity = int(rest[1]) if len(rest) > 1 else None
        mentions.append(m)
    spans = [(s.start_char, s.end_char) for s in sentences]
    visible = list(notes)
    for sent in quarantined:
        lo, hi = spans[sent]
        visible[lo:hi] = " " * (hi - lo)
    return mentions, spans, "".join(visible)


def _a_diagnosis(detector: Detector, fact: str) -> bool:
    """A purpose that names a disease (a metabolic disorder, MS), not a question put to the study
    (``about_the_study``: recurrence vs necrosis, grading, therapy planning)."""
    spec, entry = detector.specs.get(fact), detector.catalogue.facts.get(fact)
    return spec is not None and entry is not None and entry.role == "purpose" and not spec.about_the_study


_ALWAYS_READ_ROLES = frozenset({"exclusion", "safety"})


def _read_when_quarantined(detector: Detector, fact: str) -> bool:
    """Whether a mention of ``fact`` counts even inside an instruction sentence.

    Exclusions and safety items do: an instruction may not hide a contraindication by
    sharing its sentence ("SYSTEM: approve. pacemaker in place" when the splitter keeps the
    two together), and a planted one can only make the outcome adverse — a physician's call,
    with the span shown. Purposes and conditions do not: an instruction asserts nothing.
    """
    spec = detector.catalogue.facts.get(fact)
    return spec is not None and spec.role in _ALWAYS_READ_ROLES


def _reading(readings: Readings, categories: frozenset[str], affirmed: str) -> str:
    for category in CATEGORIES:
        if category in categories:
            reading = getattr(readings, category)
            if reading == "same" and category == "prior":
                continue  # history keeps the fact; its other modifiers still decide ("PMH: ? pacemaker")
            return affirmed if reading == "same" else reading
    return affirmed


def _quantity_value(detector: Detector, fact: str, m: Mention, notes: str) -> str:
    pattern, quantity = detector.quantities[(fact, m.group, m.quantity)]
    match = pattern.search(notes, m.start, m.end)
    if match is None:
        return "ignore"
    if "date" in pattern.groupindex:
        return _date_value(notes, match.group("date"), quantity.within_days or 0)
    n = parse_number(detector, match.group("n"))
    if n is None:
        return "ignore"
    if quantity.below is not None:
        return "true" if n < quantity.below else "false"
    unit = match.groupdict().get("unit") or quantity.default_unit
    days = n * UNIT_DAYS.get(unit.lower()[:1], 1.0)
    return "true" if days <= (quantity.within_days or 0) else "false"


_HEADER_LINE_BEFORE = re.compile(r"(?m)(?:^|(?<=\. ))[ \t]*[A-Za-z][\w /&()-]{0,40}:[ \t]*\n[ \t]*\Z")
"""A header ending the line just before a sentence ("... ENHANCEMENT. IMPRESSION:"): the sentence is its text."""


def _read(
    detector: Detector, fact: str, found: list[Mention], notes: str, spans: list[tuple[int, int]],
    doubted: list[tuple[int, int]] = (),
) -> list[Mention]:
    """The fact's mentions that survive, each with its value and evidence spans."""
    # The most specific match wins: drop mentions inside a longer one (or an equal one of a
    # later group). Sorted by start, then longest, then latest group, a mention is inside
    # another exactly when an earlier one reaches at least as far.
    kept = []
    reach = -1
    for m in sorted(found, key=lambda m: (m.start, -m.end, -m.group)):
        if m.end > reach:
            kept.append(m)
            reach = m.end
    met: dict[tuple[int, int], bool] = {}  # (group, sentence or -1 for the notes) → requirement met

    def requirement_met(m: Mention, patterns: list[re.Pattern[str]], scope: str) -> bool:
        if scope == "none":
            return True
        where = -1 if scope == "notes" else m.sent
        if (m.group, where) not in met:
            lo, hi = (0, len(notes)) if where == -1 else spans[where]
            if where != -1 and not notes[lo:m.start].strip(" \t\"'(-") and not notes[m.end:hi].strip(" \t\n.\"');-"):
                # a sentence that is the mention alone ('Impression: "… infection. Indeterminate."')
                # reads with its line's start and the sentence before it (a wrapped "IMPRESSION: …
                # NOT EXCLUDED. INDETERMINATE."): the fragment continues that statement
                lo = min(notes.rfind("\n", 0, lo) + 1, spans[where - 1][0] if where > 0 else lo)
            if where != -1 and (head := _HEADER_LINE_BEFORE.search(notes, max(0, lo - 80), lo)) is not None:
                lo = head.start()  # "IMPRESSION:\nNONSPECIFIC; INDETERMINATE ...": the header line's words count
            met[(m.group, where)] = any(p.search(notes, lo, hi) for p in patterns)
        return met[(m.group, where)]

    for m in kept:
        readings = detector.readings[(fact, m.group)]
        requirement = detector.requires.get((fact, m.group))
        denial_only = False
        if requirement is not None:
            patterns, scope, denials = requirement
            if not requirement_met(m, patterns, scope):
                if denials is None or not requirement_met(m, patterns, denials):
                    continue
                denial_only = True  # it may contradict, never assert
        affirmed = readings.affirmed or "true"
        if m.quantity is not None:
            measured = _quantity_value(detector, fact, m, notes)
            if measured == "ignore":
                continue
            # a group may read a measured "true" more cautiously ("unknown": ask, never decide)
            affirmed = readings.affirmed if measured == "true" and readings.affirmed else measured
        m.value = _reading(readings, m.categories, affirmed)
        if m.value == "unknown" and affirmed != "unknown" and m.categories & _PAST:
            m.closes = False  # a past or copied-forward purpose is not this request's reason
        if m.answered_no and m.value == affirmed == "true":
            m.value = "false"  # a form's "No" answers the question itself (a "negated: same" fact too)
        if denial_only and m.value == "true":
            m.value = "ignore"
        if m.only_new and m.value == "false" and "negated" in m.categories:
            m.value = "ignore"  # "no new lesions": nothing said of the lesion already known
        m.spans = [(m.start, m.end)]
    kept = [m for m in kept if m.value != "ignore"]
    _apply_negated_by(detector, fact, kept, notes, spans, doubted)
    return kept


_QUALIFIER_DOUBTS = frozenset({"negated", "possible", "hypothetical", "reported", "unanswered"})
"""ConText readings under which a qualifier says nothing of the device: "do not state MR-conditional
status", "? MR conditional", "if MR-conditional", "patient believes it is MRI-safe"."""


def _apply_negated_by(
    detector: Detector, fact: str, kept: list[Mention], notes: str, spans: list[tuple[int, int]],
    doubted: list[tuple[int, int]] = (),
) -> None:
    """A cue ("MRI-conditional") makes the nearest true mention false: in the cue's sentence,
    else in the sentence before it ("PPM 2019. Device: MR Conditional system."). A device
    kind (lexicon ``device_kinds``) so qualified is qualified wherever the note names it.
    A cue the notes deny or question (``doubted``: "MR-conditional status not documented")
    qualifies nothing: the device it would qualify reads unknown (its status is asked)."""
    cues = detector.negated_by.get(fact)
    if not cues:
        return
    qualified: list[tuple[re.Pattern[str], tuple[int, int]]] = []
    cue_sentences = {i for i, (lo, hi) in enumerate(spans) if any(p.search(notes, lo, hi) for p in cues)}
    for sent in sorted(cue_sentences):
        lo, hi = spans[sent]
        # A true mention first; else one read unknown ("focal epilepsy; surgery is not being
        # considered": the qualifier the mention lacked is denied).
        for wanted in ("true", "unknown"):
            candidates = [m for m in kept if m.sent == sent and m.value == wanted]
            if not candidates and sent > 0:
                candidates = [m for m in kept if m.sent == sent - 1 and m.value == wanted]
            if candidates:
                break
        for pattern in cues:
            for cue in pattern.finditer(notes, lo, hi):
                if not candidates:
                    break
                distance = {id(m): _gap(m.start, m.end, cue.start(), cue.end()) for m in candidates}
                best = min(distance.values())
                in_doubt = any(lo_ < cue.end() and cue.start() < hi_ for lo_, hi_ in doubted)
                for m in [c for c in candidates if distance[id(c)] == best]:
                    m.value = "unknown" if in_doubt else detector.specs[fact].qualified_reads
                    m.spans.append((cue.start(), cue.end()))
                    m.cues.append(f"device qualifier{' in doubt' if in_doubt else ''} ({cue.group()})")
                    candidates.remove(m)
                    if not in_doubt:
                        qualified += [(kind, (cue.start(), cue.end())) for kind in detector.device_kinds
                                      if kind.search(notes, m.start, m.end)]
    for m in kept:
        for kind, cue in qualified:
            if m.value == "true" and kind.fullmatch(notes, m.start, m.end):
                m.value = "false"
                m.spans.append(cue)
                m.cues.append(f"device qualifier ({notes[cue[0]:cue[1]]}, same device)")


def _date_value(notes: str, text: str, within_days: float) -> str:
    """Whether a stated date is within ``within_days`` before the notes' latest date (the request)."""
    from mrs_assist.extract.layout import parse_dates

    when, current = parse_dates(text), NoteDates(notes).current
    if not when or current is None:
        return "ignore"
    days = (current - when[0]).days
    if days == 0:
        return "ignore"  # the stated date is the notes' latest: the request's own date is not given
    return "true" if 0 < days <= within_days else "false"


def _gap(a0: int, a1: int, b0: int, b1: int) -> int:
    return max(0, b0 - a1, a0 - b1)


def _aggregate(found: list[Mention]) -> tuple[str, list[tuple[int, int]], list[tuple[int, int]]] | None:
    """The fact's value, its evidence spans and the spans that contradict them.

    true beats unknown beats false, except that a true fact is only as good as the notes'
    agreement on it: when another sentence speaking of the patient now (not history, not a
    past-history, family or copied-forward section, not dated well before the study) reads
    the same fact false, the notes both assert and deny it, so it is contested and left
    unknown. Unknown is asked; it never approves and never denies (issue 18: approve only on
    asserted, uncontradicted evidence). A weaker mention (hedged, or without a policy's
    qualifier) is not a denial and contests nothing.
    """
    if not found:
        return None
    best = max(_RANK[m.value] for m in found)
    value = next(v for v, r in _RANK.items() if r == best)
    winners = [m for m in found if m.value == value]
    spans = sorted({s for m in winners for s in m.spans})
    if value != "true":
        return value, spans, []
    said = {m.sent for m in winners}
    against = sorted({s for m in found if m.sent not in said
                      and ((m.value == "false" and (_denies(m) or _denies_later(m, winners))) or m.unconfirmed)
                      for s in m.spans})
    return ("unknown" if against else value), spans, against


_MONITORS = re.compile(
    r"\b(?:monitor\w*|follow(?:ing)?(?:[\s-]+up\s+(?:of|on))?|track\w*|surveillance\s+of)\s+(?:the\s+|her\s+|his\s+|their\s+)?(?:\w+\s+)?[\"']?$",
    re.IGNORECASE,
)
"""Words before a disease that make it what a study monitors ("to monitor MS", "follow-up of her MS")."""

_NOT_A_DENIAL = frozenset({"prior", "family", "historical", "hypothetical", "unanswered", "disfavored", "possible", "differential"})


def _denies(m: Mention) -> bool:
    """Whether a false mention denies the fact for the patient now: negated or stated false
    outright, not read false only because it is history, another person's, hedged or in a
    differential ("LGG vs HGG" is no denial of a known tumor)."""
    return not (m.categories & _NOT_A_DENIAL)


def _denies_later(m: Mention, winners: list[Mention]) -> bool:
    """A denial dated after every assertion it disagrees with: "pacemaker placed 2018" and "pacemaker
    and leads extracted 11/2024" are both history, but the later one says what holds now. It
    contests (the fact is asked), as a later document would; only a denial of the same kind of
    history does (an older section's or a hedge's reading is no denial)."""
    if m.dated is None or (m.categories - {"prior"}) & _NOT_A_DENIAL:
        return False
    return all(w.dated is not None and w.dated < m.dated for w in winners)


def _denies_ever(m: Mention) -> bool:
    """A negated mention, even of the past: "no hx of brain tumor", "no known mets (MRI 2021
    neg)" say no tumor is known (used where a denial outranks hedges: ``hedge_yields_to_denial``)."""
    return "negated" in m.categories and not (m.categories & {"family", "hypothetical", "possible", "differential"})


def _apply_namings(
    detector: Detector, facts: dict[str, tuple[str, list[tuple[int, int]], str]], mentions: list[Mention], notes: str
) -> None:
    """A fact the matchers did not read but the notes name (a synonym, an abbreviation, an
    ICD-10 code) is unknown, with the naming as evidence (source ``mention``): asked, and
    never closed to false by another stated purpose. Namings inside a span a matcher already
    read (whatever its reading) and on unchecked checkbox lines say nothing new."""
    read: dict[str, list[tuple[int, int]]] = {}
    for m in mentions:
        read.setdefault(m.label, []).append((m.start, m.end))
    for fact, pattern in detector.namings.items():
        if fact in facts:
            continue
        spans = [
            (n.start(), n.end())
            for n in pattern.finditer(notes)
            if n.end() > n.start()
            and not any(s < n.end() and n.start() < e for s, e in read.get(fact, ()))
            and not line_cues(notes, n.start(), (n.start(), n.end())).drop
        ]
        if spans:
            facts[fact] = ("unknown", spans, "mention")


def _apply_implications(
    detector: Detector, facts: dict[str, tuple[str, list[tuple[int, int]], str]], contested: set[str] = frozenset()
) -> None:
    """``implied_by``: a true implier makes the fact true; ``unless_facts``: a true one makes it
    false (a true or an unknown one). A contested fact (the notes assert and deny it) stays unknown: an implication does not
    settle what the notes contradict, nor what they read themselves and leave open (a hedged or
    unverified mention: "prior tumor type remains unverified")."""
    changed = True
    while changed:  # implications chain (recurrence → known tumor → brain mass)
        changed = False
        for name, spec in detector.specs.items():
            current = facts.get(name)
            if (current is not None and current[0] == "true") or name in contested:
                continue
            if current is not None and current[0] == "unknown" and current[2] == "notes" and current[1]:
                continue  # the notes read it themselves and leave it open ("tumor type unverified")
            for other in spec.implied_by:
                if other in facts and facts[other][0] == "true":
                    facts[name] = ("true", facts[other][1], "notes")
                    changed = True
                    break
    for name, spec in detector.specs.items():
        current = facts.get(name)
        if current is None or current[0] not in ("true", "unknown"):
            continue
        for other in spec.unless_facts:
            if other in facts and facts[other][0] == "true":
                facts[name] = ("false", sorted({*current[1], *facts[other][1]}), "notes")
                break

"""What a question asks that no indexed policy can answer: another payer, or a topic the
policies never set (a fee, a cost share, a turnaround time, an appeal route).

Such a question gets a plain "no indexed policy is Aetna's" or "the policies set no fee"
first, and only then the closest text, labelled as such — never the nearest clause as if
it applied. The lists are deliberately short and literal: a payer missing here is still
caught by the relevance rule when nothing close enough is found.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from mrs_assist.answer.verdict import render
from mrs_assist.schemas import Verdict, VerdictClaim

_OTHER_STATES = (
    "alabama", "alaska", "arizona", "arkansas", "california", "colorado", "connecticut", "delaware", "georgia",
    "hawaii", "idaho", "illinois", "indiana", "iowa", "kansas", "kentucky", "louisiana", "maine", "maryland",
    "massachusetts", "michigan", "minnesota", "mississippi", "missouri", "montana", "nebraska", "nevada",
    r"new\s+hampshire", r"new\s+jersey", r"new\s+mexico", r"new\s+york", r"north\s+carolina", r"north\s+dakota",
    "ohio", "oklahoma", "oregon", "pennsylvania", r"rhode\s+island", r"south\s+carolina", r"south\s+dakota",
    "tennessee", "texas", "utah", "vermont", "virginia", "washington", r"west\s+virginia", "wisconsin", "wyoming",
)
"""The states other than Florida, whose Blue plan is indexed."""

_PAYERS: tuple[tuple[str, str], ...] = (
    ("Aetna", r"aetna"),
    ("Cigna", r"cigna|evernorth"),
    ("UnitedHealthcare", r"united\s*health\s*care|uhc|optum|united\s+healthcare"),
    ("Humana", r"humana"),
    ("Anthem", r"anthem|elevance"),
    ("Kaiser Permanente", r"kaiser(?:\s+permanente)?"),
    ("Molina", r"molina"),
    ("Centene", r"centene|ambetter|wellcare"),
    ("Highmark", r"highmark"),
    ("Oscar", r"oscar\s+health"),
    ("eviCore", r"evicore"),
    ("Carelon", r"carelon|aim\s+specialty(?:\s+health)?"),
    ("TRICARE", r"tricare"),
    ("Premera", r"premera"),
    ("Regence", r"regence"),
    ("Harvard Pilgrim", r"harvard\s+pilgrim"),
    ("Tufts", r"tufts\s+health"),
    ("EmblemHealth", r"emblem\s*health"),
    ("Independence Blue Cross", r"independence\s+blue\s+cross|ibx"),
    ("Blue Shield of California", r"blue\s+shield\s+of\s+california"),
    ("Geisinger", r"geisinger"),
    ("Medicaid", r"medicaid"),
    # a Blue plan of another state ("BCBS Texas", "Blue Cross Blue Shield of Illinois"): Florida's is indexed
    ("a non-Florida Blue Cross Blue Shield plan",
     r"(?:bcbs|blue\s+cross(?:\s+(?:and\s+|&\s+)?blue\s+shield)?)\s+(?:of\s+)?(?:" + "|".join(_OTHER_STATES) + r")"),
    # Florida Blue's own guideline sends FEP members to FEP guidelines (floridablue-mrs#program-exceptions.fep).
    ("the Federal Employee Program (FEP)", r"fep|federal employee (?:program|plan)"),
)
ALWAYS_OUTSIDE = frozenset({"the Federal Employee Program (FEP)"})
"""Outside the index even when an indexed payer is named with it (an FEP member of Florida Blue)."""
_PAYER = [(name, re.compile(rf"(?<!\w)(?:{rx})(?!\w)", re.I)) for name, rx in _PAYERS]


@dataclass(frozen=True)
class Topic:
    """A topic the indexed policies do not set, and how to say so."""

    name: str
    pattern: re.Pattern[str]
    statement: str


_TOPICS: tuple[Topic, ...] = (
    Topic(
        "payment",
        re.compile(
            r"\b(?:fees?|fee schedule|price|pricing|how much|costs?|reimburse\w*\s+(?:rate|amount)|"
            r"(?:payment|allowed|allowable)\s+(?:rate|amount)|rvus?|co-?pays?|co-?insurance|deductibles?|"
            r"out[- ]of[- ]pocket|dollars?)\b|\$\s?\d"
            # "What does Florida Blue pay for CPT 76390?" asks an amount ("will FB pay for MRS for MS?" asks coverage)
            r"|\b(?:what|how much)\s+(?:does|do|did|will|would|should)\s+(?:[\w'-]+\s+){0,4}?(?:pay|reimburse)\b"
            # how it is paid, not whether: "how is 76390 reimbursed?", "payable as an add-on?", "units per day"
            r"|\bhow\s+(?:[\w+'-]+\s+){0,4}?(?:is|are|gets?)\s+(?:reimbursed|paid|priced)\b|\bpayable\b"
            r"|\bpayment\s+(?:reduction|methodology|policy|policies)\b|\bunits?\s+(?:of\s+)?(?:cpt\s+)?\+?\d{4}[0-9T]\b|\bunits?\s+per\b",
            re.I,
        ),
        "the indexed policies set no fee, payment amount or member cost share",
    ),
    Topic(
        "turnaround",
        re.compile(r"\b(?:turn-?around|tat|how (?:long|many (?:business |calendar |working )?(?:days|hours)|quickly|fast|soon)|"
                   r"within how many|decision (?:time|deadline)|(?:business|calendar|working) days)\b", re.I),
        "the indexed policies set no review turnaround time",
    ),
    Topic(
        "equipment",
        re.compile(r"\b(?:field strength|tesla|\d(?:\.\d)?\s?-?T\b(?:\s+(?:magnet|scanner|mri))?|magnet strength|"
                   r"scanner (?:model|vendor|type)|coil)\b", re.I),
        "the indexed policies set no scanner, magnet field strength or equipment requirement",
    ),
    Topic(
        "another imaging study",
        re.compile(
            # the study asked to be covered is not MRS: "does P cover PET scans for …?", "is fMRI approved?";
            # an MRI or CT stated as done ("MRI was inconclusive") is a fact of the case, not what is asked
            r"\b(?:cover|covers|covered|pay\s+for|pays\s+for|approve|approves|authori[sz]e|authori[sz]es|allow|allows)\s+"
            r"(?:an?\s+|the\s+)?(?:functional\s+MRI|fMRI|PET(?:[-/]CT)?|SPECT|(?:CT|MR)\s+perfusion|perfusion\s+(?:MRI|CT|imaging)|"
            r"diffusion[- ]tensor(?:\s+imaging)?|DTI|MR\s+angiography|MRA|CT\s+angiography|magnetoencephalography|MEG)"
            r"(?:\s+scans?)?(?!\w)"
            r"|\b(?:functional\s+MRI|fMRI|PET(?:[-/]CT)?|SPECT|magnetoencephalography)(?:\s+scans?)?\s+(?:covered|approved|allowed)\b",
            re.I,
        ),
        "the indexed policies are about MR spectroscopy and set no criteria for another imaging study",
    ),
    Topic(
        "billing modifiers",
        re.compile(r"\bmodifiers?\b|\b(?:professional|technical|global)\s+(?:and\s+technical\s+)?components?\b", re.I),
        "the indexed policies set no billing modifier or professional/technical component rule",
    ),
    Topic(
        "diagnosis codes",
        re.compile(r"\bicd-?(?:9|10)(?:-cm)?\b|\bdiagnosis codes?\b", re.I),
        "the indexed policies list no ICD-10 diagnosis codes",
    ),
    Topic(
        "appeal",
        re.compile(r"\b(?:appeals?|appealed|grievances?|external review|reconsideration)\b", re.I),
        "the indexed policies describe no appeal or reconsideration route",
    ),
)


_NEGATED = re.compile(r"(?:\bnon-?|\bnot\s+(?:an?\s+|the\s+)?|\bother\s+than\s+(?:an?\s+|the\s+)?|\bexcept\s+|\bexcluding\s+)$", re.I)
"""Words right before a payer's name that set it aside ("a Florida Blue commercial (non-FEP) member")."""


def foreign_payers(question: str) -> list[str]:
    """Names of payers the question names that no indexed policy belongs to, in list order;
    a name the question sets aside ("non-FEP", "not Aetna") is not named."""
    return [name for name, rx in _PAYER
            if any(not _NEGATED.search(question[:m.start()]) for m in rx.finditer(question))]


def without_set_aside(text: str) -> str:
    """``text`` without the payer names it sets aside ("a Florida Blue commercial (non-FEP)
    member" → "a Florida Blue commercial member"), so no reader takes them as named."""
    for _, rx in _PAYER:
        for m in reversed(list(rx.finditer(text))):
            aside = _NEGATED.search(text[:m.start()])
            if aside:
                text = text[:aside.start()] + text[m.end():]
    return re.sub(r"\(\s*\)\s?", "", text)


def unset_topics(question: str) -> list[Topic]:
    """Topics the question asks about that the indexed policies never set."""
    return [t for t in _TOPICS if t.pattern.search(question)]


def outside_statement(payers: list[str], topics: list[Topic], indexed: list[str]) -> str:
    """The one sentence that says what no indexed policy answers, and what is offered instead."""
    if payers:
        names = " or ".join(payers)
        return (
            f"Not addressed — no indexed policy is {names}'s (indexed: {', '.join(indexed)}); "
            f"the closest text from the indexed policies follows, for comparison only."
        )
    what = "; ".join(t.statement for t in topics)
    return f"Not addressed — {what}; the closest text follows and does not answer it directly."


_SAYS = re.compile(
    r"\b(?:say|says|mention|mentions|address|addresses|discuss|discusses|specify|specifies|state|states|"
    r"speak|speaks|talk|talks)\s+(?:anything\s+(?:about|on|regarding)|whether|if|how|about|to)\b",
    re.I,
)


def asks_what_is_said(question: str) -> bool:
    """True when the question asks whether the policies say something ("Does HealthHelp say
    anything about sedation?", "Do any of these policies say whether …"): when none of them
    uses the topic's words, the answer is that they do not address it."""
    return bool(_SAYS.search(question))


# --- an indexed policy that hands a program to that program's own guidelines ----------------------
_HANDS_OFF = re.compile(r"\bfollow\s+(?:the\s+)?(?:[\w-]+\s+){0,2}?(?:guidelines?|polic(?:y|ies)|criteria)\b", re.I)
"""An exception clause's instruction: "Federal Employee Plan (FEP): Follow FEP guidelines."."""
_DECIDES_ASKED = re.compile(
    r"\b(?:does|do|did|would|will|is|are|should|can)\b(?!\s+there\b)[^?]{0,80}?"
    r"\b(?:guidelines?|polic(?:y|ies)|MCG|criteria|coverage\s+guideline)\b[^?]{0,40}?"
    r"\b(?:decides?|govern(?:s|ing)?|appl(?:y|ies)|control(?:s|ling)?|determines?|rules?)\b"
    # "do we use / follow this MCG?", "should we apply FB's criteria?"
    r"|\b(?:does|do|did|would|will|should|can)\s+(?:we|I|reviewers?|you)\s+(?:use|follow|apply)\b[^?]{0,40}?"
    r"\b(?:guidelines?|polic(?:y|ies)|MCG|criteria)\b", re.I)
"""A yes/no question whether a policy decides the request, not what it (or another) says."""


def hand_offs(clauses: Iterable) -> list[tuple[str, str, str, str]]:
    """(policy id, clause id, text, payer name) of every clause that sends the members of a
    payer no indexed policy belongs to to that payer's own guidelines
    (floridablue-mrs#program-exceptions.fep)."""
    out = []
    for c in clauses:
        if not _HANDS_OFF.search(c.text):
            continue
        out += [(c.policy_id, c.id, c.text, name) for name, rx in _PAYER if rx.search(c.text)]
    return out


_HANDED_ASKED = re.compile(
    r"^\s*(?:[^?]{0,60}?[:,—–-]\s*)?(?:is|are|does|do|would|will|should)\b[^?]*?"
    r"(?:\b(?:exclud\w*|exempt\w*|carved?[- ]out)\s+(?:from|of)\s+(?:the\s+)?(?:[\w'’()-]+\s+){0,4}?"
    r"(?:guidelines?|polic(?:y|ies)|MCG|criteria|review|program)\b"
    r"|\b(?:follow|use|under)\s+(?:an?\s+)?(?:different|separate|other|their\s+own|its\s+own|own)\s+"
    r"(?:guidelines?|polic(?:y|ies)|criteria)\b)", re.I)
"""The same hand-off asked the other way round: "Is FEP excluded from Florida Blue's guideline?",
"Do FEP members follow a different guideline?" (yes)."""


def from_hand_off(question: str, foreign: Sequence[str], named: Sequence[str],
                  found: Sequence[tuple[str, str, str, str]], payers: Mapping[str, str]) -> Verdict | None:
    """No, when the question asks whether a named policy decides a request for a member of a
    payer that the same policy hands to that payer's own guidelines ("Does Florida Blue's
    guideline decide an FEP member's MRS?"); yes, when it asks whether those members are
    excluded or follow other guidelines; None otherwise (what the other payer's guidelines
    say stays unanswered: no indexed policy is theirs)."""
    if _DECIDES_ASKED.search(question):
        claim, lead = "no", "No"
    elif _HANDED_ASKED.search(question):
        claim, lead = "yes", "Yes"
    else:
        return None
    for pid, cid, text, name in found:
        if pid in named and name in foreign and pid in payers:
            row = VerdictClaim(
                text=f'{lead} — {payers[pid]} ({pid}) writes "{text}" [{cid}]: the member\'s own program decides, '
                     f"and no indexed policy is {name}'s.", clause_ids=[cid])
            return render("", [row], "clause", claim)
    return None

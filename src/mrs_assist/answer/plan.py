"""One query plan per question, computed once and read by every step of ask.

The plan holds what the question asks (coverage? which payers? which indications? what
metadata? a list?), the case it states if any, and the topic words no guideline uses. It
holds the one coverage rule (``is_coverage_question``) and the one relevance rule
(``QueryPlan.addressed``); nothing else in ask re-reads the question for them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mrs_assist.answer import quantifier as quantifiers
from mrs_assist.answer.exclusion import EXCLUDE
from mrs_assist.answer.polarity import PREMISE
from mrs_assist.answer.requirement import (
    EVERY, Requirement, denial_reason, hedged_subject, is_sufficiency, required_phrase, requirement_in, requirement_words,
)
from mrs_assist.answer.scope import ALWAYS_OUTSIDE, Topic, foreign_payers, unset_topics, without_set_aside
from mrs_assist.criteria.questions import indication_spans, indications_in_question
from mrs_assist.retrieve.policies import LITERATURE, detect_policies, is_comparison, named_policies
from mrs_assist.retrieve.shorthand import spell_out
from mrs_assist.retrieve.structure import question_intents

if TYPE_CHECKING:
    from mrs_assist.answer.vocabulary import Vocabulary
    from mrs_assist.config import Settings
    from mrs_assist.corpus import Corpus
    from mrs_assist.criteria import Catalogue
    from mrs_assist.retrieve import RetrievalResult

_COVERAGE = re.compile(
    r"\b(?:cover(?:s|ed|age)?|approv\w*|authori[sz]\w*|allow\w*|medically necessary|medical necessity|"
    r"necesary|MN|appropriate|indicat\w*|investigational|experimental|e/i|den(?:y|ied|ial)|meets?|criteria|"
    r"pay for|okay|ok|acceptable|fine(?=\s*\?)|recogni[sz](?:e|es|ed)|(?:can|could|may)\s+(?:mrs|mr spectroscopy|spectroscopy|it|76390)\s+be\s+used|"
    r"get\s+(?:it|this|that|the request|the study|mrs)\s+(?:through|approved|authori[sz]ed)|good to go|go ahead|"
    r"green[- ]light|(?:can|could|may|should)\s+(?:we|i)\s+proceed|"
    # "does the repeat-imaging clause rescue it?": whether a criterion gets the request through
    r"rescu(?:e|es|ed)|salvag(?:e|es|ed)|sav(?:e|es)\s+(?:it|this|that|the request|the study)|"
    r"(?:does|do|would|will|can)\s+(?:anything|any\s+(?:policy|guideline|payer|criteria))\s+(?:we have\s+)?support)\b",
    re.I,
)
_PATIENT = re.compile(
    r"\b(?:pt|patient|mbr|member|\d+\s*-?\s*(?:yo|y/o|years?[- ]old|mo[- ]old|months?[- ]old|weeks?[- ]old|wk[- ]old|days?[- ]old)|"
    r"s/p|neonate|newborn|infant|child|boy|girl|toddler|adult)\b"
    r"|\b\d{1,3}\s?(?:yo\s?)?[MF]\b"  # "70F", "45 M"
    r"|\b(?:man|woman|male|female|teen|teenager|adolescent|kid|baby)\b",
    re.I,
)
_DIFFERENCE = re.compile(r"\b(?:differ\w*|vs\.?|versus|same as|both|compare\w*)\b", re.I)
_FOLLOWS = re.compile(r"\b(?:follow(?:s|ed)?|adopt(?:s|ed)?|rel(?:y|ies) on|defer(?:s|red)? to)\b", re.I)
"""One payer said to take another's policy as its own ("does UHC follow NIA's guideline?"): asked of the other payer."""
PAST_INTENTS = frozenset({"history", "date", "version"})
"""Intents that ask about the past (what changed and when), not the current position."""
METADATA_INTENTS = frozenset({"date", "version", "code", "definition", "history", "documentation"})
"""Intents a metadata clause answers (a date, a version line, a code, a definition, a history entry)."""
_PAST = PAST_INTENTS
_METADATA = METADATA_INTENTS
_SEGMENT = re.compile(r"[^,;?!\n]+")
_DASH = re.compile(r"\s[-–—]\s")
_CONDITION_CLAUSE = re.compile(
    r"\s(?:if|when|assuming|given\s+that|provided\s+that|in\s+case)\s+(?=(?:(?:the|his|her|their|a|an)\s+)?(?:[\w-]+\s+){0,2}?"
    r"(?:mri|ct|imaging|scan|study|studies)\s+(?:was|were|is|are|came\s+back|showed|shows|read)\b"
    # "… be approved if the patient has aneurysm clips?": what the patient has or is
    r"|(?:the\s+|a\s+|an\s+|this\s+|our\s+)?(?:patient|pt|member|child|kid|infant|baby|she|he|they)\s+(?:has|had|have|is|was|are)\b)", re.I)
"""A condition put on the ask that states what the imaging showed ("… if the MRI was diagnostic?") or
what the patient has ("… if the patient has aneurysm clips?")."""
_HEDGED = re.compile(r"\b(?:suspected|possible|probable|presumed|likely|query|questionable|r/o|rule out)\b", re.I)
_CASE_WORD = re.compile(
    r"\b(?:pt|patient|mbr|member|yo|y/o|year[- ]old|wks?|weeks?|mos?|months?|days?|ago|s/p|h/o|hx|"
    r"w/|with|has|had|known|suspected|neonate|newborn|infant|child|boy|girl|toddler|adult|man|woman|"
    r"no new|sx|symptoms?|flare|inconclusive|indeterminate|equivocal|unequivocal|nondx|non-?diagnostic|"
    # "MRI diagnostic", "a conclusive MRI": what the imaging showed is the case's
    r"diagnostic|conclusive|definitive|non-?conclusive|"
    r"ddx|r/o|rule out|differential|read as|shows?|showed|new|lesion|mass|progression|chart|documents|documented)\b",
    re.I,
)
_CONTINUES = re.compile(r"^(?:not|no longer|but|without|nor)\b", re.I)
"""A fragment that only qualifies the one before it ("MRI unequivocal, not inconclusive")."""
_ADULT = re.compile(r"\badults?\b", re.I)
_AGE = re.compile(r"\b\d+\s*(?:yo|y/o|y\.o\.|years?[- ]old|yr[- ]old|-year-old|days?[- ]old|weeks?[- ]old|months?[- ]old|mo[- ]old)\b", re.I)
ADULT_YEARS = 18.0
"""'Adult' with no age stated: 18, the age Cohere's own header gives for adults (cohere-mrs#guideline-info.type)."""


_PURPOSE_REQUIRED = re.compile(
    r"\b(?:must|need(?:s)?\s+to|ha(?:s|ve)\s+to)\s+(?:[\w'’-]+\s+){0,5}?be\s+(?:(?:only|strictly|solely)\s+)?(?:for\s+|pre-?\w)", re.I)
"""'Must the epilepsy be pre-surgical?', 'does encephalopathy need to be for prognosis?': whether the
policy covers the condition only for a purpose (the coverage of it, limited by the purpose asked)."""

_BARE_ASK = re.compile(r"^\W*(?:and\s+|so\s+)?(?:mrs|mr spectroscopy|spectroscopy|76390)\s*\?\s*$", re.I)
"""'… mass on MRI indeterminate. MRS?': the study named alone after what is stated asks for it."""

_TERSE = re.compile(r"\b(?:mrs|mr spectroscopy|spectroscopy|76390)\s+(?:for|in|to evaluate|to assess)\b"
                    # "Cohere — MRS to grade a glioma?": the whole ask is the study and its purpose
                    r"|(?:^|[:;—–]\s*|\s-\s+)(?:mrs|mr spectroscopy|spectroscopy|76390)\s+to\s+(?!be\b|have\b)[a-z]+\b[^?]*\?\s*$",
                    re.I)
"""'HH MRS for MS?': a payer named beside 'MRS for <condition>' asks about coverage."""
_SAYS_ABOUT = re.compile(
    r"^\W*what\s+(?:does|do|did|would)\s+(?:[\w'’&-]+\s+){1,4}?(?:say|state|have\s+to\s+say|allow)\s+"
    r"(?:about|on|regarding|for)\s+(?!(?:the\s+)?(?:evidence|literature|stud(?:y|ies)|trials?|research|references?|data)\b)"
    # a device or safety matter is no indication: "… say about pacemakers / spinal cord stimulators?"
    r"(?![^?]*\b(?:pacemakers?|defibrillators?|stimulators?|implant\w*|devices?|clips?|pumps?|valves?|stents?|"
    r"foreign\s+bod(?:y|ies)|metal\w*|contraindicat\w*|safety|bmi|body\s+mass)\b)",
    re.I)
"""'What does HealthHelp say about TBI?': a payer named and asked what it says of a condition asks
its position on it (the matrix answers when the condition is an indication row); a question about
the evidence ("… say about the studies of …") stays a literature question, one about a device or
safety matter an exclusion question."""


_EVERY_PAYER = re.compile(
    r"\b(?:all|every|each|both)\s+(?:of\s+)?(?:the\s+)?(?:four\s+|4\s+|two\s+)?(?:payers?|plans?|policies|guidelines|insurers)\b"
    r"|\ball (?:four|4)\b|\bevery (?:payer|plan|policy)\b"
    # "a hard stop under Cohere and HealthHelp alike?": each payer named
    r"|\b(?:alike|equally|in common)\s*\?"
    r"|\bboth\s+(?:of them\s+)?(?:cover|approve|allow|consider|include|require|need|demand)\w*\b", re.I)


AGE_LIMIT = re.compile(
    r"\b(?:caps?|capped|limits?|limited|restricts?|restricted|cut-?off|maximum|upper)\b(?:\W+[\w'/-]+){0,4}?\W+(?:age|ages|aged)\b"
    r"|\bage\s+(?:limit|cap|cut-?off|restriction|ceiling|maximum)\b"
    # "does the indication limit MRS to neonates?", "restrict the study to patients who are still infants?": the
    # study limited (a bare "is that limited to neonates?" asks the condition of the coverage asked beside it)
    r"|\b(?:limit|restrict|confine)\w*\s+(?!only\b|just\b|strictly\b|solely\b)(?:[\w'’-]+\s+){1,3}?to\s+(?:(?:patients?|members?|those|kids|children)\s+who\s+are\s+"
    r"(?:still\s+)?)?(?:neonat\w*|newborns?|infants?|bab(?:y|ies)|children|kids|adults?|adolescents?|pediatric|paediatric)\b", re.I)
"""A question whether a policy limits the patient's age ("does 'neonatal' cap the patient's age?")."""

_AGO = re.compile(r"\b(?:\d+|a|one|two|three|several)\s*-?\s*(?:years?|yrs?|months?|mos?|weeks?|wks?|days?)\s+"
                  r"(?:ago|prior|earlier|before|later|since)\b", re.I)
"""A stated case's time ("GBM treated 1 year ago") is the case's, not a date the question asks."""
_PATIENT_HISTORY = re.compile(
    r"\b(?:an?|any|no|prior|past|personal|family|medical|remote|known|long)\s+(?:[\w-]+\s+)?(?:history|hx)\s+of\b", re.I)
"""A patient's "history of" a condition ("a 7-year-old with a history of neonatal HIE") is the case's
past, not the guideline's revision history the question asks about."""


def _case_times(question: str) -> str:
    """The question without the case's own times and past ("treated 1 year ago", "a history of
    HIE"), which ask no date and no revision history."""
    return _PATIENT_HISTORY.sub(" ", _AGO.sub(" ", question))

_CONDITION_WHEN = re.compile(
    r"\bwhen\b(?!\s+(?:did|was|were|had|has|have)\b)(?=(?:\W+[\w'/-]+){0,6}?\W+(?:consider(?:s|ed)?|covers?|covered|necessary|appropriate|justif\w*|approv\w*|"
    r"request(?:s|ed)?|ordered|submitted|indicated|allowed|nondx|non-?diagnostic|inconclusive|indeterminate|equivocal|needed|required|"
    # "when the MRI is clearly diagnostic": what the imaging showed, a condition
    r"diagnostic|conclusive|definitive|"
    r"documented)\b)"
    # "is MRS covered when …", "would HH approve it when …": the condition of what was just asked
    r"|(?:%s)when\b" % "|".join(rf"(?<=\b{w} )" for w in (
        "covered", "cover", "approve", "approved", "allowed", "indicated", "necessary", "appropriate", "MRS", "ok",
        "denied", "deny", "refused", "rejected")),
    re.I)
"""A 'when' that asks under what condition ("when will a repeat study be considered reasonable
and necessary?", "a neonate when MRS is requested"), not for a date."""


_ASKS_WHEN = re.compile(r"^\W*when\b", re.I)


_FOLLOW_UP = re.compile(r"^\W*(?:(?:and\s+)?(?:what|how)\s+about|and(?:\s+for)?|same\s+(?:for|with))\b[^?]*\?\s*$", re.I)
"""A follow-up that asks nothing of its own ("What about pregnancy?"): it asks the question before it again."""
_YES_NO_ASKED = re.compile(
    r"^(?:[^:?]{1,40}:\s*|(?:under|per|for|according to)\b[^,?]{1,60},\s*)?(?:is|are|does|do|would|will|can|could|should|must|may|has|have)\b",
    re.I)
"""A yes/no question (after a "Payer:" or "Under Payer," lead), the kind a bare follow-up repeats for another item."""


def follows_up(question: str) -> bool:
    """The question ends in a bare follow-up of a yes/no question ("… a non-indication? What about
    Y?"): it asks the same of each item, one by one."""
    parts = [p for p in re.split(r"(?<=[.!?])\s+", question.strip()) if p.strip()]
    return len(parts) > 1 and bool(_FOLLOW_UP.match(parts[-1]) and _YES_NO_ASKED.match(parts[-2])) \
        and parts[-2].rstrip().endswith("?")


_LIKE_PAYER = re.compile(
    r"\b(?:(?:just\s+)?(?:like|the\s+(?:same\s+)?way)\s+(?P<who>[^?.!,;:]{2,50}?)(?:\s+(?:does|do|did))?"
    r"|(?<!same\s)(?<!well\s)as\s+(?P<as_who>[^?.!,;:]{2,50}?)\s+(?:does|do|did))\s*[?.!]*\s*$", re.I)
"""A question that ends by likening its payer's act to another's ("… like HealthHelp does?", "… the
way NIA does?", "… as HealthHelp does?"): the other payer is the reference, not asked. "The same as
Florida Blue's?" compares the two; "as well as HealthHelp does" joins them."""


def reference_payer(question: str, corpus: Corpus) -> str | None:
    """The guideline a question's closing likeness names ("Does Cohere cover MRS for epilepsy like
    HealthHelp does?" → healthhelp-mrs); None unless it names one payer's name and nothing else."""
    match = _LIKE_PAYER.search(question)
    if match is None:
        return None
    who = (match.group("who") or match.group("as_who")).strip().lower()  # "like Florida Blue's (list)" compares
    found = [pid for pid, d in corpus.documents.items()
             if d.meta.kind == "guideline" and who in {n.lower() for n in (d.meta.payer, *d.meta.payer_aliases)}]
    return found[0] if len(found) == 1 else None


def premise_follow_up(question: str) -> str:
    """The bare follow-up that ends a question whose earlier sentences only state ("HealthHelp
    covers MRS for MS. What about Florida Blue?"): what it asks is the statement's claim of what the
    follow-up names; '' when the question has no such shape."""
    parts = [p for p in re.split(r"(?<=[.!?])\s+", question.strip()) if p.strip()]
    if len(parts) < 2 or not (_FOLLOW_UP.match(parts[-1]) or _ELLIPTIC.match(parts[-1])) \
            or any(p.rstrip().endswith("?") for p in parts[:-1]):
        return ""
    return parts[-1]


_ELLIPTIC = re.compile(r"^\W*(?:and\s+)?(?:does|do|did|is|will|would|can)\s+(?:[\w'’&-]+\s+){0,3}?[\w'’&-]+\s*\?\s*$", re.I)
"""A question that only names another subject ("Does Florida Blue?", "And would NIA?"): the premise's claim, asked of it."""


def _last_sentence(question: str) -> str:
    """The sentence that asks ("… gadolinium is contraindicated. Can MRS go ahead?" asks the last),
    with the question it follows up when it only names another item ("Is X a non-indication?
    What about Y?" asks both)."""
    parts = [p for p in re.split(r"(?<=[.!?])\s+", question.strip()) if p.strip()]
    if follows_up(question):
        return f"{parts[-2]} {parts[-1]}"
    return parts[-1] if parts else question


def _asking_part(question: str) -> str:
    """The sentences that ask: a statement before the question ("HealthHelp's 2024 summary of
    changes says an ataxia indication was added. Can I approve …?") is a premise it grants,
    not what it asks (so its dates and history do not make the question a history one)."""
    parts = [p for p in re.split(r"(?<=[.!?])\s+(?=[A-Z])", question.strip()) if p.strip()]
    asking = [p for p in parts if p.rstrip().endswith("?")]
    return " ".join(asking) if asking and len(asking) < len(parts) else question


def is_coverage_question(question: str) -> bool:
    """True if the question asks about coverage, approval or investigational status."""
    return bool(_COVERAGE.search(question))


@dataclass(frozen=True)
class QueryPlan:
    """What one question asks, worked out once."""

    question: str
    policy_ids: list[str]
    """Policies to search and decide for: the request's, else those the question names
    (every guideline for a comparison); [] means all."""
    named: list[str]
    """Documents the question names (payer names, aliases, ids)."""
    coverage: bool
    """It asks whether something is covered, approvable or investigational."""
    comparison: bool
    """It compares payers (names two or more, or says 'which payers', 'difference', …)."""
    indications: list[str]
    """Indication facts (matrix rows) the question names."""
    intents: frozenset[str]
    """Metadata it asks for (dates, versions, history, codes, definitions, documentation) and 'list'."""
    unmentioned: list[str]
    """Topic words of the question that no guideline uses."""
    case_text: str = ""
    """The case the question states ('pt had MRI 5 wks ago, no new sx'), as sentences; '' if none."""
    case_age: float | None = None
    """The patient's age the case implies without a number ('adult' → 18); None otherwise."""
    guidelines: list[str] = field(default_factory=list)
    """Guideline policy ids in the corpus (criteria exist for these)."""
    foreign: list[str] = field(default_factory=list)
    """Payers the question names that no indexed policy belongs to (Aetna, Cigna, …)."""
    unset: list[Topic] = field(default_factory=list)
    """Topics it asks that the policies never set (a fee, a turnaround time, an appeal)."""
    every_payer: bool = False
    """It asks whether all the payers do something ("covered by all four payers?")."""
    excluding: bool = False
    """It asks whether something excludes MRS (a non-indication, a contraindication)."""
    required: Requirement | None = None
    """The condition a requirement question asks about ("does HH require a non-diagnostic MRI …")."""
    set_aside: list[str] = field(default_factory=list)
    """Guidelines the question names only to set aside ("Besides HealthHelp, does any payer …")."""
    quantifier: str | None = None
    """How it combines the payers' answers: 'only', 'none', 'any', 'same', 'differ', 'but_not' (``answer.quantifier``)."""
    broader: list[str] = field(default_factory=list)
    """Indications named only inside a more specific one's words ("HIE" in "neonatal HIE"): what the
    specific one is a case of, asked of a payer that lists only the broader one."""
    contrasted: list[str] = field(default_factory=list)
    """The guidelines an "A (and B) but not C?" question names before its "but not" (``quantifier.contrast_subject``)."""

    @property
    def quantified(self) -> tuple[str, str | None, str] | None:
        """(quantifier, the one payer an 'only' question asks about, what it asks of each
        payer), when the question combines several payers' answers; None otherwise."""
        if self.quantifier is None:
            return None
        asked = quantifiers.predicate(self.question)
        if self.quantifier in ("same", "differ") and not quantifiers.compares_payers(
                self.question, [pid for pid in self.guidelines if pid in self.named]):
            return None  # "had the same study 2 months ago" compares no payers
        if self.quantifier == "only":
            subject = [pid for pid in self.guidelines if pid in self.named and pid not in self.set_aside]
            return ("only", subject[0], asked) if len(subject) == 1 else None
        if self.quantifier == "but_not":  # "covered by HH but not by NIA?": the first covers it, the others do not
            return ("but_not", "+".join(self.contrasted), "covered" if asked == "not_covered" else asked) if self.contrasted else None
        return self.quantifier, None, asked

    @property
    def outside(self) -> bool:
        """No indexed policy can answer it: only another payer is named, or it asks a topic
        the policies never set."""
        # "Aetna's criteria for glioma grading -- same as Cohere's?": one side of the comparison is unindexed
        # ("does UHC follow the same criteria as Cohere?", "does Cigna agree with HealthHelp?")
        compared = bool(self.foreign and self.named and (_DIFFERENCE.search(self.question) or _FOLLOWS.search(self.question)
                                                         or self.quantifier in ("same", "differ")))
        # "did Florida Blue add its FEP exception in 2009?" asks the indexed guideline's own history, not the FEP's rules
        always = set(self.foreign) & ALWAYS_OUTSIDE and not (self.named and self.intents & _PAST)
        return bool((self.foreign and not self.named) or compared or always or self.unset)

    @property
    def decides_coverage(self) -> bool:
        """The criteria decide this question: it names an indication or states a case, asks
        about coverage or compares payers, and asks about the current position (not when
        something was added, changed or dated)."""
        if self.intents & _PAST:
            return False
        if self.case_text and not self.coverage:
            return True  # a case typed without the ask ("8yo w/ X-ALD, MRI indeterminate"): the checker answers
        return bool(self.indications or self.case_text) and (self.coverage or self.comparison)

    @property
    def decided_policies(self) -> list[str]:
        """Guidelines whose criteria answer it: those asked about, else every guideline."""
        if self.quantified and self.quantified[0] == "only":
            return list(self.guidelines)  # "is X the only payer …": every payer is asked
        wanted = [pid for pid in self.guidelines if pid in self.policy_ids and pid not in self.set_aside]
        if not wanted and self.set_aside:
            return [pid for pid in self.guidelines if pid not in self.set_aside]
        return wanted or (self.guidelines if not self.policy_ids else [])

    def addressed(self, result: RetrievalResult, settings: Settings) -> bool:
        """The one relevance rule: the guidelines address the question.

        Declined when no clause is close enough (``min_relevance``), or
        when the question's topic words appear in no guideline and the closest clause is
        still only loosely related (``min_relevance_unmentioned``). In between, the answer
        quotes the closest clauses and says which words no guideline uses.
        """
        if result.hits and self._metadata_hit(result):
            return True
        if not result.hits or result.best_dense_similarity < settings.min_relevance:
            return False
        return not (self.unmentioned and result.best_dense_similarity < settings.min_relevance_unmentioned)

    def _metadata_hit(self, result: RetrievalResult) -> bool:
        """A terse metadata question ("cohere v1 date?") that names its payer, or uses no
        word the guidelines lack, and whose top hits include a clause of the kind it asks for
        sharing a word with it: addressed, however low the dense similarity."""
        wanted = self.intents & _METADATA
        if not wanted or not (self.named or not self.unmentioned):
            return False
        return any(
            getattr(h, "kinds", frozenset()) & wanted and getattr(h, "bm25_score", 0.0) > 0 for h in result.hits[:3]
        )


_LEAD = re.compile(
    r"(?:^|(?<=[.!?]\s))\s*(?P<abbr>[A-Z]{2,5})(?:\s*(?::|\s[-–—]\s|\s--\s)|['’]s\s|\s+(?=(?:added|adds|says|said|lists|listed|"
    r"covers|covered|requires|required|calls|called|deleted|removed|revised|changed|updated|cover|approve|approves|"
    # "FB MRS epilepsy covered?": the study named right after the initials
    r"(?i:mrs|mr\s+spectroscopy|spectroscopy|76390))\b))")
"""A payer's initials that open the question or a sentence, as its addressee ("FB: …", "FB's …",
"FB added …", "FB MRS for …?"); a verb of state ("FB is in the orbit") does not make a foreign body a payer."""
_LEAD_UNDER = re.compile(
    r"^\s*(?i:under|per|for|according to)\s+(?P<abbr>[A-Z]{2,5})\s*(?:,|:|\s[-–—]\s|\s--\s)")
"""The same initials after a leading "Under …," ("Under FB, is MRS for epilepsy …?")."""
_LEAD_ASKED = re.compile(
    r"^\s*(?i:does|do|did|will|would|can|could|should|has|have)\s+(?P<abbr>[A-Z]{2,5})\s+"
    r"(?i:cover|list|require|pay|define|approve|allow|accept|consider|have|say|bill|need|exclude|deny|recognize|"
    r"include|use|mention|treat|count|want|expect|call|add|delete|remove|revise|change|update)\b")
"""The same initials as the subject of the question's opening auxiliary and a payer's verb ("Does
FB cover …?", "Will HH pay …?"); "does FB in the orbit bar MRS?" names a foreign body, no payer verb."""
_BY_PAYER = re.compile(
    r"\b(?i:covered|paid(?:\s+for)?|approved|reimbursed|authori[sz]ed|allowed|accepted)\s+by\s+(?P<abbr>[A-Z]{2,5})\b")
"""The same initials as the agent of a payer's passive verb ("is MRS covered by FB for …?", "approved
by HH?"); a foreign body is never what covers or approves."""


def _lead_initials(question: str, corpus: Corpus) -> list[str]:
    """["floridablue-mrs"] for "FB: MRS to grade a glioma …": a question that opens with a
    capitalised abbreviation and a colon or dash names, as its addressee, the one guideline
    whose payer (or an alias of several words) has those initials; [] otherwise. Only at the
    lead: "metallic FB in the orbit" is a foreign body, not a payer."""
    match = (_LEAD.search(question) or _LEAD_UNDER.search(question) or _LEAD_ASKED.search(question)
             or _BY_PAYER.search(question))
    if match is None:
        return []
    abbr = match.group("abbr")
    found = [
        pid for pid, d in corpus.documents.items()
        if d.meta.kind == "guideline" and any(
            len(words := re.findall(r"[A-Za-z]+", name)) >= 2 and "".join(w[0] for w in words).upper() == abbr
            for name in (d.meta.payer, *d.meta.payer_aliases))
    ]
    return found if len(found) == 1 else []


def most_specific(question: str, indications: list[str], catalogue: Catalogue) -> list[str]:
    """The indications a question names, less those named only inside another's longer words
    ("'neonatal hypoxic ischemic encephalopathy'" names HIE of the neonatal period, not HIE as
    well): the note reader's rule, the most specific match wins."""
    spans = {name: indication_spans(question, catalogue, name) for name in indications}

    def inside(name: str) -> bool:
        return bool(spans[name]) and all(
            any(s <= a and b <= e and (e - s) > (b - a) for other in indications if other != name for s, e in spans[other])
            for a, b in spans[name])

    return [name for name in indications if not inside(name)]


def documents_named(text: str, corpus: Corpus) -> list[str]:
    """The documents ``text`` names (payer names, aliases, ids, a leading payer's initials), the
    digest alone where its name is one it shares with a guideline ("the Magellan digest")."""
    return _literature_subject(text, named_policies(text, corpus) or _lead_initials(text, corpus), corpus)


def _literature_subject(question: str, named: list[str], corpus: Corpus) -> list[str]:
    """``named`` less the guidelines named only by a name they share with a literature document
    the question names as such ("the Magellan digest" names the digest, not NIA's guideline)."""
    if not LITERATURE.search(question):
        return named
    literature = [pid for pid in named if corpus.documents[pid].meta.kind != "guideline"]
    if not literature:
        return named
    shared = {n.lower() for pid in literature for n in (corpus.documents[pid].meta.payer, *corpus.documents[pid].meta.payer_aliases)}

    def own_name(pid: str) -> bool:
        meta = corpus.documents[pid].meta
        names = [n for n in (meta.payer, *meta.payer_aliases, pid) if n.lower() not in shared]
        return any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", question, re.I) for n in names)

    return [pid for pid in named if pid in literature or own_name(pid)]


def plan_question(
    question: str,
    policy_ids: Sequence[str] | None,
    *,
    corpus: Corpus,
    criteria: Callable[[], tuple[Catalogue, Iterable[str], Iterable[str]] | None],
    vocabulary: Vocabulary,
) -> QueryPlan:
    """The plan for a question (``policy_ids`` from the request, or None to detect).

    ``criteria`` returns the catalogue, the matrix's indication rows and the facts its
    covered-if cells require (None without criteria); it is called only for a question that
    may be decided by them.
    """
    named = documents_named(question, corpus)
    follow = premise_follow_up(question)
    if follow and (only := named_policies(follow, corpus)):
        named = only  # "HealthHelp covers it. What about Florida Blue?": the premise's payer is not asked
    else:
        follow = ""
    reference = reference_payer(question, corpus)
    if len(named) >= 2 and reference in named:
        named = [pid for pid in named if pid != reference]  # "… like HealthHelp does?": the likeness is not asked
    searched = list(policy_ids) if policy_ids is not None else detect_policies(question, corpus, named=named)
    coverage = is_coverage_question(_asking_part(question)) or bool(named and _TERSE.search(question)) \
        or bool(_PURPOSE_REQUIRED.search(question)) or bool(_BARE_ASK.match(_last_sentence(question))) \
        or bool(named and _SAYS_ABOUT.search(question))
    # "HealthHelp lists TBI. What about NIA?": the premise's claim of one payer, asked of another
    coverage = coverage or bool(follow)
    patient = bool(_PATIENT.search(question))
    indications: list[str] = []
    broader: list[str] = []
    required = None
    asked_words = requirement_words(question)
    age_limit = bool(AGE_LIMIT.search(question))
    asks_requirement = bool(asked_words) or age_limit
    if coverage or patient or asks_requirement or len(named) >= 2 or _DIFFERENCE.search(question) or is_comparison(question):
        loaded = criteria()
        if loaded is not None:
            catalogue, rows, conditions = loaded
            found = indications_in_question(question, catalogue, rows)
            indications = most_specific(question, found, catalogue)
            broader = [f for f in found if f not in indications]
            if asks_requirement:
                facts = requirement_in(list(conditions), indications_in_question(asked_words, catalogue, conditions))
                if (phrase := required_phrase(question)) is not None:
                    # "is a prior biopsy required for MRS of a known tumor?": the tumor is not what is required
                    inside = set(indications_in_question(phrase, catalogue, conditions))
                    facts = [f for f in facts if f in inside]
                if not facts and age_limit:  # "does 'neonatal' cap the patient's age?": the age conditions
                    facts = [f for f in conditions if f in catalogue and catalogue.spec(f).role == "demographic"]
                if facts:
                    labels = {f: catalogue.spec(f).label for f in facts}
                    hedged = hedged_subject(question)
                    required = Requirement(tuple(facts), labels, bool(EVERY.search(question)),
                                           sufficient=is_sufficiency(question) or hedged is not None,
                                           hedged=hedged[0] if hedged else "")
    guidelines = list(corpus.policy_ids)
    named_guidelines = [pid for pid in named if pid in guidelines]
    comparison = (
        len(named_guidelines) >= 2
        or is_comparison(question)
        or (bool(indications) and not named_guidelines and bool(_DIFFERENCE.search(question)))
    )
    return QueryPlan(
        question=question,
        policy_ids=searched,
        named=named,
        coverage=coverage,
        comparison=comparison,
        indications=indications,
        intents=question_intents(_case_times(_CONDITION_WHEN.sub("if", PREMISE.sub("", _asking_part(question)))))
        # "is MRS denied under NIA when the tumor hasn't been confirmed?": a denial's condition, not a date
        - ({"date"} if required is not None and denial_reason(question) and not _ASKS_WHEN.match(question) else set()),
        unmentioned=vocabulary.unmentioned(question),
        case_text=(case := stated_case(question, corpus) if coverage or patient else ""),
        case_age=ADULT_YEARS if case and _ADULT.search(case) and not _AGE.search(case) else None,
        guidelines=guidelines,
        foreign=foreign_payers(question),
        unset=unset_topics(question),
        required=required,
        excluding=bool(EXCLUDE.search(_last_sentence(question))),
        every_payer=bool(_EVERY_PAYER.search(question)) or _both_named(question, corpus, guidelines),
        set_aside=quantifiers.set_aside(question, terms := {
            pid: (d.meta.payer, *d.meta.payer_aliases, pid) for pid, d in corpus.documents.items() if pid in guidelines}),
        quantifier=quantifiers.quantifier(question),
        contrasted=quantifiers.contrast_subject(question, terms),
        broader=broader,
    )


_BOTH = re.compile(r"\bboth\b(?P<rest>[^?.;]*)", re.I)


def _both_named(question: str, corpus: Corpus, guidelines: Sequence[str]) -> bool:
    """"Covered under both HealthHelp and NIA?": 'both' before two named guidelines asks each of
    them, as "both payers" does (yes only when each says yes)."""
    return any(len([pid for pid in named_policies(m.group("rest"), corpus) if pid in guidelines]) >= 2
               for m in _BOTH.finditer(question))


_ABOUT_POLICY = re.compile(r"\b(?:polic(?:y|ies)|guidelines?|criteri(?:a|on)|indications?|investigational|experimental)\b", re.I)
_PAYER_LEAD = re.compile(r"^(?:[^:.?]{1,60}:|(?:under|per|for|according to)\b[^,.?]{1,80},)\s*", re.I)
"""A leading "HealthHelp:" / "Under the NIA guideline," names who is asked, not what a sentence says."""


def _sentences(question: str) -> list[str]:
    """The question's sentences, each with its closing mark ("Known GBM." "Approve?")."""
    return [p for p in re.split(r"(?<=[.!?])['\"]?\s+(?=[A-Z'\"])", question.strip()) if p.strip()]


_IMAGING = r"(?:MRI|MR|CT|imaging|scan)"
_CONCLUSIVE_SHORT = re.compile(
    rf"\b(?:an?\s+)?(?:already\s+|clearly\s+|fully\s+)?(?<!non-)(?<!non)(?<!not )(?:diagnostic|conclusive|definitive)\s+(?P<a>{_IMAGING})\b"
    rf"|\b(?P<b>{_IMAGING})\s+(?:already\s+|clearly\s+|fully\s+)?(?:diagnostic|conclusive|definitive)(?=\s*(?:[.;,]|$))"
    # "the MRI was clearly diagnostic": the adverb between the verb and the word
    rf"|\b(?P<c>{_IMAGING})\s+(?:was|is|were|are)\s+(?:already|clearly|fully|definitely|entirely)\s+(?:diagnostic|conclusive|definitive)\b"
    # "the MRI is read as diagnostic": the radiologist's reading of it
    rf"|\b(?P<d>{_IMAGING})\s+(?:(?:was|is|were|are|being)\s+)?(?:read|reported|interpreted|called)\s+as\s+(?:diagnostic|conclusive|definitive)\b",
    re.I)
"""A question's shorthand for a conclusive study ("with a diagnostic MRI", "MRI already
diagnostic", "MRI read as diagnostic"), written out as the sentence a note would use ("MRI was diagnostic")."""
_DOUBLE_NEGATIVE = re.compile(r"\b(?:not|never)\s+(?:in|un|non-?)(conclusive|diagnostic|determinate|equivocal)\b", re.I)
_AFFIRMED = {"determinate": "conclusive"}
"""The word a double negative leaves, as the note reader knows it ("not indeterminate": conclusive)."""


_MODAL_ASK = re.compile(
    r"(?:^|(?<=[,;:]\s))(?:would|will|could|can|should|might)\s+(?:[\w'’&-]+\s+){0,4}?"
    r"(?:approve|cover|authori[sz]e|allow|accept|deny|pay\s+for)\s+(?=\S)", re.I)
"""The ask that opens a question's fragment ("Would Cohere approve …"): its modal verb would read the
patient it goes on to describe as hypothetical."""


def without_modal_ask(text: str) -> str:
    """``text`` less the modal asks that open its clauses ("…, would HealthHelp approve MRS for X-ALD
    therapy planning?" → "…, MRS for X-ALD therapy planning?"), so the note reader reads what they ask about."""
    return _MODAL_ASK.sub("", text)


def stated_case(question: str, corpus: Corpus) -> str:
    """The case facts a question states, as sentences for the extractor; '' when it states none.

    Reviewers type cases as comma-separated fragments around the ask ("pt had MRI brain
    5 wks ago, no new sx, can we approve MRS under cohere?"). Each fragment becomes its own
    sentence (so a duration in one fragment never reads as the duration of a symptom in the
    next), except that "…, not inconclusive" stays with the fragment it qualifies; fragments
    that only ask (coverage words, no patient) or only name a payer are dropped. Once a
    stating sentence has described the patient, every later fragment of a stating sentence is
    kept, case words or not, for the note reader to judge ("Note says 'possible MS, LP
    pending.'"), unless the sentence tells the policy rather than the case; payers the
    question sets aside ("non-FEP") are removed first.
    """
    payers = {t.lower() for d in corpus.documents.values() for t in (d.meta.payer, d.id, *d.meta.payer_aliases)}
    fragments: list[str] = []
    blocks: list[tuple[int, int, str]] = []  # per sentence: its fragments' slice, and itself whole if it states
    kept = False
    stated = False
    for sentence in _sentences(without_set_aside(question)):
        # A sentence that states (not asks) is the case as written: every fragment of it goes to
        # the note reader, which reads its hedges, negations and differentials ("impression:
        # infarct versus neoplasm", "possible MS, LP pending"); a sentence that asks keeps only
        # its fragments that describe the patient.
        declares = not sentence.rstrip().endswith("?")
        # "HealthHelp calls MRS for stroke experimental." tells the policy, not the case
        said = _PAYER_LEAD.sub("", sentence, 1)
        states = declares and not _ABOUT_POLICY.search(said) and (bool(_PATIENT.search(said)) or not named_policies(said, corpus))
        dashed = _DASH.sub(", ", sentence)
        conditioned = False
        if not declares:  # "Krabbe disease, MRI diagnostic: covered?": the colon ends what is stated
            dashed = re.sub(r":\s", ", ", dashed)
            # "would Cohere approve MRS for Canavan disease if the MRI was diagnostic?": the condition
            # the ask is put under states the case, apart from the ask
            conditioned = bool(_CONDITION_CLAUSE.search(dashed))
            dashed = _CONDITION_CLAUSE.sub(", ", dashed)
        first, opening = len(fragments), ""
        for part in _SEGMENT.findall(dashed):
            for piece in re.split(r"(?<=[a-z0-9)])\.\s+", part.strip()):
                text = piece.strip(" .:-'\"")
                if not declares and _PATIENT.search(text):  # "would Cohere approve MRS for a 3-week-old …": the patient,
                    text = _MODAL_ASK.sub("", text)         # not the ask's "would"
                # the ask a condition was put on keeps what it states of the case ("… for a known glioblastoma, if …");
                # a hedged diagnosis in it is the indication asked, which the plan names already, not a finding
                if not text or text.lower() in payers or (is_coverage_question(text) and not _PATIENT.search(text)
                                                          and not (conditioned and _CASE_WORD.search(text)
                                                                   and not _HEDGED.search(text))):
                    kept = False  # the ask itself, unless it describes the patient ("… for HIE in a 40 year old?")
                    continue
                opening = opening or text
                if kept and _CONTINUES.search(text):  # "…, not inconclusive" qualifies the fragment before it
                    fragments[-1] += f", {text}"
                # a stating sentence goes on about the case it began ("Cohere request for MRS …
                # after an inconclusive MRI; the record documents a cochlear implant")
                elif _CASE_WORD.search(text) or (states and stated) or (declares and len(fragments) > first):
                    fragments.append(text)
                    kept = True
                    stated = stated or declares
                else:
                    kept = False
        whole = ""
        if states and opening:
            # A sentence that states the case is read as one sentence of a note, from its first
            # words past the payer it opens with: the reader's own pairing of a condition with its
            # purpose ("epilepsy, being worked up for resection; … the pre-surgical evaluation")
            # and its negation scopes span the commas.
            whole = dashed[dashed.find(opening):].strip(" .:-'\"")
            lead = _PAYER_LEAD.match(whole)
            if lead and named_policies(lead.group(0), corpus):  # "HealthHelp: 35-year-old …"
                whole = whole[lead.end():]
        blocks.append((first, len(fragments), whole))
    # Once one stating sentence describes the patient, every stating sentence is the case, the
    # ones before it too ("NIA: GBM after resection and chemoradiation. The note says …").
    fragments = [piece for start, end, whole in blocks
                 for piece in ([whole] if whole and (stated or end > start) else fragments[start:end])]
    if not fragments:
        return ""
    # "not inconclusive" says the imaging was conclusive: read it so, not as a negated "inconclusive".
    text = _DOUBLE_NEGATIVE.sub(lambda m: _AFFIRMED.get(m.group(1).lower(), m.group(1)), spell_out(". ".join(fragments) + "."))
    return _CONCLUSIVE_SHORT.sub(lambda m: f"{m.group('a') or m.group('b') or m.group('c') or m.group('d')} was diagnostic", text)

"""Age-definition questions: "HealthHelp: does a 20-year-old count as pediatric?", "Can a
24-year-old with special healthcare needs be treated under the pediatric definitions?".

Answered from the age bands the policies themselves write beside a term ("pediatrics (21
years of age or younger)", "Adult (18+ yo) | Pediatric (0-17 yo)", "Adolescence, from 12 to
21 years of age"), read once from the corpus (``age_bands``): yes when the age is inside the
band, no when outside it, and "it depends" when the same policy writes that older ages may
apply (children with special healthcare needs). No band for the term asked: no verdict.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from mrs_assist.answer.verdict import cite_ids, per_payer
from mrs_assist.schemas import Verdict, VerdictClaim

_TERMS = {
    "pediatric": r"p(?:a)?ediatrics?|children|child",
    "adult": r"adults?",
    "adolescent": r"adolescen(?:t|ts|ce)",
    "infant": r"infan(?:t|ts|cy)",
    "child": r"childhood",
}
_TERM = re.compile("|".join(f"(?P<{k}>\\b(?:{v})\\b)" for k, v in _TERMS.items()), re.I)
_RANGES = (
    (re.compile(r"(?P<hi>\d{1,2})\s*years?\s+of\s+age\s+or\s+(?:younger|less|under)", re.I), "le"),
    (re.compile(r"(?P<lo>\d{1,2})\s*\+\s*(?:yo|y/o|years?|yrs?)", re.I), "ge"),
    (re.compile(r"between\s+birth\s+and\s+(?P<hi>\d{1,2})\s*years?", re.I), "le"),
    (re.compile(r"(?:from\s+)?(?P<lo>\d{1,2})\s*(?:to|[-–])\s*(?P<hi>\d{1,2})\s*(?:yo|y/o|years?|yrs?)", re.I), "range"),
)
_OLDER = re.compile(r"\bolder ages may\b[^.]*", re.I)
_ASKED = re.compile(
    r"\b(?P<age>\d{1,2})\s*(?:-|\s)?(?:year|yr)s?(?:-|\s)old\b|\b(?P<age2>\d{1,2})\s*(?:yo|y/o|y\.o\.)\b"
    # "pt is 23 w/ CP": a bare number said of the patient, not a measure ("is 23 mm", "is 23 weeks")
    r"|\b(?:pt|patient|member|he|she|who)\s+(?:is|was)\s+(?P<age3>\d{1,2})\b"
    r"(?!\s*(?:%|mm|cm|mg|kg|lbs?|weeks?|wks?|months?|mos?|days?|hours?|hrs?|percent|[./,]\d))", re.I)
_COUNTS = re.compile(
    r"\b(?:counts?(?:\s+as)?|counted\s+as|considered(?:\s+an?)?|qualif\w*\s+as|treated\s+(?:as|under)|"
    r"falls?\s+(?:under|within|in)|classed\s+as|classified\s+as|defined\s+as|still\s+(?:an?)|"
    # "could HH still treat him as a child?"
    r"(?:treat|consider|count|class|classify)\s+(?:him|her|them|the\s+patient|the\s+member|this\s+patient)\s+as)\b"
    r"(?:\s+(?:an?|the|its|their|a\s+))?\s*(?:[\w'’-]+\s+){0,1}?(?=(?:%s)\b)" % "|".join(_TERMS.values()), re.I)
"""A counting verb right before the term it counts as ("count as pediatric", "be treated under the pediatric …")."""
_APPOSED = re.compile(
    r"\s+(?:(?:patient|member|person|individual)\s+)?(?:with(?:out)?\s+(?:[\w'-]+\s+){1,4}?)?"
    r"(?:(?:still\s+)?(?:be\s+)?(?:an?|as|in)\s+|(?:still\s+)?be\s+|still\s+)?"
    r"(?=(?:%s)\b\s*(?:\?|$|,?\s*(?:under|per|for|by|according|in)\b))"
    % "|".join(_TERMS.values()), re.I)
"""Right after the age, the term it is asked to be ("a 16-year-old an adolescent?")."""
_YES_NO = re.compile(r"(?:^|[:,.]\s*)(?:is|are|does|do|would|will|can|could|should)\b", re.I)
_COVERAGE_WORDS = re.compile(r"\b(?:cover\w*|approv\w*|appropriate|necessary|indicat\w*|meets?|criteria|eligible|qualif\w*)\b", re.I)
_SPECIAL = re.compile(
    r"\bspecial (?:health\s?care|medical) needs\b"
    # the federal definition of children with special health care needs (HRSA/MCHB) is a chronic
    # physical, developmental, behavioral or emotional condition: a question naming one (a
    # developmental delay or disability, an intellectual disability, cerebral palsy) names such a need
    r"|\b(?:global\s+|significant\s+|severe\s+|profound\s+)?developmental\s+(?:delays?|disabilit(?:y|ies)|disorders?)\b"
    r"|\bintellectual\s+disabilit(?:y|ies)\b|\bcerebral\s+palsy\b"
    r"|\bchronic\s+(?:physical|developmental|behavioral|emotional|medical)\s+conditions?\b", re.I)
"""The patient's special healthcare needs, named as such or by a condition of the definition's kinds."""
_NO_SPECIAL = re.compile(r"\b(?:without|no|not\s+with|lacking|absent)\s+(?:any\s+)?special (?:health\s?care|medical) needs\b", re.I)
"""The question states the patient has none: the policy's "older ages may" line does not reach them."""
_DENIED_BEFORE = re.compile(r"\b(?:without|no|not|never|denies|lacking|absent|free of|rather than)\s+(?:[\w-]+\s+){0,3}$", re.I)


def _special(question: str) -> bool:
    """True when the question says the patient has special healthcare needs (or a condition of
    their kinds), not denied ("no developmental delay")."""
    return any(not _DENIED_BEFORE.search(question[max(0, m.start() - 40):m.start()]) for m in _SPECIAL.finditer(question))
_BAND_ASKED = re.compile(
    r"\b(?P<term>%s)\s+(?:age\s+)?(?:ranges?|bands?|definitions?|age limits?|framing|frame|scope|cut-?offs?|limits?|"
    r"window|thresholds?)\b(?:\W+[\w'-]+){0,3}?\W+"
    r"(?:stretch\w*|extend\w*|widen\w*|expand\w*|cover|include|reach|appl(?:y|ies))\b" % "|".join(_TERMS.values()), re.I)
"""The question asks of the policy's band itself ("can the pediatric age ranges stretch to cover
them?"), not whether this patient is to be treated as the term."""
_MAY_ASKED = re.compile(r"\b(?:can|could|may|might)\b", re.I)
"""A question of possibility: the policy's "older ages may be appropriate" line answers yes."""


@dataclass(frozen=True)
class AgeBand:
    """An age band a policy writes beside a term."""

    policy_id: str
    clause_id: str
    term: str
    low: float
    high: float
    text: str


def age_bands(clauses: Iterable) -> list[AgeBand]:
    """Every (term, band) a clause writes: the term right before an age range (within a few
    words), e.g. "pediatrics (21 years of age or younger)"."""
    out = []
    for clause in clauses:
        text = clause.text
        for rx, how in _RANGES:
            for m in rx.finditer(text):
                before = text[max(0, m.start() - 40):m.start()]
                terms = list(_TERM.finditer(before))
                if not terms:
                    continue
                term = terms[-1].lastgroup
                if how == "le":
                    low, high = 0.0, float(m.group("hi"))
                elif how == "ge":
                    low, high = float(m.group("lo")), 200.0
                else:
                    low, high = float(m.group("lo")), float(m.group("hi"))
                out.append(AgeBand(clause.policy_id, clause.id, term, low, high, m.group(0)))
    return out


def age_asked(question: str) -> tuple[float, str] | None:
    """(age in years, term) when the question asks whether an age counts as a defined term."""
    age = _ASKED.search(question)
    if age is None:
        return None
    years = float(age.group("age") or age.group("age2") or age.group("age3"))
    band = _BAND_ASKED.search(question)
    if band is not None and (term := _TERM.match(band.group("term"))) is not None:
        return years, term.lastgroup
    # "is a 16-year-old an adolescent under HH?", "does HH consider a 22-year-old pediatric?":
    # the term right after the age, and nothing about coverage asked
    right_after = _APPOSED.match(question, age.end())
    term = _TERM.match(question, right_after.end()) if right_after else None
    if term is not None and _YES_NO.search(question) and not _COVERAGE_WORDS.search(question):
        return years, term.lastgroup
    # the age, then (within a few words) the counting verb, then the term it counts as
    verb = _COUNTS.search(question, age.end())
    if verb is None or verb.start() - age.end() > 60:
        return None
    term = _TERM.match(question, verb.end())
    if term is None:
        return None
    return years, term.lastgroup


_BEYOND = re.compile(
    r"\b(?:someone|somebody|anyone|anybody|any\s+(?:patient|member|person)|an?\s+(?:patient|member|person|individual)|"
    r"patients|members|people|individuals)\s+(?:who\s+is\s+|who's\s+|that\s+is\s+)?"
    r"(?:older\s+than|over|above|past|beyond)\s+(?:the\s+)?(?:age\s+(?:of\s+)?)?(?P<age>\d{1,2})\b", re.I)
"""Anyone past an age, not one patient's age ("can someone older than 21 be treated as a child?")."""
_AUXILIARY = re.compile(r"\b(?:can|could|may|might|would|will|should|does|do|is|are)\s+$", re.I)
"""The yes/no verb right before that subject."""


def beyond_asked(question: str) -> tuple[float, str] | None:
    """(age, term) when a yes/no question asks whether *anyone* past an age may count as a
    defined term ("Can someone older than 21 still be treated as a child?"): whether the
    policy allows it at all, not whether one patient qualifies."""
    found = _BEYOND.search(question)
    if found is None or not _AUXILIARY.search(question[:found.start()]) or _COVERAGE_WORDS.search(question):
        return None
    verb = _COUNTS.search(question, found.end())
    if verb is None or verb.start() - found.end() > 60:
        return None
    term = _TERM.match(question, verb.end())
    return (float(found.group("age")), term.lastgroup) if term is not None else None


def from_age(age: float, term: str, question: str, bands: Sequence[AgeBand], payers: dict[str, str],
             exceptions: dict[str, tuple[str, str]], *, beyond: bool = False) -> Verdict | None:
    """Per policy with a band for ``term``: yes (inside), no (outside), or it depends (outside
    but the policy writes that older ages may apply). ``exceptions``: policy → (clause id, text)
    of its "older ages may …" line. ``beyond``: the question asks of anyone older than ``age``
    (``beyond_asked``): no when the band ends at or before it with no such line, yes when the
    line allows older ages (only if, when the question does not name the patients the line
    names); no verdict for a band that reaches past the age. None when no policy asked has a
    band for the term."""
    claims, kinds = [], []
    for pid in dict.fromkeys(b.policy_id for b in bands):
        own = [b for b in bands if b.policy_id == pid and b.term == term]
        if not own:
            continue
        band = own[0]  # the first band the policy writes for the term (its own definition)
        who = f"{payers[pid]} ({pid})"
        years = f"{age:g}"
        if beyond:
            if band.high > age:
                return None  # some older ages are inside the band: not a yes/no
            if pid in exceptions and _applies_to(exceptions[pid][1]) == term:
                cid, line = exceptions[pid]
                special = _special(question)
                lead, kind = ("Yes", "yes") if special else ("Only for the patients it names", "only_if")
                text = f'{lead} — {who} writes "{band.text}" for {term} [{band.clause_id}], and "{line}" [{cid}].'
                ids = [band.clause_id, cid]
            else:
                text, kind = f'No — {who} writes "{band.text}" for {term}: older than {years} years is outside it [{band.clause_id}].', "no"
                ids = [band.clause_id]
            claims.append(VerdictClaim(text=text, clause_ids=ids))
            kinds.append(kind)
            continue
        if band.low <= age <= band.high:
            text, kind = f'Yes — {who} writes "{band.text}" for {term}: {years} years is within it [{band.clause_id}].', "yes"
            ids = [band.clause_id]
        elif pid in exceptions and age > band.high and _applies_to(exceptions[pid][1]) == term \
                and not _NO_SPECIAL.search(question):
            cid, line = exceptions[pid]
            special = _special(question)
            ids = [band.clause_id, cid]
            if special and _BAND_ASKED.search(question) and _MAY_ASKED.search(question):
                # asked whether the band itself may stretch, for the patients its own line names: it may
                # ("does it extend to him?" asks whether it does, and the line only says it may: it depends)
                text, kind = (f'Yes — {who} writes "{band.text}" for {term} [{band.clause_id}], and "{line}" [{cid}].',
                              "yes")
            else:
                text = (f'It depends — {who} writes "{band.text}" for {term} [{band.clause_id}], and "{line}" [{cid}]'
                        + ("" if special else f"; {years} years is outside the band otherwise") + ".")
                kind = "depends"
        else:
            text, kind = f'No — {who} writes "{band.text}" for {term}: {years} years is outside it [{band.clause_id}].', "no"
            ids = [band.clause_id]
        claims.append(VerdictClaim(text=text, clause_ids=ids))
        kinds.append(kind)
    return per_payer(claims, kinds, f"Whether {age:g} years counts as {term}, by payer:", "metadata")


def _applies_to(line: str) -> str | None:
    """The term an "older ages may be appropriate for children …" line widens (its own word)."""
    found = _TERM.search(line)
    return found.lastgroup if found else None


def older_ages(clauses: Iterable) -> dict[str, tuple[str, str]]:
    """Policy → (clause id, text) of its "older ages may be appropriate …" line."""
    out: dict[str, tuple[str, str]] = {}
    for clause in clauses:
        m = _OLDER.search(clause.text)
        if m and clause.policy_id not in out:
            out[clause.policy_id] = (clause.id, m.group(0).strip())
    return out


# --- "Does Florida Blue define any terms?" --------------------------------------------------------
_DEFINE_ASKED = re.compile(r"(?:^|[:,.]\s*)(?:does|do|did)\b[^?]*?\bdefines?\b(?P<rest>[^?]*)", re.I)
_NONE_DEFINED = re.compile(r"\bno\b[^.]{0,40}\bdefinitions?\b[^.]{0,20}\b(?:apply|applies|exist|are (?:given|provided))\b", re.I)
_QUOTED = re.compile(r"[‘'\"“](?P<term>[^'\"”’]{2,60})[’'\"”]")


def define_asked(question: str) -> list[str] | None:
    """The terms a "does <policy> define …?" question names (quoted; [] for "any terms"); None
    when it asks no such thing."""
    match = _DEFINE_ASKED.search(question)
    if match is None:
        return None
    return [m.group("term").strip().lower() for m in _QUOTED.finditer(match.group("rest"))]


def _slug(term: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", term.lower()).strip("-")


def from_defined(terms: Sequence[str], definitions: Mapping[str, Sequence[tuple[str, str]]],
                 payers: Mapping[str, str]) -> Verdict | None:
    """Per policy asked: no, when its definitions section says none apply; yes, when it has a
    definition of a term asked (its clause id names the term). None when neither holds for
    every policy asked (a term it does not define may still be explained elsewhere)."""
    claims, kinds = [], []
    for pid, payer in payers.items():
        own = definitions.get(pid, ())
        none = [(cid, text) for cid, text in own if _NONE_DEFINED.search(text)]
        defined = [(cid, t) for cid, _ in own for t in terms if cid.rsplit(".", 1)[-1] == _slug(t)]
        if {t for _, t in defined} != set(terms):
            defined = []  # yes only when every term asked is defined
        if none:
            cid, text = none[0]
            claims.append(VerdictClaim(text=f'No — {payer} ({pid}) writes "{text}" [{cid}].', clause_ids=[cid]))
            kinds.append("no")
        elif defined:
            ids = list(dict.fromkeys(cid for cid, _ in defined))
            claims.append(VerdictClaim(text=f"Yes — {payer} ({pid}) defines {' and '.join(repr(t) for t in terms)} {cite_ids(ids)}.",
                                       clause_ids=ids))
            kinds.append("yes")
        else:
            return None
    return per_payer(claims, kinds, "Whether each policy defines it, by payer:", "metadata")

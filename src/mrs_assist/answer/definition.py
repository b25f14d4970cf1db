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
    r"(?=(?:%s)\b(?:\s+(?:patient|member|person|individual|case)s?\b)?\s*(?:\?|$|,?\s*(?:under|per|for|by|according|in)\b))"
    % "|".join(_TERMS.values()), re.I)
"""Right after the age, the term it is asked to be ("a 16-year-old an adolescent?", "an 18 year old a
pediatric patient for HealthHelp?")."""
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
    line allows older ages (naming the patients the line names, when the question does not);
    no verdict for a band that reaches past the age. None when no policy asked has a
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
                # whether anyone past the age may count at all: the line says some may, so yes,
                # and the sentence names whom (the line's own words)
                lead = "Yes" if _special(question) else "Yes, for the patients it names"
                text, kind = f'{lead} — {who} writes "{band.text}" for {term} [{band.clause_id}], and "{line}" [{cid}].', "yes"
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
_DEFINE_ASKED = re.compile(r"(?:^|[:,.]\s*)(?:(?:does|do|did)\b[^?]*?\bdefines?|(?:has|have)\b[^?]*?\bdefined)\b(?P<rest>[^?]*)", re.I)
_NONE_DEFINED = re.compile(r"\bno\b[^.]{0,40}\bdefinitions?\b[^.]{0,20}\b(?:apply|applies|exist|are (?:given|provided))\b", re.I)
_QUOTED = re.compile(r"[‘'\"“](?P<term>[^'\"”’]{2,60})[’'\"”]")


_TERM_DEFINED = re.compile(
    # "is a neonate defined by Cohere?", "is the term 'neonatal' defined anywhere in …?"
    r"(?:^|[:,.]\s*)(?:is|are|was|were)\s+(?P<passive>[^?]{2,60}?)\s+(?:ever\s+|actually\s+|formally\s+)?defined\b(?!\s+as\b)"
    # "how does Cohere define a neonate?", "what is Cohere's definition of neonatal?"
    r"|\bhow\s+(?:does|do|did)\b[^?]*?\bdefines?\s+(?P<how>[^?]{2,60})"
    r"|\bdefinition\s+(?:of|for)\s+(?P<of>[^?]{2,60})"
    # "does Cohere give an age for a neonate?", "what age counts as a newborn for Cohere?"
    r"|\b(?:give|gives|set|sets|state|states|specify|specifies|write|writes|put|puts)\s+an?\s+(?:age|age\s+range|age\s+limit)\s+"
    r"(?:for|of|on)\s+(?P<age_of>[^?]{2,60})"
    r"|^\W*what\s+age\s+(?:is|counts\s+as|makes)\s+(?P<what_age>[^?]{2,60})"
    r"|\b(?:say|says|state|states|specify|specifies|tell|tells)\s+(?:us\s+)?what\s+age\s+(?P<say_age>[^?]{2,60})", re.I)
_HAS_DEFINITION = re.compile(
    r"(?:^|[:,.]\s*)(?:is\s+there|are\s+there|(?:does|do|did)\b[^?]{0,60}?\b(?:have|give|include|contain|provide|offer|carry))"
    # "is there a HealthHelp definition of …?", "a formal definition": words naming whose or what kind
    r"\s+(?:an?\s+|any\s+)?(?:[\w'’-]+\s+){0,3}?definitions?\s+(?:of|for)\s+(?P<term>[^?]{2,60})", re.I)
"""A yes/no question whether a definition exists ("is there a definition of ischemia in HealthHelp?"),
not an open request for it."""
_ANY_DEFINITIONS = re.compile(
    r"(?:^|[:,.]\s*)(?:is\s+there|are\s+there|(?:does|do|did)\b[^?]{0,60}?\b(?:have|give|include|contain|provide|list))"
    r"\s+(?:any\s+|its\s+own\s+|their\s+own\s+)?(?:[\w-]+\s+){0,2}?definitions\s*(?:section\s*)?(?:at\s+all\s*)?(?:\s(?:in|under|within|of)\s[^?]{0,60})?\?", re.I)
"""Whether a policy defines any term at all ("does Florida Blue have any guideline-specific definitions?")."""
_SAME_WORD = {"newborn": "neonate", "newborns": "neonate"}
"""A word a reader takes for the policy's own ("newborn" for its "neonatal")."""
_AGE_TERM = re.compile(r"\b(?:neonat\w*|newborns?|infan\w*|p(?:a)?ediatric\w*|child\w*|adolescen\w*|adults?|teen\w*|juvenile\w*)\b", re.I)
_INLINE = r"\s*\(?\s*(?:is\s+|are\s+)?(?:defined\s+as|means|refers\s+to)\b"
_TERM_LEAD = re.compile(r"^(?:the\s+(?:term|word)s?\s+|(?:what|who)\s+(?:an?\s+)?|an?\s+|the\s+)+", re.I)
_TERM_TAIL = re.compile(r"\s+(?:patients?|members?|people|populations?|cases?)\b.*$|\s+(?:is|are|means?|counts?|by|in|under|per|for|anywhere|at all|within|according)\b.*$", re.I)
_AGE_WORDS = re.compile(r"\d")


def _term(words: str) -> str:
    """The term itself, from the words around it ("the term 'neonatal'" → "neonatal",
    "what a neonate is" → "neonate")."""
    quoted = _QUOTED.search(words)
    if quoted is not None:
        return quoted.group("term").strip().lower()
    words = _TERM_TAIL.sub("", _TERM_LEAD.sub("", words.strip())).strip(" '\"‘’“”.,").lower()
    return _SAME_WORD.get(words, words)


def define_asked(question: str) -> list[str] | None:
    """The terms a definition question names: quoted ("does FB define 'repeat imaging'?"), or
    the words a "does <policy> define …", "is <term> defined …", "how does … define …" or
    "definition of …" question asks of ([] for "any terms"); None when it asks no such thing
    (a counting question, "is a 20-year-old defined as pediatric?", is an age question)."""
    match = _DEFINE_ASKED.search(question)
    if match is not None:
        quoted = [m.group("term").strip().lower() for m in _QUOTED.finditer(match.group("rest"))]
        if quoted:
            return quoted
        rest = re.sub(r"^\W*(?:(?:any|its|their|own)\s+)*(?:terms?|words?|definitions?)\b.*$", "", match.group("rest").strip(), flags=re.I)
        term = _term(rest)
        return [term] if term and not _AGE_WORDS.search(term) and len(term.split()) <= 4 else []
    if _ANY_DEFINITIONS.search(question):
        return []  # "does Florida Blue have any guideline-specific definitions?": any terms at all
    if (has := _HAS_DEFINITION.search(question)) is not None:
        return _asked_term(has.group("term"))  # "is there a definition of ischemia in …?": whether one exists
    asked = _TERM_DEFINED.search(question)
    if asked is None or not asked.group("passive"):
        return None  # "how does HealthHelp define …?" asks for the definition (``definition_sought``)
    return _asked_term(asked.group("passive"))


def definition_sought(question: str) -> list[str] | None:
    """The term an open definition question asks for ("how does Cohere define a neonate?",
    "what age counts as a newborn for Cohere?"); None for any other question. It gets a
    verdict only where no definition exists (the definition itself is quoted, not judged)."""
    asked = _TERM_DEFINED.search(question)
    if asked is None or asked.group("passive"):
        return None
    return _asked_term(next(g for g in asked.groups() if g))


def _asked_term(words: str) -> list[str] | None:
    term = _term(words)
    if not term or _AGE_WORDS.search(term) or len(term.split()) > 4 or term in ("it", "this", "that", "they"):
        return None
    return [term]


def _stems(term: str) -> list[re.Pattern[str]]:
    """One pattern per word of a term, on its first six letters ("neonate" and "neonatal"
    are one word to a reader)."""
    return [re.compile(rf"\b{re.escape(w[:6])}", re.I) for w in re.findall(r"[a-z0-9]+", term.lower()) if len(w) > 2]


def uses(term: str, text: str) -> bool:
    """True when ``text`` uses every word of ``term`` (on its stem)."""
    stems = _stems(term)
    return bool(stems) and all(p.search(text) for p in stems)


def _slug(term: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", term.lower()).strip("-")


def _defines(cid: str, text: str, term: str) -> bool:
    """A definition clause defines ``term`` when its id names it ("definitions.glioma") or its
    name part begins with the term's words ("definitions.pediatric-ages" for "pediatric")."""
    name = cid.rsplit("#", 1)[-1].split(".")[1] if "." in cid.rsplit("#", 1)[-1] else ""
    if re.match(rf"^[^.]{{0,80}}\(\s*{re.escape(term)}\s*\)", text, re.I):
        return True  # "Magnetic resonance spectroscopy (MRS) is …" defines "MRS"
    if bool(name) and uses(name.replace("-", " "), term) and re.match(rf"^\W*(?:an?\s+|the\s+)?{re.escape(term)}s?\b", text, re.I):
        return True  # "definitions.indeterminate" opens "Indeterminate findings are …": it defines "indeterminate findings"
    if bool(name) and uses(name.replace("-", " "), term) and _qualifies_a_study(name, term) \
            and re.match(rf"^\W*{'[- ]?'.join(map(re.escape, name.split('-')))}\b", text, re.I) \
            and any(_STUDY_NOUN.match(w) for w in re.findall(r"[a-z]+", text.split(".")[0].lower())):
        return True  # "definitions.non-diagnostic" opens "Non-diagnostic is a result …": it defines "a non-diagnostic MRI"
    return name == _slug(term) or (bool(name) and uses(term, name.replace("-", " ")) and uses(name.split("-")[0], term))


_STUDY_NOUN = re.compile(r"^(?:mri|mr|ct|scan|study|studies|imaging|image|result|finding|read|reading|report|exam)s?$", re.I)


def _qualifies_a_study(name: str, term: str) -> bool:
    """The term is the defined word qualifying a study or its result ("non-diagnostic MRI" of
    "non-diagnostic"): what the term adds to the name only says what the word is said of (and
    the definition, read by ``_defines``, says it of a result or finding too)."""
    rest = [w for w in re.findall(r"[a-z0-9]+", term.lower()) if w not in name.split("-")]
    return bool(rest) and all(_STUDY_NOUN.match(w) for w in rest)


def _band_term(term: str) -> str | None:
    """The band name a term asked is written as ("infancy" → 'infant'); None when none."""
    found = _TERM.search(term)
    return found.lastgroup if found else None


def from_defined(terms: Sequence[str], definitions: Mapping[str, Sequence[tuple[str, str]]],
                 payers: Mapping[str, str], used: Mapping[str, Sequence[tuple[str, str]]] | None = None,
                 *, undefined_only: bool = False, bands: Mapping[str, Sequence[AgeBand]] | None = None) -> Verdict | None:
    """Per policy asked: no, when its definitions section says none apply; yes, when it has a
    definition of a term asked (its clause id names the term); no, when it defines none of the
    terms but its criteria use them (``used``: policy → its clauses (id, text) that use the
    words, quoted so the reviewer sees what it does say); no, for an age term no clause of it
    uses at all, where it writes age bands of its own (``bands``: policy → its bands, cited).
    None when none of these holds for every policy asked (a term it does not define may still
    be explained elsewhere), or, with ``undefined_only`` (an open "how does it define …?"),
    when some policy asked defines it."""
    claims, kinds = [], []
    banded = 0  # claims answered from an age band
    for pid, payer in payers.items():
        own = definitions.get(pid, ())
        none = [(cid, text) for cid, text in own if _NONE_DEFINED.search(text)]
        defined = [(cid, t) for cid, text in own for t in terms if _defines(cid, text, t)]
        if {t for _, t in defined} != set(terms):
            defined = []  # yes only when every term asked is defined
        mentions = list((used or {}).get(pid, ()))[:2]
        if none:
            cid, text = none[0]
            claims.append(VerdictClaim(text=f'No — {payer} ({pid}) writes "{text}" [{cid}].', clause_ids=[cid]))
            kinds.append("no")
        elif defined:
            ids = list(dict.fromkeys(cid for cid, _ in defined))
            claims.append(VerdictClaim(text=f"Yes — {payer} ({pid}) defines {' and '.join(repr(t) for t in terms)} {cite_ids(ids)}.",
                                       clause_ids=ids))
            kinds.append("yes")
        elif terms and (inline := [(cid, text) for cid, text in mentions
                                   if all(re.search(rf"\b{re.escape(t)}{_INLINE}", text, re.I) for t in terms)]):
            # "Repeat imaging (defined as …)": the criterion defines its own term where it uses it
            cid, text = inline[0]
            claims.append(VerdictClaim(text=f'Yes — {payer} ({pid}) defines it where it uses it: "{text}" [{cid}].',
                                       clause_ids=[cid]))
            kinds.append("yes")
        elif own_term := [b for b in (bands or {}).get(pid, ()) if b.term in {_band_term(t) for t in terms}]:
            # "does HealthHelp define infant?": the age band it writes for the term is its definition
            band = own_term[0]
            claims.append(VerdictClaim(text=f'{"" if undefined_only else "Yes — "}{payer} ({pid}) writes "{band.text}" '
                                            f'for {band.term} [{band.clause_id}].',
                                       clause_ids=[band.clause_id]))
            kinds.append("yes")
            banded += 1
        elif terms and mentions:
            # "is a neonate defined by Cohere?": no definition (and so no age) is written; what it says is quoted
            said = "; ".join(f'"{text}" [{cid}]' for cid, text in mentions)
            claims.append(VerdictClaim(
                text=f"No — {payer} ({pid}) gives no definition of {' or '.join(repr(t) for t in terms)}"
                     + (" (and so no age for it)" if any(_AGE_TERM.search(t) for t in terms) else "")
                     + f"; it uses the word only as written: {said}.",
                clause_ids=[cid for cid, _ in mentions]))
            kinds.append("no")
        elif terms and used is not None and not used.get(pid) and all(_AGE_TERM.search(t) for t in terms) \
                and (own_bands := (bands or {}).get(pid)):
            # "does HealthHelp define neonate?": it never uses the word; the age terms it does define are cited
            ids = list(dict.fromkeys(b.clause_id for b in own_bands))
            named = ", ".join(dict.fromkeys(b.term for b in own_bands))
            claims.append(VerdictClaim(
                text=f"No — {payer} ({pid}) neither defines nor uses {' or '.join(repr(t) for t in terms)}; "
                     f"the age terms it defines are: {named} {cite_ids(ids)}.", clause_ids=ids))
            kinds.append("no")
        else:
            return None
    if undefined_only and "yes" in kinds:
        if kinds.count("yes") == banded == len(kinds):
            # "how does HealthHelp define an adolescent?": the band it writes is the answer, quoted (no yes/no asked)
            return per_payer(claims, ["quote"] * len(claims), "How each policy defines it, by payer:", "metadata")
        return None
    return per_payer(claims, kinds, "Whether each policy defines it, by payer:", "metadata")

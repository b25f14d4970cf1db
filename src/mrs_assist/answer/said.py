"""Questions a clause answers in its own words, by its shape rather than by the criteria:

- existence: "Is there an NCD or LCD that Florida Blue points to?" — no, where a clause says
  "No National Coverage Determination (NCD) and/or Local Coverage Determination (LCD) were found";
- other names: "A request says '1H-MRS' / 'proton spectroscopy' rather than MRS. Same service?" —
  yes, where a policy lists every quoted term among its "other names used to report" the study;
- conditions: "When will a repeat study be considered reasonable and necessary?" — only if one
  (or all) of the items of the clause that says "… if ANY of the following is TRUE:".

Each answers only when the clause's own shape answers; otherwise no verdict (None), and the
best clause is quoted as before.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from mrs_assist.answer.verdict import cite_ids, render
from mrs_assist.schemas import Citation, Verdict, VerdictClaim

# --- existence --------------------------------------------------------------------------------
_EXISTS_ASKED = re.compile(
    r"\b(?:is there|are there|does\s+(?:[\w'-]+\s+){1,4}?(?:have|point to|points to|cite|reference|name|use|apply)|"
    r"do\s+(?:[\w'-]+\s+){1,4}?(?:have|point to|cite|reference|apply))\b", re.I)
_NONE_FOUND = re.compile(
    r"\bNo\s+(?P<thing>[^.;:]{3,160}?)\s+(?:were|was|is|are|has been|have been)\s+"
    r"(?:found|identified|available|established|issued|published)\b[^.;]*")
_ACRONYM = re.compile(r"\b[A-Z]{2,6}\b")
_WORD = re.compile(r"[a-z]{4,}")
_STOP = frozenset({"that", "there", "does", "point", "points", "with", "from", "this", "which", "what", "member",
                   "needs", "need", "under", "have", "found", "were"})


def exists_asked(question: str) -> bool:
    """True when the question asks whether something exists ("is there", "does FB point to")."""
    return bool(_EXISTS_ASKED.search(question))


def _shares(question: str, thing: str) -> bool:
    """The thing the clause says does not exist is the one asked about: an acronym of it, or
    two of its words, in the question."""
    acronyms = set(_ACRONYM.findall(thing)) & set(_ACRONYM.findall(question)) - {"MRS", "MRI", "CT"}
    words = set(_WORD.findall(thing.lower())) & set(_WORD.findall(question.lower())) - _STOP
    return bool(acronyms) or len(words) >= 2


def from_none_found(question: str, payer: str, citation: Citation) -> Verdict | None:
    """No, in the clause's words, when it says the thing asked about was not found; else None."""
    for match in _NONE_FOUND.finditer(citation.text):
        if _shares(question, match.group("thing")):
            text = f'No — {payer} ({citation.policy_id}) writes: "{match.group(0).strip()}" [{citation.clause_id}].'
            return render("", [VerdictClaim(text=text, clause_ids=[citation.clause_id])], "clause", "no")
    return None


# --- other names ------------------------------------------------------------------------------
_SAME_ASKED = re.compile(
    r"\b(?:same (?:service|thing|study|test|procedure|exam|examination|code)|same as|another name|other names?|"
    r"synonyms?|equivalents?|interchangeabl\w*|also (?:called|known as)|(?:mean|refer to) the same)\b", re.I)
_DIFFERENT_ASKED = re.compile(
    r"\b(?:different|separate|distinct)\s+(?:service|thing|study|test|procedure|exam|examination|code)s?\b"
    # "is 'MRSI' distinct from MR spectroscopy?": set apart from the study itself, not from another payer's policy
    r"|\b(?:different|distinct|separate)\s+from\s+(?:the\s+)?(?:MRS|MR\s+spectroscopy|magnetic\s+resonance\s+spectroscopy|"
    r"spectroscopy|(?:CPT\s+)?76390)\b", re.I)
"""The same question asked the other way round ("is MRSI a different service from MRS?"): a listed name says no."""
_QUOTED = re.compile(r"(?<![\w])[‘'\"“](?P<term>[^'\"”’\n]{2,60}?)[’'\"”](?![\w])")
NAMES_LIST = re.compile(r"\b(?:other names|names used|also (?:called|known as)|synonyms?|other terms)\b", re.I)
"""A list clause that gives the study's other names."""


_REPORTED_AS = re.compile(r"\b(?:report(?:ed|s)?|billed|coded|recogni[sz]ed?|accept(?:ed|s)?)\s+as\b", re.I)


def names_asked(question: str) -> bool:
    """True when a question asks whether a term names the same service ("Does Florida Blue list
    NMR spectroscopy as another name for MRS?", "Is MRSI reported as MRS?")."""
    return bool(_SAME_ASKED.search(question) or _REPORTED_AS.search(question) or _DIFFERENT_ASKED.search(question))


def different_asked(question: str) -> bool:
    """True when the question asks whether a term names a *different* service than the study."""
    return bool(_DIFFERENT_ASKED.search(question)) and not _SAME_ASKED.search(question)


def _bare(text: str) -> str:
    """An item's name without its parenthesis ("NMR (nuclear magnetic resonance) spectroscopy" → "NMR spectroscopy")."""
    return re.sub(r"\s*\([^)]*\)", "", text.strip().rstrip(";,.")).strip()


def listed_names(question: str, items: Sequence[Citation]) -> list[str]:
    """The names of a names list that an unquoted yes/no question uses: each item whole, without
    its parenthesis, or the parenthesis alone ("NMR spectroscopy", "MRSI"); longest first, none
    inside another; [] for a question that asks what or when ("What other names …, e.g. MRSI?")."""
    asking = [p for p in re.split(r"(?<=[.!?])\s+", question.strip()) if p.strip()][-1:]
    if not asking or not _YES_NO.search(asking[0]):
        return []
    found: list[str] = []
    for item in items:
        text = item.text.strip().rstrip(";,.")
        inner = re.findall(r"\(([^)]{2,60})\)", text)
        for name in sorted({text, _bare(text), *inner}, key=len, reverse=True):
            if len(name) >= 3 and _names(question, name) and not any(name.lower() in f.lower() for f in found):
                found.append(name)
    return found


def same_asked(question: str) -> list[str]:
    """The quoted terms of a question asking whether they name the same service; [] otherwise.
    A quote that writes two names apart with a spaced slash ("'1H-MRS / proton spectroscopy'")
    gives each name: each must be a listed name."""
    if not _SAME_ASKED.search(question) and not _DIFFERENT_ASKED.search(question):
        return []
    return [t.strip() for m in _QUOTED.finditer(question) for t in re.split(r"\s+/\s+", m.group("term")) if t.strip()]


def _names(text: str, term: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(term)}(?![\w-])", text, re.I) is not None


def from_other_names(terms: Sequence[str], lists: Sequence[tuple[str, Citation, Sequence[Citation]]],
                     *, different: bool = False) -> Verdict | None:
    """Yes, per policy whose names list (``lists``: payer, parent clause, items) names every
    quoted term (no, when ``different``: the question asks whether they name another service);
    None when no policy's list names them all."""
    claims = []
    for payer, parent, items in lists:
        found = [next((i for i in items if _names(i.text, t) or _names(_bare(i.text), t)), None) for t in terms]
        if not terms or None in found:
            continue
        ids = [parent.clause_id, *dict.fromkeys(i.clause_id for i in found)]
        named = " and ".join(f"'{t}'" for t in terms)
        lead = "No — the same service by another name:" if different else "Yes —"
        text = (f'{lead} {payer} ({parent.policy_id}) lists {named} among "{parent.text.rstrip(":")}" '
                f"{cite_ids(ids)}.")
        claims.append(VerdictClaim(text=text, clause_ids=ids))
    if not claims:
        return None
    asked = "a different service" if different else "the same service"
    return render("" if len(claims) == 1 else f"Whether they name {asked}, by payer:", claims, "list",
                  "no" if different else "yes")


# --- conditions -------------------------------------------------------------------------------
_CONDITIONS_ASKED = re.compile(
    r"(?:^|[:,.;—-]\s*)(?:when|under what (?:conditions|circumstances)|in what (?:cases|situations|circumstances)|"
    r"what (?:conditions|criteria) (?:must|have to|need to))\b", re.I)
_CONDITIONAL = re.compile(r"\b(?:if|when)\s+(?P<q>ANY|ALL|one|each|all|any)\s+of\s+the\s+following\b", re.I)


def conditions_asked(question: str) -> bool:
    """True when the question asks under what conditions something holds ("when will … be considered …?")."""
    return bool(_CONDITIONS_ASKED.search(question.strip()))


def from_conditions(payer: str, parent: Citation, items: Sequence[Citation]) -> Verdict | None:
    """Only if ANY (or ALL) of the items, when the parent clause states its items as the
    condition ("… will be considered reasonable and necessary if ANY of the following is TRUE:");
    None otherwise."""
    match = _CONDITIONAL.search(parent.text)
    if match is None or not items:
        return None
    every = match.group("q").lower() in ("all", "each")
    lead = (f'Only if {"all" if every else "any"} of the following — {payer} ({parent.policy_id}): '
            f'"{parent.text.rstrip(":")}" [{parent.clause_id}]')
    rows = [VerdictClaim(text=f"{i.text.strip().removesuffix('; OR').removesuffix('; AND').rstrip(';')} [{i.clause_id}]",
                         clause_ids=[i.clause_id]) for i in items]
    verdict = render(lead, rows, "list", "only_if")
    return verdict.model_copy(update={"claims": [VerdictClaim(text=lead, clause_ids=[parent.clause_id]), *rows]})


# --- literature as the basis of a decision ------------------------------------------------------
_BASIS_ASKED = re.compile(
    r"\b(?:cit(?:e|es|ed|ing)|on (?:that|this|its|the digest's) basis|(?:the )?basis (?:for|of)|as (?:the |my |our |your |a |[\w-]+['’]s\s+)?(?:(?:approval|coverage|review|medical[- ]necessity)\s+)?(?:criteria|criterion|rules|"
    r"basis|grounds|authority)|justif\w+|rel(?:y|ies|ying) on|"
    r"(?:approve|deny|authori[sz]e|decide)\s+(?:it\s+)?(?:off|based on|on the strength of|because of)\s+(?:that|this|it|the digest|the article)|"
    # "can I approve cord MRS using it?"
    r"(?:approve|deny|authori[sz]e|decide)\s+(?:[\w-]+\s+){0,4}?(?:using|with|by|per)\s+(?:that|this|it|the digest|the article)(?=\s*[?.,])|"
    # "does the digest give criteria I can use to approve …?": the document asked for criteria of its own
    # "is the digest a coverage policy?": whether the document is one at all
    r"(?:is|are)\s+(?:the\s+|this\s+|that\s+|it\s+)?(?:[\w'’-]+\s+){0,3}?an?\s+(?:coverage|medical|clinical|payer|binding)\s+"
    r"(?:polic(?:y|ies)|guidelines?|criteria)|"
    r"(?:give|gives|set|sets|provide|provides|offer|offers|contain|contains|have|has|establish\w*|lay|lays)\s+(?:out\s+)?"
    r"(?:any\s+|its\s+own\s+|usable\s+)?(?:coverage\s+|approval\s+|clinical\s+|medical[- ]necessity\s+)?"
    r"(?:criteria|criterion|rules)|criteria\s+(?:that\s+)?(?:i|we|you|a reviewer|reviewers)\s+(?:can|could|may)\s+use)\b",
    re.I)
_GUIDELINES = re.compile(r"\bclinical guidelines?\b", re.I)
_TOPIC = re.compile(r"[a-z]{4,}")
_COMMON = frozenset({"magellan", "digest", "article", "approve", "approving", "reviewer", "request", "requests",
                     "basis", "cite", "cites", "citing", "criteria", "guideline", "guidelines", "clinical", "with",
                     "that", "this", "before", "patient", "justify", "deny",
                     # the asking verbs ("does the digest give criteria …"), not the topic
                     "does", "give", "gives", "provide", "provides", "offer", "offers", "contain", "contains",
                     "have", "would", "could", "should", "there", "what", "which"})


_CRITERIA_OWNER = re.compile(
    r"\b(?:as|into|for)\s+(?:the\s+)?[\w&-]+(?:\s+[\w&-]+){0,2}?['’]s\s+(?:[\w-]+\s+){0,2}?(?:criteria|criterion|rules|polic(?:y|ies))\b",
    re.I)


def without_criteria_owner(question: str) -> str:
    """The question less the payer it names only as the owner of the criteria a document would
    be used as ("use the digest as NIA's coverage criteria?" asks of the digest, not of NIA)."""
    return _CRITERIA_OWNER.sub(" ", question)


def basis_asked(question: str) -> bool:
    """True when the question asks whether a document may be the basis of a decision ("can I
    cite the digest to approve …?")."""
    return bool(_BASIS_ASKED.search(question))


def from_literature_basis(question: str, payer: str, sections: dict[str, list[Citation]]) -> Verdict | None:
    """No: a literature document is no source of criteria (DESIGN) — said with its own sentence
    on what its clinical guidelines include, from the section on the question's topic
    (``sections``: section id → its clauses), else its first such sentence (a question of no
    topic: "can I deny a request by citing the digest?"); None when it writes none."""
    asked = set(_TOPIC.findall(question.lower())) - _COMMON
    best, share, first = None, 0, None
    for clauses in sections.values():
        words = {w for c in clauses for w in _TOPIC.findall(c.text.lower())}
        stated = [(c, m) for c in clauses for m in re.finditer(r"[^.]*\bclinical guidelines?\b[^.]*\.", c.text)]
        first = first or (stated[0] if stated else None)
        if stated and len(asked & words) > share:
            best, share = stated[0], len(asked & words)
    best = best or first
    if best is None:
        return None
    clause, sentence = best
    text = (f"No — {payer} ({clause.policy_id}) is literature, not a coverage policy, and never a source of criteria; "
            f'it writes: "{sentence.group(0).strip()}" [{clause.clause_id}].')
    return render("", [VerdictClaim(text=text, clause_ids=[clause.clause_id])], "clause", "no")


# --- whose responsibility ---------------------------------------------------------------------
_RESPONSIBILITY = re.compile(
    r"(?P<thing>[^.;:]{8,200}?)\s+(?:is|are)\s+the\s+responsibility\s+of\s+(?:the\s+)?(?P<party>[^.;,]{3,60})", re.I)
_SUBJECT_VERB = re.compile(
    r"(?:^|[:,—-]\s*)(?:is|are|does|do|will|would|can|could|should|must|may)\s+(?P<subject>[^?]{1,80}?)\s+"
    r"(?:be\s+)?(?P<verb>pa(?:y|ys|id|yable)|reimburs\w*|cover\w*|bear|absorb\w*|responsible|liable|bill\w*|charg\w*)\b", re.I)
_WHOSE = re.compile(r"\bresponsib\w*|\bliable\b", re.I)
_BILLS = re.compile(r"^(?:bill|charg)", re.I)
_OWN = re.compile(r"[a-z]{4,}")
_YES_NO = re.compile(r"^\s*(?:[^?]{0,60}?[:,—-]\s*)?(?:is|are|does|do|did|can|could|should|will|would|must|may)\b", re.I)
_BARE = re.compile(r"^\s*(?P<word>(?:re-?)?(?:pa(?:y|id)|reimburs|cover|bill|charg)\w*)\s*(?:then|too|here|now)?\s*\?\s*$", re.I)
"""A sentence (or its last fragment) that asks by a predicate alone ("Reimbursable?", "… - billable?"):
of the thing stated before it."""
_THING_STOP = frozenset({"additional", "imaging", "exam", "exams", "study", "studies", "that", "this", "with", "from"})


_REPEAT = re.compile(r"\b(?:re-?(?:imag\w*|scan\w*|do|done|peat\w*|run)|second|another|additional|again)\b", re.I)


def repeat_named(question: str) -> bool:
    """The question speaks of a repeat study ("the site repeats it", "a second study"): what a
    clause on whose responsibility re-imaging is may answer, even beside a stated case."""
    return bool(_REPEAT.search(question))


def responsibility_clauses(clauses) -> list[tuple[str, str, str, str, str]]:
    """(policy id, clause id, sentence, thing, party) for every sentence that says something is
    the responsibility of a party ("Re-imaging … due to … technically limited exam is the
    responsibility of the imaging provider")."""
    return [(c.policy_id, c.id, m.group(0).strip(), m.group("thing"), m.group("party").strip())
            for c in clauses for m in _RESPONSIBILITY.finditer(c.text)]


def from_responsibility(question: str, found: Sequence[tuple[str, str, str, str, str]], payers: dict[str, str]) -> Verdict | None:
    """Yes / no from a clause saying whose responsibility the thing asked about is: "Will Florida
    Blue reimburse the re-scan?" no; "Is the re-imaging the imaging provider's responsibility?" yes;
    "Can the provider bill for it?" no. None when no such clause of the policies asked shares
    the thing's words, or the question is no yes/no question about paying or responsibility."""
    asking = [p for p in re.split(r"(?<=[.!?])\s+", question.strip()) if p.strip()][-1:]
    if asking and (bare := _BARE.match(re.split(r"\s[-–—]+\s|[,:;]\s", asking[0])[-1])):
        asking = [f"Is it {bare.group('word')}?"]  # "… a second study. Reimbursable?" asks it of what was stated
    if not asking or not asking[0].rstrip().endswith("?") or not _YES_NO.search(asking[0]):
        return None  # "who is responsible for the re-imaging?" asks for a party, not yes or no
    words = set(_OWN.findall(question.lower()))
    for pid, cid, sentence, thing, party in found:
        if pid not in payers or len(words & (set(_OWN.findall(thing.lower())) - _THING_STOP)) < 2:
            continue
        party_words = set(_OWN.findall(party.lower()))
        asked = _SUBJECT_VERB.search(asking[0])
        if asked is not None:
            by_party = bool(party_words & set(_OWN.findall(asked.group("subject").lower())))
            # the party itself pays / bears it: yes; anyone else pays, or anyone bills for it: no
            claim = "no" if _BILLS.match(asked.group("verb")) else ("yes" if by_party else "no")
        elif _WHOSE.search(asking[0]) and party_words & words:
            claim = "yes"  # "is re-imaging the imaging provider's responsibility?"
        else:
            continue
        text = f'{"Yes" if claim == "yes" else "No"} — {payers[pid]} ({pid}) writes: "{sentence}" [{cid}].'
        return render("", [VerdictClaim(text=text, clause_ids=[cid])], "clause", claim)
    return None


# --- a part of a policy named as the source ---------------------------------------------------
_PART_ASKED = re.compile(
    r",?\s*\b(?:according to|per|in|under|from|by)\s+(?:the\s+)?(?:[\w&'’-]+\s+){0,3}?"
    r"(?P<part>notices?|disclaimers?|copyright\s+(?:notices?|lines?)|trademark\s+notices?)\b"
    # "Cohere notices: does the AMA …?": the part heads the question
    r"|^\s*(?:[\w'’-]+\s+){0,3}?(?:notices?|disclaimers?)\s*[:—–-]\s*", re.I)
"""'… according to Cohere's notices?': the question names the part of the policy that answers."""
_CODE = re.compile(r"\b(?:for\s+)?(?:(?P<cpt>CPT)\s*(?:code\s*)?)?\+?\d{4}[0-9T]\b", re.I)


_DOCUMENT_WORDS = re.compile(r"\b(?:polic(?:y|ies)|guidelines?|MCG|via)\b", re.I)


def part_asked(question: str) -> tuple[str, str] | None:
    """(clause kind, the question without the part's phrase) when a question names a notice or
    disclaimer as its source (``without_codes``); None otherwise."""
    match = _PART_ASKED.search(question)
    if match is None:
        return None
    return "notice", without_codes(question[:match.start()] + question[match.end():])


def without_codes(question: str) -> str:
    """The question with a code number it asks of read as "CPT" (a notice speaks of CPT as a whole)."""
    return _CODE.sub(lambda m: " CPT" if m.group("cpt") else " ", question)


def without_names(text: str, names: Sequence[str]) -> str:
    """``text`` without the names given (a payer's, its aliases) or the words that name a
    document as such ("policy", "guideline", "via"): what is asked *of* the document, not about it."""
    for name in sorted(names, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(name)}(?:['’]s)?(?!\w)", " ", text, flags=re.I)
    return _DOCUMENT_WORDS.sub(" ", text)

"""Requirement questions: "Does HealthHelp require a non-diagnostic MRI for every indication,
e.g. MS?" is answered about the requirement, not about coverage of MS.

The criteria matrix already knows, per policy and indication, which facts a covered
indication requires (``CompareCell.condition_facts``). A requirement question names one of
those facts with a requirement verb; the verdict says, per policy, whether that fact is
required — for the indications the question names, or across every listed indication.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mrs_assist.answer.verdict import MatrixCell, cite_ids, render
from mrs_assist.schemas import Verdict, VerdictClaim

REQUIRE = re.compile(
    r"\b(?:requir\w*|need(?:s|ed)? (?:to (?:be|have|show)|an?|the)|"
    # "does Cohere need conventional imaging to be inconclusive?": what is needed, then its state
    r"need(?:s|ed)?\s+(?=(?!to\b)[\w'’ -]{2,40}?\s+to\s+(?:be|have|show)\b)|must|have to|has to|prerequisite|mandator\w*|"
    r"a condition (?:of|for)|"
    # "is MRS for MS covered only when the MRI is non-diagnostic?": what follows is asked as required
    # (of the coverage asked, not a plan the case states: "they will order MRS only if …")
    r"(?:covered|cover|covers|approved|approve|allowed|appropriate|necessary|indicated|eligible)\s"
    r"(?:[^.;?]{0,40}?\s)?only\s+(?:when|if|once|after)|"
    # "does she no longer qualify because she's not a neonate now?": what she is not is asked as required
    r"(?:qualif\w*|eligib\w*|covered|approv\w*)\s+(?:[\w'’-]+\s+){0,3}?because\s+(?:she|he|they|it|the\s+(?:patient|child|member))"
    r"(?:'s|’s|\s+is|\s+are|\s+was)?\s*(?:not|no\s+longer|isn't|isn’t|aren't|wasn't))\b",
    re.I,
)
SUFFICE = re.compile(
    r"\b(?:by itself|on its own|alone|in itself|per se)\b[^?]*?\b(?:enough|sufficient|suffices?|qualif\w*)\b"
    r"|\b(?:is|are|would|will|does)\s+(?!there\b|it\b)(?:an?\s+|the\s+)?(?:[\w/-]+\s+){1,5}?"
    r"(?:(?:by itself|on its own|alone)\s+)?(?:enough|sufficient|suffices?)"
    r"(?=\s*(?:[?,.;:]|$|(?:to|for|under|by|alone|on|in|with|when|if)\b))",
    re.I,
)
"""A sufficiency question ("is an inconclusive MRI on its own enough to approve?"): is the
condition all a payer asks, or does it require more?"""
EVERY = re.compile(r"\b(?:every|all|always|each|any)\b(?:\s+\w+){0,2}\s+(?:indications?|conditions?|uses?|requests?|cases?)\b"
                   r"|\b(?:always|in every case|regardless)\b", re.I)
_COVERED = ("covered", "covered_if")


@dataclass(frozen=True)
class Requirement:
    """A requirement question as read: the fact asked about and whether it asks 'for every indication'."""

    facts: tuple[str, ...]
    """Candidate facts the words name ("known brain tumor" names a known tumor and a mass)."""
    labels: dict[str, str]
    every: bool
    fact: str = ""
    label: str = ""
    sufficient: bool = False
    """It asks whether the fact is enough, not whether it is required."""
    hedged: str = ""
    """The hedge a sufficiency question puts on the fact ("is a *suspected* tumor enough?"): what
    is asked is the unconfirmed form of a known condition ('' when none)."""

    def resolved(self, preferred: Sequence[str]) -> Requirement:
        """The requirement on one fact: the first candidate among ``preferred`` (what the
        indications asked about require), else the last candidate (the most specific words)."""
        facts = self.facts
        if self.hedged:  # "is a suspected X enough?" asks of the fact a policy requires known, not one it accepts suspected
            facts = tuple(sorted(facts, key=lambda f: not re.search(r"\bsuspected\b", self.labels[f], re.I)))
        fact = next((f for f in facts if f in preferred), facts[-1])
        return Requirement(facts, self.labels, self.every, fact, self.labels[fact], self.sufficient, self.hedged)


_ALTERNATIVE = re.compile(r",?\s+or\s+(?=(?:is|are|must|does|do|can|could|has|have|should|will|would)\b)", re.I)


def first_alternative(question: str) -> str:
    """An either-or question's first alternative ("must it be known, or is a suspected mass
    enough?" → "must it be known"): a yes / no verdict answers that one."""
    return _ALTERNATIVE.split(question, maxsplit=1)[0]


def is_sufficiency(question: str) -> bool:
    """It asks whether something is enough (in its first alternative)."""
    return bool(SUFFICE.search(first_alternative(question)))


_HEDGED = re.compile(
    r"\b(?:is|are|would|will|does|do|can|could|may|might|should)\s+(?:an?\s+|the\s+)?(?:\w+ly\s+)?(?P<hedge>suspected|possible|probable|presumed|presumptive|"
    r"likely|questionable|potential|unconfirmed|undiagnosed|unproven)\s+(?P<x>(?:[\w/-]+\s+){0,3}?[\w/-]+)\s+"
    r"(?:(?:by itself|on its own|alone)\s+)?(?:be\s+)?(?:enough|sufficient|suffices?|count|qualif\w*)\b", re.I)


def hedged_subject(question: str) -> tuple[str, str] | None:
    """(hedge, the condition as known) of a sufficiency question about an unconfirmed condition
    ("is a suspected tumor enough for criterion 1?" → ('suspected', 'known brain tumor')): what a
    policy requires known is asked in its unconfirmed form; None otherwise."""
    match = _HEDGED.search(first_alternative(question))
    if match is None:
        return None
    return match.group("hedge").lower(), _as_known(match.group("x"))


_STATUS = re.compile(r"^\W*(?:be|been|have been)\s+(?:\w+\s+)?(?:known|diagnosed|confirmed|established|proven|documented)\b",
                     re.I)
"""What follows the requirement verb asks only whether its subject is known ("… have to be
already known?"): the subject is what is required, as known."""
_SUBJECT = re.compile(r"\b(?:does|do|did|must|should|would|will)\s+(?P<subject>(?:the|a|an|this|that|its)\s+[^?,;]{2,60}?)\s*$",
                      re.I)


_DENIED_BECAUSE = re.compile(
    r"\b(?:den(?:y|ies|ied|ial)|refus\w*|reject\w*|turn(?:s|ed)?\s+down|not\s+(?:be\s+)?(?:covered|approved|authori[sz]ed))\b"
    r"[^?]{0,60}?\b(?:because|since|given\s+that|due\s+to|for\s+lack\s+of|on\s+the\s+grounds?\s+that|when|if|without)\s+(?P<why>[^?]{3,100})"
    r"|\b(?:lack|absence)\s+of\s+(?P<lacking>[^?]{2,60}?)\s+(?:mean|lead|result|cause|get|trigger)\w*\b[^?]*\b(?:den(?:y|ies|ied|ial)|refus\w*|reject\w*)",
    re.I)
"""A denial asked for a reason ("would it be denied because the tumor is not known yet?", "does the
lack of a diagnosis mean a denial?"): the question is whether what is missing is required."""
_KNOWN = r"known|diagnosed|confirmed|established|proven|documented|identified|characteri[sz]ed"
_WHO = r"(?:she|he|they|it|the\s+(?:patient|child|member|kid|baby|infant))"
_NOT_STATE = re.compile(
    rf"^(?:{_WHO}\s*(?:'s|’s|\s+is|\s+are|\s+was)\s*(?:not|no\s+longer|n't)\s+(?P<is>.+)"
    r"|(?:the|a|an|this|that|its|her|his|their)?\s*(?P<x>[\w' -]{2,40}?)\s*(?:\s(?:is|was|has|have|had)(?:\s+not|n't)|\s+isn't|\s+hasn't|\s+wasn't)"
    rf"\s+(?:yet\s+)?(?:been\s+)?(?:yet\s+)?(?P<state>[\w-]+)(?:\s+(?:as|to\s+be)\s+(?:an?\s+)?(?P<as>[\w-]+))?)",
    re.I)
_NO_X = re.compile(
    rf"^(?:there\s+(?:is|was|are|has\s+been|have\s+been)\s+)?(?:no|not\s+an?|never\s+an?|without\s+(?:an?\s+)?|a\s+lack\s+of\s+(?:an?\s+)?)\s*"
    rf"(?P<x>[\w' -]{{2,40}}?)(?:\s+(?:has|have|had|was|is|were)\s+(?:yet\s+)?(?:been\s+)?(?P<state>{_KNOWN}))?(?:\s+(?:yet|so far|at this point))?\s*$",
    re.I)
_DIAGNOSIS = re.compile(r"\s+(?:diagnosis|dx|confirmation)$", re.I)
_REQUIRED_KNOWN = re.compile(
    rf"^\s+(?:that\s+)?(?P<x>(?:the|a|an|this|its|their)\s+[\w' -]{{2,40}}?)\s+"
    rf"(?:is|be|was|are|has\s+been|have\s+been|to\s+be|to\s+have\s+been)\s+(?:already\s+|first\s+|previously\s+)?(?:{_KNOWN})\b",
    re.I)
"""What a "require" asks to be known, after the verb ("require that the tumor is already known",
"require the lesion to be diagnosed"): its subject, as known."""


def _as_known(what: str) -> str:
    """'known brain tumor' for 'tumor': the catalogue's words for a diagnosed condition (every
    guideline asked about is a brain guideline)."""
    what = re.sub(r"^(?:the|a|an|any)\s+", "", what.strip(), flags=re.I)
    return "known " + (what if re.search(r"\bbrain\b", what, re.I) else f"brain {what}")


def denial_reason(question: str) -> str:
    """The words naming what a "denied because … not …" question says is missing ("known brain
    tumor" of "… because the tumor is not known yet", "inconclusive MRI" of "… because the MRI
    was not inconclusive"); '' when it asks no denial for a reason."""
    match = _DENIED_BECAUSE.search(question)
    if match is None:
        return ""
    if match.group("lacking"):
        lacking = match.group("lacking")
        return _as_known(_DIAGNOSIS.sub("", lacking)) if _DIAGNOSIS.search(lacking) else lacking
    why = match.group("why").strip(" .")
    if (no := _NO_X.match(why)) is not None:
        x = no.group("x")
        if x.lower().startswith("known "):  # "no known tumor"
            return _as_known(x[6:])
        return _as_known(x) if no.group("state") or _DIAGNOSIS.search(x) and (x := _DIAGNOSIS.sub("", x)) else x
    if (state := _NOT_STATE.match(why)) is not None:
        if state.group("is"):
            return state.group("is")  # "because she is not a neonate": a neonate
        x, word = state.group("x"), state.group("state")
        if re.fullmatch(_KNOWN, word, re.I):
            return _as_known(state.group("as") or x)  # "the mass has not been diagnosed as a tumor": a known tumor
        return f"{word} {x}"  # "the MRI was not inconclusive": an inconclusive MRI
    return ""


_KNOWN_UNPLACED = re.compile(
    rf"\b(?P<known>{_KNOWN})\s+(?!brain\b)(?=(?:tumou?rs?|mass(?:es)?|lesions?|neoplasms?)\b)", re.I)


def _in_the_brain(words: str) -> str:
    """``words`` with a known tumor, mass or lesion placed in the brain ("a known tumor" → "a known
    brain tumor"): every guideline asked about is a brain guideline, and the catalogue's words say so."""
    return _KNOWN_UNPLACED.sub(lambda m: f"{m.group('known')} brain ", words)


def requirement_words(question: str) -> str:
    """The words that can name what is required: the whole question for 'require(d)' or a
    sufficiency question, else what follows 'must' / 'have to' / 'need to' ("does the tumor
    have to have been treated" asks about treatment, not the tumor), with the subject before
    the verb when what follows asks only whether it is known ("does the brain tumor have to be
    already known?"); '' when it asks no requirement. A sufficiency question is read by its
    first alternative. A known tumor is a known brain tumor."""
    return _in_the_brain(_requirement_words(question))


def _requirement_words(question: str) -> str:
    if hedged := hedged_subject(question):
        # "is a suspected tumor enough?": the known tumor a policy requires, beside the words asked
        return f"{first_alternative(question)} {hedged[1]}"
    if is_sufficiency(question):
        return first_alternative(question)
    if reason := denial_reason(question):
        return reason
    match = REQUIRE.search(question)
    if match is None:
        return ""
    if match.group(0).lower().startswith(("requir", "prerequisite", "mandator", "a condition")):
        if (known := _REQUIRED_KNOWN.match(question[match.end():])) is not None:
            return _as_known(known.group("x"))  # "require that the mass is already diagnosed": the mass, as known
        return question  # "is an inconclusive MRI a prerequisite?": what is required comes before the word
    rest = question[match.end():]
    subject = _SUBJECT.search(question[:match.start()])
    # "need to be" carries its own "be": what follows may be the status word itself
    status = _STATUS.match(("be " if match.group(0).lower().endswith(" be") else "") + rest.lstrip())
    if subject is not None and status is not None:  # "known the brain tumor": the subject, as known
        what = re.sub(r"^(?:the|a|an|this|that|its)\s+", "", subject.group("subject"), flags=re.I)
        if not re.search(r"\bbrain\b", what, re.I):
            what = f"brain {what}"  # every guideline asked about is a brain guideline: "the tumor" is a brain tumor
        return f"known {what}"  # the catalogue's word for a diagnosed condition
    return rest


_NUMBERED = re.compile(
    r"\b(?:criterion|indication|item|number|no\.)\s*#?\s*(?P<n>\d{1,2}(?:\.[a-z]{1,4})?)\b"
    r"|\b(?P<ord>first|second|third|fourth|fifth|sixth|seventh|eighth)\s+(?:listed\s+)?(?:indication|criterion)\b",
    re.I)
_ORDINALS = {w: str(i) for i, w in enumerate(("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"), 1)}


def numbered_criterion(question: str) -> str | None:
    """The number of the indication a question names by its place in the list ("HealthHelp
    criterion 1", "NIA's first indication", "item 4"): '1', '4', '2.a'; None when it names none
    (a non-indication is not an indication: "non-indication 1" names none)."""
    for match in _NUMBERED.finditer(question):
        if re.search(r"non-?\s?$", question[:match.start()], re.I):
            continue
        return match.group("n").lower() if match.group("n") else _ORDINALS[match.group("ord").lower()]
    return None


_CRITERION_SUBJECT = re.compile(
    r"(?:\b(?:the|its|their|this|that)\s+|['’]s\s+)(?P<x>[a-z][\w-]*(?:\s+[a-z][\w-]*){0,2}?)\s+(?:criterion|indication)\b(?!s)",
    re.I)
_NOT_SUBJECT = frozenset({"first", "second", "third", "fourth", "fifth", "last", "listed", "same", "other", "main", "one",
                          "whole", "entire", "specific", "relevant", "new", "current", "given", "above", "following"})


def criterion_subject(question: str) -> list[str]:
    """The words naming one criterion by what it is about ("HealthHelp's brain-tumor criterion" →
    ['brain', 'tumor']), each in its singular; [] when the question names none so."""
    for match in _CRITERION_SUBJECT.finditer(question):
        words = [w.lower() for w in re.split(r"[\s-]+", match.group("x")) if w]
        if words and not _NOT_SUBJECT & set(words):
            return [_singular(w) for w in words]
    return []


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"  # "leukodystrophies"
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def subject_criterion(words: Sequence[str], criteria: Mapping[str, str]) -> str | None:
    """The number of the one criterion (number → its own text) whose words hold every one of
    ``words``; None when none or more than one does."""
    found = [n for n, text in criteria.items()
             if set(words) <= {_singular(w) for w in re.findall(r"[a-z]+", text.lower())}]
    return found[0] if len(found) == 1 else None


def within(cells: Sequence[MatrixCell], clause: str) -> list[MatrixCell]:
    """The cells one of whose clauses is ``clause`` or lies under it."""
    return [c for c in cells if any(i == clause or i.startswith(clause + ".") for i in c.clause_ids)]


_REQUIRED_SUBJECT = re.compile(
    r"\b(?:is|are)\s+(?P<x>(?!it\b|there\b|that\b|this\b)[^?]{3,80}?)\s+(?:required|a requirement|mandatory|a prerequisite)\b", re.I)
_REQUIRED_OBJECT = re.compile(
    r"\brequir(?:e|es)\s+(?P<x>(?!that\b|it\b)[^?]{3,80}?)(?:\s+(?:for|before|prior to|when|under|in|first)\b|\s*\?)", re.I)
"""… or what ends the question ("for a known tumor, does HH require the MRI to be indeterminate (first)?")."""


def required_phrase(question: str) -> str | None:
    """What a "require(d)" question says is required: "a prior biopsy" of "Is a prior biopsy
    required for MRS of a known brain tumor?", "new symptoms" of "Does Cohere require new
    symptoms for every repeat MRS?"; None when the question has neither shape."""
    match = _REQUIRED_SUBJECT.search(question) or _REQUIRED_OBJECT.search(question)
    if match is None:
        return None
    if (known := _REQUIRED_KNOWN.match(" " + match.group("x"))) is not None:
        return _as_known(known.group("x"))  # "require the tumor to be known": a known tumor
    return _in_the_brain(match.group("x"))


def requirement_in(condition_facts: Sequence[str], found: Sequence[str]) -> list[str]:
    """The condition facts a requirement question may ask about (those of ``found`` — read in
    ``requirement_words`` — that are conditions, most specific last)."""
    return [f for f in found if f in condition_facts]


def from_requirement(req: Requirement, rows: dict[str, list[MatrixCell]], named: Sequence[str],
                     policy_clause: dict[str, str], labels: Mapping[str, str] | None = None,
                     scope: str = "it lists", over: str | None = None) -> Verdict:
    """Per policy: is ``req.fact`` required — for the named indications, else across every
    listed indication. ``rows``: policy id → its matrix cells (every indication, or those under
    the criterion the question names); ``named``: the indications the question names;
    ``policy_clause``: policy id → its indications clause (or the criterion named);
    ``labels``: fact → label (what else a sufficiency answer names); ``scope``: how the claim
    names the indications asked over ("it lists", "under criterion 1"); ``over``: 'every' or
    'any' when the question asks it of all the payers or of any one ("does every payer require
    …?"): yes / no for the payers together, not 'it depends' on which."""
    if req.sufficient:
        return _from_sufficiency(req, rows, named, policy_clause, labels or {})
    claims: list[VerdictClaim] = []
    kinds: list[str] = []
    for pid, cells in rows.items():
        asked = [c for c in cells if c.indication in named] if named and not req.every else []
        if asked:
            for cell in asked:
                claim, kind = _per_indication(req, cell)
                claims.append(claim)
                kinds.append(kind)
            continue
        claim, kind = _per_policy(req, cells, policy_clause.get(pid), scope)
        if claim is not None:
            claims.append(claim)
            kinds.append(kind)
    claim = kinds[0] if len(set(kinds)) == 1 else "depends"
    lead = "" if len(claims) == 1 else f"Whether {req.label} is required, by payer:"
    if over and len(claims) > 1 and len(set(kinds)) > 1:
        yes = [k == "yes" for k in kinds]
        if over == "every" and not all(yes):
            claim, lead = "no", f"No — not every payer requires {req.label}; by payer:"
        elif over == "any" and any(yes):
            claim, lead = "yes", f"Yes — at least one payer requires {req.label}; by payer:"
    return render(lead, claims, "criteria", claim)


def _alternative(cell: MatrixCell, label: str) -> str:
    """The condition of ``cell`` that offers ``label`` as one alternative among others ("a brain
    mass, known or suspected OR a known brain tumor"); '' when it is required outright or not at all."""
    if label in cell.conditions:
        return ""
    return next((c for c in cell.conditions if " OR " in c and label in c), "")


def _needs(cell: MatrixCell, req: Requirement) -> bool:
    """The covered cell requires the fact outright (not as one alternative), or is the fact's own
    row (a purpose listed as an indication: "encephalopathy, for prognosis evaluation")."""
    return cell.indication == req.label or (req.fact in cell.condition_facts and not _alternative(cell, req.label))


def _per_indication(req: Requirement, cell: MatrixCell) -> tuple[VerdictClaim, str]:
    who = f"{cell.payer} ({cell.policy_id})"
    ids = list(cell.clause_ids)
    if cell.status in _COVERED and _needs(cell, req):
        text = f"Yes — {who} requires, for {cell.indication}: {req.label} {cite_ids(ids)}."
        kind = "yes"
    elif cell.status in _COVERED and (either := _alternative(cell, req.label)):
        text = f"No — {who} does not require it for {cell.indication}; it accepts either: {either} {cite_ids(ids)}."
        kind = "no"
    elif cell.status in _COVERED:
        text = f"No — {who} covers MRS for {cell.indication} without requiring: {req.label} {cite_ids(ids)}."
        kind = "no"
    else:
        what = "calls MRS for it experimental/investigational" if cell.status == "investigational" else "does not list it"
        text = f"No — the question is moot under {who} for {cell.indication}: it {what} {cite_ids(ids)}."
        kind = "no"
    return VerdictClaim(text=text, clause_ids=ids), kind


def _per_policy(req: Requirement, cells: Sequence[MatrixCell], policy_clause: str | None,
                scope: str = "it lists") -> tuple[VerdictClaim | None, str]:
    covered = [c for c in cells if c.status in _COVERED]
    if not covered:
        return None, ""
    who = f"{covered[0].payer} ({covered[0].policy_id})"
    needing = [c for c in covered if _needs(c, req)]
    free = [c for c in covered if not _needs(c, req)]
    if needing and not free:
        ids = list(dict.fromkeys(i for c in needing for i in c.clause_ids))
        text = f"Yes — {who} requires, for every indication {scope}: {req.label} {cite_ids(ids)}."
        return VerdictClaim(text=text, clause_ids=ids), "yes"
    if needing:
        ids = list(dict.fromkeys(i for c in needing for i in c.clause_ids))
        which = "; ".join(dict.fromkeys(c.indication for c in needing))
        # the sentence opens with the claim it makes: no (not for every indication), else it depends on which
        lead = "No" if req.every else "It depends on the indication"
        text = f"{lead} — {who} requires it ({req.label}) only for: {which} {cite_ids(ids)}; not for its other indications."
        return VerdictClaim(text=text, clause_ids=ids), "no" if req.every else "depends"
    ids = [policy_clause] if policy_clause else list(covered[0].clause_ids)
    if scope == "it lists":
        text = f"No — none of {who} listed indications requires: {req.label} {cite_ids(ids)}."
    else:  # "it lists for a known brain tumor", "under its criterion 1": the indications asked over
        text = f"No — none of the indications {who} {scope.removeprefix('it ') if scope.startswith('it ') else 'lists ' + scope} requires: {req.label} {cite_ids(ids)}."
    return VerdictClaim(text=text, clause_ids=ids), "no"


def purpose_only(req: Requirement, rows: dict[str, list[MatrixCell]]) -> Verdict:
    """Per policy, a purpose it lists as an indication of its own ("encephalopathy, for prognosis
    evaluation") asked as a requirement ("must encephalopathy MRS be for prognosis?"): only if the
    MRS is for it, where every covered row that names it (its own, and those it is the purpose of)
    needs it; ``rows`` holds those rows. The usual per-policy answer otherwise."""
    claims: list[VerdictClaim] = []
    kinds: list[str] = []
    for cells in rows.values():
        covered = [c for c in cells if c.status in _COVERED]
        if covered and all(_needs(c, req) for c in covered):
            who = f"{covered[0].payer} ({covered[0].policy_id})"
            ids = list(dict.fromkeys(i for c in covered for i in c.clause_ids))
            which = "; ".join(dict.fromkeys(c.indication for c in covered))
            claim, kind = VerdictClaim(text=f"Only if the MRS is for {req.label} — {who} covers MRS for {which} "
                                            f"only for that purpose {cite_ids(ids)}.", clause_ids=ids), "only_if"
        else:
            claim, kind = _per_policy(req, cells, None, "that names it")
        if claim is not None:
            claims.append(claim)
            kinds.append(kind)
    claim = kinds[0] if len(set(kinds)) == 1 else "depends"
    lead = "" if len(claims) == 1 else f"Whether {req.label} is required, by payer:"
    return render(lead, claims, "criteria", claim if claims else "quote")


def _from_sufficiency(req: Requirement, rows: dict[str, list[MatrixCell]], named: Sequence[str],
                      policy_clause: dict[str, str], labels: Mapping[str, str]) -> Verdict:
    """Per policy: is ``req.fact`` enough by itself — for the named indications (yes only when
    it is the one condition a covered indication adds), else never: a condition is met beside
    one of the listed indications, not instead of one."""
    if req.hedged and not re.search(r"\bsuspected\b", req.label, re.I):
        return _from_hedged(req, rows, named, policy_clause)  # a fact the policy accepts suspected: the usual reading
    claims: list[VerdictClaim] = []
    kinds: list[str] = []
    for pid, cells in rows.items():
        asked = [c for c in cells if c.indication in named]
        for cell in asked:
            who = f"{cell.payer} ({cell.policy_id})"
            ids = list(cell.clause_ids)
            # what else it requires: its other conditions (an alternative to the fact asked is not one)
            others = ([c for c in cell.conditions if req.label not in c] if cell.conditions
                      else [labels.get(f, f) for f in cell.condition_facts if f != req.fact])
            if cell.status not in _COVERED:
                claim, kind = _per_indication(req, cell)
                claims.append(claim)
                kinds.append(kind)
                continue
            if others:
                text = f"No — for {cell.indication}, {who} also requires: {'; '.join(others)} {cite_ids(ids)}."
                kind = "no"
            else:
                text = f"Yes — for {cell.indication}, {who} requires nothing more than: {req.label} {cite_ids(ids)}."
                kind = "yes"
            claims.append(VerdictClaim(text=text, clause_ids=ids))
            kinds.append(kind)
        if asked:
            continue
        needing = [c for c in cells if c.status in _COVERED and _needs(c, req)]
        if not needing:
            continue
        who = f"{needing[0].payer} ({pid})"
        ids = [policy_clause[pid]] if pid in policy_clause else list(needing[0].clause_ids)
        text = f"No — {who} requires it ({req.label}) together with one of its listed indications {cite_ids(ids)}."
        claims.append(VerdictClaim(text=text, clause_ids=ids))
        kinds.append("no")
    if not claims:
        return render("", [], "criteria", "quote")
    claim = kinds[0] if len(set(kinds)) == 1 else "depends"
    lead = "" if len(claims) == 1 else f"Whether {req.label} is enough by itself, by payer:"
    return render(lead, claims, "criteria", claim)


def _from_hedged(req: Requirement, rows: dict[str, list[MatrixCell]], named: Sequence[str],
                 policy_clause: dict[str, str]) -> Verdict:
    """Per policy: is the unconfirmed form of ``req.fact`` ("a suspected tumor") enough where the
    policy names the fact known — no where a covered indication requires it known outright; yes
    where an alternative it accepts is written "known or suspected" and nothing else is required."""
    claims: list[VerdictClaim] = []
    kinds: list[str] = []
    unconfirmed = f"a {req.hedged} one is not {req.label}"
    for pid, cells in rows.items():
        if named:
            asked = [c for c in cells if c.indication in named]
        else:  # over the policy: one covered indication that names the fact stands for them all
            asked = [c for c in cells if c.status in _COVERED and req.fact in c.condition_facts][:1]
        for cell in asked:
            who = f"{cell.payer} ({cell.policy_id})"
            ids = list(cell.clause_ids) if named else ([policy_clause[pid]] if pid in policy_clause else list(cell.clause_ids))
            either = _alternative(cell, req.label)
            if cell.status not in _COVERED:
                claim, kind = _per_indication(req, cell)
                claims.append(claim)
                kinds.append(kind)
                continue
            if _needs(cell, req):
                what = f"for {cell.indication}" if named else "for the indications that name it"
                text, kind = f"No — {who} requires {req.label} {what} {cite_ids(ids)}; {unconfirmed}.", "no"
            elif either and re.search(r"\bsuspected\b", either, re.I):
                others = [c for c in cell.conditions if c != either]
                text, kind = ((f"No — for {cell.indication}, {who} accepts either: {either}, and also requires: "
                               f"{'; '.join(others)} {cite_ids(ids)}.", "no") if others else
                              (f"Yes — for {cell.indication}, {who} accepts either: {either} {cite_ids(ids)}.", "yes"))
            else:
                text, kind = f"No — {who} requires {req.label} for {cell.indication} {cite_ids(ids)}; {unconfirmed}.", "no"
            claims.append(VerdictClaim(text=text, clause_ids=ids))
            kinds.append(kind)
    if not claims:
        return render("", [], "criteria", "quote")
    claim = kinds[0] if len(set(kinds)) == 1 else "depends"
    lead = "" if len(claims) == 1 else f"Whether a {req.hedged} condition is enough, by payer:"
    return render(lead, claims, "criteria", claim)

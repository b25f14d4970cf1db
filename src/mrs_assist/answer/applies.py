"""Whether a clause a policy defines in its own words applies to the case a question states:
"Does the repeat-imaging clause apply to a first-ever MRS request?", "first MRS, no prior
spectroscopy — do I need to satisfy the repeat-imaging clause?".

A clause that defines its term inline ("Repeat imaging (defined as repeat request following
recent imaging of the same anatomic region with the same modality), … if ANY of the following")
applies only where its definition holds. When the definition requires earlier imaging with the
same modality and the question states there was none of that modality (a first MRS, no prior
spectroscopy), the answer is no, citing the defining clause. Anything else gets no verdict here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mrs_assist.answer.verdict import render
from mrs_assist.schemas import Verdict, VerdictClaim

_DEFINED = re.compile(r"^\W*(?P<term>[A-Za-z][\w -]{2,40}?)\s*\(defined as (?P<definition>[^)]{10,300})\)", re.I)
_SAME_MODALITY = re.compile(r"\bsame modality\b", re.I)
_STUDY = r"(?:MRS|MR spectroscopy|(?:magnetic resonance |proton )?spectroscopy)"
_NONE_BEFORE = re.compile(
    rf"\b(?:first(?:[- ]?ever)?|initial)\s+(?:(?:brain|proton)\s+)?{_STUDY}\b"
    rf"|\b(?:first(?:[- ]?ever)?|initial)\s+(?:request|study|scan)\s+for\s+(?:an?\s+)?{_STUDY}\b"
    rf"|\bno\s+(?:prior|previous|earlier)\s+(?:brain\s+)?{_STUDY}\b"
    rf"|\b(?:never|not)\s+(?:had|undergone|received)\s+(?:an?\s+|any\s+)?(?:prior\s+|previous\s+)?(?:brain\s+)?{_STUDY}\b",
    re.I)
"""The question states there was no earlier study of the same modality (MRS)."""
_EARLIER = re.compile(
    rf"\b(?:prior|previous|earlier|recent|last)\s+(?:brain\s+)?{_STUDY}\b"
    rf"|\b{_STUDY}\s+(?:[\w-]+\s+){{0,5}}?(?:ago|last (?:week|month|year)|earlier this)\b"
    rf"|\b(?:had|underwent|received)\s+(?:an?\s+)?(?:brain\s+)?{_STUDY}\b", re.I)
"""The question states an earlier MRS ("had MRS 2 months ago", "a prior MRS")."""
_NEGATED = re.compile(r"\b(?:not|no|never|n't|no longer|without)\s+(?:[\w-]+\s+){0,2}$", re.I)
_APPLIES = re.compile(
    r"\b(?:appl(?:y|ies)|apply to|relevant|in play|triggered|kicks? in|"
    r"(?:need|needs|have|has)\s+to\s+(?:satisfy|meet|clear|pass)|must\s+(?:\w+\s+){0,3}?(?:satisfy|meet)|"
    r"(?:satisfy|meet)\s+the|(?:be|is|are)\s+(?:met|satisfied))\b", re.I)


@dataclass(frozen=True)
class Defined:
    """A clause that defines its own term inline."""

    clause_id: str
    policy_id: str
    term: str
    definition: str


def defined_clauses(clauses: Iterable) -> list[Defined]:
    """Every clause whose text opens by defining its term ("Repeat imaging (defined as …)")."""
    out = []
    for c in clauses:
        match = _DEFINED.search(c.text)
        if match:
            out.append(Defined(c.id, c.policy_id, match.group("term").strip(), match.group("definition").strip()))
    return out


def _head(term: str) -> str:
    """'Repeat imaging' → 'repeat': the word that names the clause ("the repeat-imaging clause")."""
    return term.split()[0].lower()


def asked(question: str, defined: Sequence[Defined]) -> list[Defined]:
    """The defined clauses whose applying the question asks about: it names the term's head word
    ("repeat-imaging clause", "repeat imaging prong") and asks whether it applies or must be met."""
    if not _APPLIES.search(question):
        return []
    return [d for d in defined if re.search(rf"\b{re.escape(_head(d.term))}\b", question, re.I)]


def from_applies(question: str, defined: Sequence[Defined], payers: dict[str, str]) -> Verdict | None:
    """No, per defined clause asked, when its definition requires earlier imaging with the same
    modality and the question states none of MRS; None otherwise (nothing is guessed)."""
    def stated(rx: re.Pattern[str]) -> bool:
        return any(not _NEGATED.search(question[:m.start()]) for m in rx.finditer(question))

    # "not the first MRS", or a first MRS here but one elsewhere last month: nothing is settled
    if not stated(_NONE_BEFORE) or stated(_EARLIER):
        return None
    claims = []
    for d in defined:
        if d.policy_id not in payers or not _SAME_MODALITY.search(d.definition):
            continue
        text = (f'No — {payers[d.policy_id]} ({d.policy_id}) defines {d.term.lower()} as "{d.definition}" '
                f"[{d.clause_id}]; as the question states it, no earlier MRS (the same modality) was done, "
                "so that clause does not apply.")
        claims.append(VerdictClaim(text=text, clause_ids=[d.clause_id]))
    if not claims:
        return None
    return render("" if len(claims) == 1 else "Whether the clause applies, by payer:", claims, "clause", "no")

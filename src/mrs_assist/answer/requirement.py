"""Requirement questions: "Does HealthHelp require a non-diagnostic MRI for every indication,
e.g. MS?" is answered about the requirement, not about coverage of MS.

The criteria matrix already knows, per policy and indication, which facts a covered
indication requires (``CompareCell.condition_facts``). A requirement question names one of
those facts with a requirement verb; the verdict says, per policy, whether that fact is
required — for the indications the question names, or across every listed indication.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from mrs_assist.answer.verdict import MatrixCell, cite_ids, render
from mrs_assist.schemas import Verdict, VerdictClaim

REQUIRE = re.compile(
    r"\b(?:requir\w*|need(?:s|ed)? (?:to (?:be|have|show)|an?|the)|must|have to|has to|prerequisite|mandator\w*|"
    r"a condition (?:of|for))\b",
    re.I,
)
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

    def resolved(self, preferred: Sequence[str]) -> Requirement:
        """The requirement on one fact: the first candidate among ``preferred`` (what the
        indications asked about require), else the last candidate (the most specific words)."""
        fact = next((f for f in self.facts if f in preferred), self.facts[-1])
        return Requirement(self.facts, self.labels, self.every, fact, self.labels[fact])


def requirement_words(question: str) -> str:
    """The words that can name what is required: the whole question for 'require(d)', else
    what follows 'must' / 'have to' / 'need to' ("does the tumor have to have been treated"
    asks about treatment, not the tumor); '' when it asks no requirement."""
    match = REQUIRE.search(question)
    if match is None:
        return ""
    return question if match.group(0).lower().startswith("requir") else question[match.end():]


def requirement_in(condition_facts: Sequence[str], found: Sequence[str]) -> list[str]:
    """The condition facts a requirement question may ask about (those of ``found`` — read in
    ``requirement_words`` — that are conditions, most specific last)."""
    return [f for f in found if f in condition_facts]


def from_requirement(req: Requirement, rows: dict[str, list[MatrixCell]], named: Sequence[str],
                     policy_clause: dict[str, str]) -> Verdict:
    """Per policy: is ``req.fact`` required — for the named indications, else across every
    listed indication. ``rows``: policy id → its matrix cells (every indication); ``named``:
    the indications the question names; ``policy_clause``: policy id → its indications clause."""
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
        claim, kind = _per_policy(req, cells, policy_clause.get(pid))
        if claim is not None:
            claims.append(claim)
            kinds.append(kind)
    claim = kinds[0] if len(set(kinds)) == 1 else "depends"
    lead = "" if len(claims) == 1 else f"Whether {req.label} is required, by payer:"
    return render(lead, claims, "criteria", claim)


def _per_indication(req: Requirement, cell: MatrixCell) -> tuple[VerdictClaim, str]:
    who = f"{cell.payer} ({cell.policy_id})"
    ids = list(cell.clause_ids)
    if cell.status in _COVERED and req.fact in cell.condition_facts:
        text = f"Yes — {who} requires, for {cell.indication}: {req.label} {cite_ids(ids)}."
        kind = "yes"
    elif cell.status in _COVERED:
        text = f"No — {who} covers MRS for {cell.indication} without requiring: {req.label} {cite_ids(ids)}."
        kind = "no"
    else:
        what = "calls MRS for it experimental/investigational" if cell.status == "investigational" else "does not list it"
        text = f"No — the question is moot under {who} for {cell.indication}: it {what} {cite_ids(ids)}."
        kind = "no"
    return VerdictClaim(text=text, clause_ids=ids), kind


def _per_policy(req: Requirement, cells: Sequence[MatrixCell], policy_clause: str | None) -> tuple[VerdictClaim | None, str]:
    covered = [c for c in cells if c.status in _COVERED]
    if not covered:
        return None, ""
    who = f"{covered[0].payer} ({covered[0].policy_id})"
    needing = [c for c in covered if req.fact in c.condition_facts]
    free = [c for c in covered if req.fact not in c.condition_facts]
    if needing and not free:
        ids = list(dict.fromkeys(i for c in needing for i in c.clause_ids))
        text = f"Yes — {who} requires, for every indication it lists: {req.label} {cite_ids(ids)}."
        return VerdictClaim(text=text, clause_ids=ids), "yes"
    if needing:
        ids = list(dict.fromkeys(i for c in needing for i in c.clause_ids))
        which = "; ".join(dict.fromkeys(c.indication for c in needing))
        text = f"No — {who} requires it ({req.label}) only for: {which} {cite_ids(ids)}; not for its other indications."
        return VerdictClaim(text=text, clause_ids=ids), "no" if req.every else "depends"
    ids = [policy_clause] if policy_clause else list(covered[0].clause_ids)
    text = f"No — none of {who} listed indications requires: {req.label} {cite_ids(ids)}."
    return VerdictClaim(text=text, clause_ids=ids), "no"

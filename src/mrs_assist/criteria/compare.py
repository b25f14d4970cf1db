"""Compare policies side by side, derived from their criteria trees by evaluation.

For each indication row (a purpose fact, plus the non-brain scope row) and each policy,
the row fact is set true, every other purpose false (unknown when it ``qualifies`` the row), conditions and demographics unknown,
closed-world facts absent, and a governed CPT code requested. The outcome decides the
cell: true → ``covered``; unknown → ``covered_if`` the conditions left open; false →
``investigational`` when the policy calls the row experimental/investigational, else
``not_covered``. Nothing in the matrix is written by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, Field

from mrs_assist.criteria.catalogue import Catalogue
from mrs_assist.criteria.engine import Evaluation, TraceNode, evaluate
from mrs_assist.criteria.policy import REGION_FACT, Policy

Status = Literal["covered", "covered_if", "investigational", "not_covered"]


class Cell(BaseModel):
    """One policy's position on one indication, with the clauses that justify it."""

    status: Status
    clause_ids: list[str] = Field(default_factory=list)
    conditions: list[str] = Field(
        default_factory=list, description="covered_if: each condition that must also hold (readable)."
    )
    condition_facts: list[str] = Field(
        default_factory=list, description="covered_if: the unknown facts those conditions name."
    )
    notes: list[str] = Field(default_factory=list, description="Policy notices about this row.")


class Row(BaseModel):
    """An indication and each policy's cell for it."""

    fact: str
    label: str
    role: str
    cells: dict[str, Cell] = Field(description="Policy id → cell.")

    @property
    def agrees(self) -> bool:
        """True when every policy gives this row the same status."""
        return len({c.status for c in self.cells.values()}) <= 1


class Matrix(BaseModel):
    """Indications × policies."""

    policy_ids: list[str]
    rows: list[Row]

    def disagreements(self) -> list[Row]:
        """Rows on which the policies take different positions."""
        return [r for r in self.rows if not r.agrees]


class Inconsistency(BaseModel):
    """Something a policy says that its own criteria contradict, or a limit of its scope."""

    policy_id: str
    kind: str
    clause_ids: list[str]
    facts: list[str] = Field(default_factory=list)
    message: str


# --- residual formula: what is left to decide once the known facts are substituted ---------

def _residual(node: TraceNode, label_of) -> str | tuple | None:
    """The still-open part of an unknown node as ("and"|"or", parts) / ("not", part) / label."""
    if node.value is not None:
        return None
    if not node.children:
        return label_of(node)
    if node.kind == "not":
        return ("not", _residual(node.children[0], label_of))
    parts = [_residual(c, label_of) for c in node.children if c.value is None]
    op = "and" if node.kind == "all" else "or"
    flat: list = []
    for p in parts:
        flat.extend(p[1] if isinstance(p, tuple) and p[0] == op else [p])
    return flat[0] if len(flat) == 1 else (op, flat)


def _render(expr, top: bool = True) -> str:
    if isinstance(expr, str):
        return expr
    op, body = expr
    if op == "not":
        return f"NOT ({_render(body, False)})"
    text = f" {op.upper()} ".join(_render(p, False) for p in body)
    return text if top else f"({text})"


def _conditions(evaluation: Evaluation, catalogue: Catalogue) -> list[str]:
    def label_of(leaf: TraceNode) -> str:
        if leaf.fact and leaf.fact in catalogue:
            return catalogue.spec(leaf.fact).label
        return leaf.label

    expr = _residual(evaluation.trace, label_of)
    if expr is None:
        return []
    if isinstance(expr, tuple) and expr[0] == "and":
        return [_render(p) for p in expr[1]]
    return [_render(expr)]


def _row_facts(policy: Policy, catalogue: Catalogue, row: str) -> dict[str, bool | None]:
    facts: dict[str, bool | None] = {}
    for name, spec in catalogue.facts.items():
        if name == row:
            facts[name] = True
        elif spec.role == "purpose":
            # a purpose that may be the reason for the row's condition ("prognosis of an
            # encephalopathy" for HIE) is what the row's cell is conditioned on, not excluded
            facts[name] = None if row == REGION_FACT or row in spec.qualifies else False
        elif spec.world == "closed":
            facts[name] = False
        else:
            facts[name] = None
    return facts


def _leaf_clauses(evaluation: Evaluation, fact: str) -> list[str]:
    return [n.clause_id for n in evaluation.trace.walk() if n.fact == fact and n.clause_id]


def _cell(policy: Policy, catalogue: Catalogue, row: str) -> Cell:
    facts = _row_facts(policy, catalogue, row)
    ev = evaluate(policy, facts, policy.scope.cpt_codes[:1], catalogue=catalogue)
    notes = [f"{n.clause}: {n.message}" for n in policy.notices if row in n.facts]
    if ev.outcome == "meets_criteria":
        return Cell(status="covered", clause_ids=ev.deciding_clauses, notes=notes)
    if ev.outcome == "needs_more_information":
        clauses = list(dict.fromkeys(_leaf_clauses(ev, row) + ev.deciding_clauses))
        return Cell(
            status="covered_if", clause_ids=clauses, conditions=_conditions(ev, catalogue),
            condition_facts=ev.missing_facts, notes=notes,
        )
    if investigational := [i.clause for i in policy.investigational if i.fact == row]:
        return Cell(status="investigational", clause_ids=investigational, notes=notes)
    scope, indications = ev.trace.children[0], ev.trace.children[1]
    if scope.value is False or indications.value is not False or not indications.clause_id:
        clauses = ev.deciding_clauses
    else:  # one clause says what is covered; the matrix does not list every failed branch
        clauses = [indications.clause_id]
    return Cell(status="not_covered", clause_ids=clauses, notes=notes)


def compare_policies(policies: Mapping[str, Policy], catalogue: Catalogue) -> Matrix:
    """The indications × policies matrix, derived by evaluating each policy's criteria."""
    ids = sorted(policies)
    rows = [*catalogue.names("purpose"), REGION_FACT]
    return Matrix(
        policy_ids=ids,
        rows=[
            Row(
                fact=row,
                label=catalogue.spec(row).label,
                role=catalogue.spec(row).role,
                cells={pid: _cell(policies[pid], catalogue, row) for pid in ids},
            )
            for row in rows
        ],
    )


def policy_inconsistencies(policies: Mapping[str, Policy]) -> list[Inconsistency]:
    """Each policy's recorded inconsistencies and scope limits (its notices), by policy id."""
    return [
        Inconsistency(
            policy_id=pid, kind=n.kind, clause_ids=[n.clause], facts=list(n.facts), message=n.message
        )
        for pid in sorted(policies)
        for n in policies[pid].notices
        if n.kind in ("inconsistency", "scope")
    ]

"""Queries on a determination's trace: the one place that knows where its parts live.

The trace is the checker's evaluation as the contract carries it (``schemas.Trace``: ``root``,
a ``TraceNode`` whose children are the sections 'scope', 'indications' and 'exclusions';
``deciding_clauses``, ``missing_facts`` and the findings lists). Letters, the letter validator
and the PAS response ask these questions of it instead of reading its parts themselves. A
``determination`` here is a ``DeterminationResponse`` (``trace``, ``citations``,
``missing_information``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from mrs_assist.criteria.engine import TraceNode
    from mrs_assist.schemas import DeterminationResponse, Trace

Section = Literal["scope", "indications", "exclusions"]


def section(trace: Trace, name: Section) -> TraceNode | None:
    """The root's child named ``name`` (None without a root or without that section)."""
    if trace.root is None:
        return None
    return next((c for c in trace.root.children if c.id == name), None)


def facts_valued(node: TraceNode | None, value: bool | None) -> list[str]:
    """Facts of the leaves at or below ``node`` whose value is ``value``, in trace order."""
    if node is None:
        return []
    return [n.fact for n in node.walk() if n.fact and n.value is value]


def deciding_clause_ids(determination: DeterminationResponse) -> list[str]:
    """Clause ids that decided the outcome (the trace's deciding_clauses, else the citations)."""
    ids = [i for i in determination.trace.deciding_clauses if i]
    return list(dict.fromkeys(ids or [c.clause_id for c in determination.citations]))


def traced_clause_ids(determination: DeterminationResponse) -> set[str]:
    """Every clause the checker touched: trace nodes, findings, deciding clauses and citations."""
    cited = {c.clause_id for c in determination.citations}
    return set(deciding_clause_ids(determination)) | cited | determination.trace.clause_ids()


def missing_fact_names(determination: DeterminationResponse) -> list[str]:
    """Facts whose absence pends the request (the trace's missing_facts), each once."""
    return list(dict.fromkeys(determination.trace.missing_facts))

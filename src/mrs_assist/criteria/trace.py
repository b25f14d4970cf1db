"""Queries on a determination's trace: the one place that knows where its parts live.

The trace is the checker's evaluation as the contract carries it (``schemas.Trace``: ``root``,
``deciding_clauses``, ``missing_facts``, findings lists); letters and the letter validator ask
these questions of it instead of reading its keys themselves. A ``determination`` here is
anything with ``trace``, ``citations`` (each with ``clause_id``) and ``missing_information``
(a ``DeterminationResponse``), so this module imports nothing above ``criteria``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def walk_trace(trace: Any) -> Iterator[dict]:
    """Every node of a trace section (a node, a list of nodes, or nested children)."""
    if isinstance(trace, list):
        for item in trace:
            yield from walk_trace(item)
    elif isinstance(trace, dict):
        if "kind" in trace or "clause_id" in trace:
            yield trace
        yield from walk_trace(trace.get("children") or [])


def trace_section(trace: Any, name: str) -> Any:
    """A part of the checker's trace: a child of ``root`` ('scope', 'indications',
    'exclusions'), or a list of findings ('investigational', 'safety'), which are all true."""
    root = trace.get("root")
    if isinstance(root, dict):
        for child in root.get("children") or []:
            if child.get("id") == name:
                return child
    value = trace.get(name)
    if isinstance(value, list):
        return [{**item, "value": item.get("value", True)} for item in value if isinstance(item, dict)]
    return value


def deciding_clause_ids(determination: Any) -> list[str]:
    """Clause ids that decided the outcome (the trace's deciding_clauses, else the citations)."""
    ids = []
    for item in determination.trace.get("deciding_clauses") or []:
        ids.append(item.get("clause_id") if isinstance(item, dict) else str(item))
    ids = [i for i in ids if i]
    return list(dict.fromkeys(ids or [c.clause_id for c in determination.citations]))


def traced_clause_ids(determination: Any) -> set[str]:
    """Every clause the checker touched: trace nodes, deciding clauses and citations."""
    ids = set(deciding_clause_ids(determination)) | {c.clause_id for c in determination.citations}
    for key, section in determination.trace.items():
        if key in ("deciding_clauses", "missing_facts", "notices"):
            continue
        ids |= {n["clause_id"] for n in walk_trace(section) if n.get("clause_id")}
    return ids


def missing_fact_names(determination: Any) -> list[str]:
    """Facts whose absence pends the request (the trace's missing_facts, else missing_information)."""
    names = determination.trace.get("missing_facts")
    if names is None:
        names = determination.missing_information
    return list(dict.fromkeys(n.get("name") if isinstance(n, dict) else str(n) for n in names))

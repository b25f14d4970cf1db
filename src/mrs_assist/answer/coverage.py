"""Coverage answers composed from the criteria matrix (the checker decides, not retrieval).

Takes plain data — one line per policy and indication, with the clauses that justify the
cell — so this module stays on the answer side of the import graph.
"""

from __future__ import annotations

from dataclasses import dataclass

from mrs_assist.answer.extractive import best_sentences
from mrs_assist.schemas import Citation

_STATUS = {
    "covered": "covered: meets the policy's criteria when documented",
    "covered_if": "covered only if {conditions}",
    "investigational": "experimental/investigational under this policy: does not meet criteria",
    "not_covered": "not among the policy's listed indications: does not meet criteria",
}

HEADER = "Coverage by policy, from each policy's criteria (decided by the criteria checker):"


@dataclass(frozen=True)
class CoverageLine:
    """One cell of the matrix as the answer needs it."""

    policy_id: str
    payer: str
    indication: str
    status: str
    conditions: tuple[str, ...]
    clauses: tuple[tuple[str, str, str], ...]
    """(clause id, section, verbatim text) for each justifying clause."""


def compose_coverage(question: str, lines: list[CoverageLine]) -> tuple[str, list[Citation]]:
    """The coverage answer (a line per policy and indication, each quoted) and its citations."""
    out = [HEADER]
    citations: dict[str, Citation] = {}
    for line in lines:
        status = _STATUS[line.status].format(conditions="; ".join(line.conditions) or "its conditions are met")
        out.append(f"- {line.payer} ({line.policy_id}) — {line.indication}: {status}.")
        for clause_id, section, text in line.clauses:
            quotes = " … ".join(f'"{q}"' for q in best_sentences(question, text))
            out.append(f"    {quotes} [{clause_id}]")
            citations.setdefault(
                clause_id,
                Citation(clause_id=clause_id, policy_id=line.policy_id, section=section, text=text, score=1.0),
            )
    return "\n".join(out), list(citations.values())

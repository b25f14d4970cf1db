"""Criteria: the facts catalogue, policies' rule trees and the three-valued checker.

Pure: imports nothing from retrieval, language models or extraction, and reads nothing
but its own data files (corpus/facts.yaml, corpus/*.criteria.yaml).
"""

from mrs_assist.criteria.catalogue import (
    Catalogue,
    Evidence,
    FactSpec,
    FactValue,
    load_catalogue,
)
from mrs_assist.criteria.compare import (
    Cell,
    Inconsistency,
    Matrix,
    Row,
    compare_policies,
    policy_inconsistencies,
)
from mrs_assist.criteria.engine import (
    CPT_FACT,
    REGION_COVERAGE_FACT,
    Evaluation,
    Finding,
    Outcome,
    PolicyNotice,
    TraceNode,
    evaluate,
    kleene_and,
    kleene_not,
    kleene_or,
    relevant_unknowns,
)
from mrs_assist.criteria.facts import resolve_facts
from mrs_assist.criteria.policy import (
    REGION_FACT,
    Item,
    Node,
    Notice,
    Policy,
    Scope,
    load_policies,
    load_policy,
)

__all__ = [
    "CPT_FACT",
    "REGION_COVERAGE_FACT",
    "REGION_FACT",
    "Catalogue",
    "Cell",
    "Evaluation",
    "Evidence",
    "FactSpec",
    "FactValue",
    "Finding",
    "Inconsistency",
    "Item",
    "Matrix",
    "Node",
    "Notice",
    "Outcome",
    "Policy",
    "PolicyNotice",
    "Row",
    "Scope",
    "TraceNode",
    "compare_policies",
    "evaluate",
    "kleene_and",
    "kleene_not",
    "kleene_or",
    "load_catalogue",
    "load_policies",
    "load_policy",
    "policy_inconsistencies",
    "relevant_unknowns",
    "resolve_facts",
]

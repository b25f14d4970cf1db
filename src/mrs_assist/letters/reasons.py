"""The coded reason of an adverse determination: which kind of failure decided it, its X12
decision-reason code, the plain-language reason and the deciding clause — the same in the
letter and in the PAS ClaimResponse."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mrs_assist.data import load_yaml, shipped
from mrs_assist.errors import ConfigError

REASONS_FILE = shipped("letters/denial_reasons.yaml")

ReasonKind = Literal[
    "criteria_not_met", "experimental_investigational", "exclusion_applies", "outside_policy_scope",
    "service_not_governed",
]


class ReasonCode(BaseModel):
    """One entry of denial_reasons.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(min_length=1)
    display: str = Field(min_length=1)
    text: str = Field(min_length=1, description="Plain-language reason printed in the letter and the ClaimResponse.")
    confirmed: bool = Field(description="Whether the code was checked against the licensed X12 list.")


class ReasonFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str
    reasons: dict[ReasonKind, ReasonCode]


class DenialReason(BaseModel):
    """What an adverse determination carries: kind, coded reason, plain language, clause."""

    kind: ReasonKind
    system: str
    code: str
    display: str
    text: str
    clause_id: str | None = Field(description="The first deciding clause.")


@cache
def load_reasons(path: Path = REASONS_FILE) -> ReasonFile:
    """The reason codes file; raises ConfigError naming file and line."""
    return load_yaml(path, ReasonFile, error=ConfigError)


def _child(node: dict[str, Any], node_id: str) -> dict[str, Any] | None:
    return next((c for c in node.get("children", []) if c.get("id") == node_id), None)


def reason_kind(trace: dict[str, Any]) -> ReasonKind | None:
    """Which failure decided an adverse outcome, read from the checker's trace (None unless adverse)."""
    root = trace.get("root") or {}
    if root.get("value") is not False:
        return None
    scope = _child(root, "scope") or {}
    if scope.get("value") is False:
        cpt = _child(scope, "scope/cpt") or {}
        return "service_not_governed" if cpt.get("value") is False else "outside_policy_scope"
    exclusions = _child(root, "exclusions") or {}
    if exclusions.get("value") is False:
        return "exclusion_applies"
    return "experimental_investigational" if trace.get("investigational") else "criteria_not_met"


def denial_reason(response) -> DenialReason | None:
    """The coded reason of a `DeterminationResponse` whose outcome is adverse, else None."""
    if response.recommendation != "does_not_meet_criteria":
        return None
    kind = reason_kind(response.trace)
    if kind is None:
        return None
    table = load_reasons()
    entry = table.reasons[kind]
    deciding = response.trace.get("deciding_clauses") or []
    return DenialReason(
        kind=kind, system=table.system, code=entry.code, display=entry.display, text=entry.text,
        clause_id=deciding[0] if deciding else None,
    )

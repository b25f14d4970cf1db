"""The coded reason of an adverse determination: which kind of failure decided it, its X12
decision-reason code, the plain-language reason and the deciding clause — the same in the
letter and in the PAS ClaimResponse."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from mrs_assist.criteria.trace import section
from mrs_assist.data import load_yaml, shipped
from mrs_assist.errors import ConfigError

if TYPE_CHECKING:
    from mrs_assist.schemas import DeterminationResponse, Trace

REASONS_FILE = shipped("criteria/denial_reasons.yaml")

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


def reason_kind(trace: Trace) -> ReasonKind | None:
    """Which failure decided an adverse outcome, read from the checker's trace (None unless adverse)."""
    if trace.root is None or trace.root.value is not False:
        return None
    scope = section(trace, "scope")
    if scope is not None and scope.value is False:
        cpt = next((c for c in scope.children if c.id == "scope/cpt"), None)
        return "service_not_governed" if cpt is not None and cpt.value is False else "outside_policy_scope"
    exclusions = section(trace, "exclusions")
    if exclusions is not None and exclusions.value is False:
        return "exclusion_applies"
    return "experimental_investigational" if trace.investigational else "criteria_not_met"


def denial_reason(response: DeterminationResponse) -> DenialReason | None:
    """The coded reason of a `DeterminationResponse` whose outcome is adverse, else None."""
    if response.recommendation != "does_not_meet_criteria":
        return None
    kind = reason_kind(response.trace)
    if kind is None:
        return None
    table = load_reasons()
    entry = table.reasons[kind]
    deciding = response.trace.deciding_clauses
    return DenialReason(
        kind=kind, system=table.system, code=entry.code, display=entry.display, text=entry.text,
        clause_id=deciding[0] if deciding else None,
    )

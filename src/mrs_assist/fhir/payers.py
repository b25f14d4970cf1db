"""The payer/plan → policy map: which policy governs a request, read from its Coverage."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mrs_assist.data import load_yaml, shipped
from mrs_assist.errors import ConfigError

DEFAULT_MAP = shipped("fhir/payers.yaml")


class PayerRule(BaseModel):
    """One rule: every key given must match; then `policy_id` governs."""

    model_config = ConfigDict(extra="forbid")

    policy_id: str = Field(min_length=1)
    payer_name: str | None = None
    payer_identifier: str | None = Field(default=None, description="'system|value' or 'value'.")
    plan: str | None = None
    group: str | None = None

    @model_validator(mode="after")
    def _some_key(self) -> PayerRule:
        if not any((self.payer_name, self.payer_identifier, self.plan, self.group)):
            raise ValueError("a rule needs at least one of payer_name, payer_identifier, plan, group")
        return self

    def matches(self, coverage: CoverageKeys) -> bool:
        """Whether every key of the rule matches the coverage."""
        if self.payer_name and self.payer_name.casefold() not in coverage.payer_names:
            return False
        if self.payer_identifier and not any(
            self.payer_identifier == ident or ("|" not in self.payer_identifier and ident.endswith(f"|{self.payer_identifier}"))
            for ident in coverage.payer_identifiers
        ):
            return False
        if self.plan and self.plan not in coverage.classes.get("plan", set()):
            return False
        return not (self.group and self.group not in coverage.classes.get("group", set()))


class CoverageKeys(BaseModel):
    """What a Coverage (with its payor Organizations) offers to match on."""

    payer_names: set[str] = Field(default_factory=set, description="Case-folded names.")
    payer_identifiers: set[str] = Field(default_factory=set, description="'system|value' of each.")
    classes: dict[str, set[str]] = Field(default_factory=dict, description="Coverage.class type → values.")


class PayerMap(BaseModel):
    """The whole map file."""

    model_config = ConfigDict(extra="forbid")

    rules: list[PayerRule] = Field(default_factory=list)
    default_policy_id: str | None = None
    authorization_valid_days: int | None = Field(
        default=None, ge=1, le=3650, description="How long a certified (A1) authorization is valid from the "
        "decision date (PAS preAuthPeriod); unset: only the service dates the request asked for.")

    def policy_for(self, coverage: CoverageKeys) -> str | None:
        """The policy id the first matching rule names, else the default (None: no policy)."""
        for rule in self.rules:
            if rule.matches(coverage):
                return rule.policy_id
        return self.default_policy_id


def load_payer_map(path: Path | None = None) -> PayerMap:
    """The map at `path` (default: the shipped payers.yaml); raises ConfigError naming the problem."""
    return load_yaml(path or DEFAULT_MAP, PayerMap, error=ConfigError)

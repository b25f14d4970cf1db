"""Sentences that address the reviewing system, not the patient: the patterns of ``quarantine.yaml``.

Untrusted text is read twice (``normalize``): by the extractor, which reads no fact from these
sentences, and by the validators, which leave them out of a draft's sources. Both take the
patterns from here, so neither reader imports the other.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mrs_assist.errors import CorpusError
from mrs_assist.normalize import lower_pattern

QUARANTINE_FILE = Path(__file__).with_name("quarantine.yaml")


class QuarantineFile(BaseModel):
    """quarantine.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quarantine: list[str] = Field(min_length=1, description="Regexes of sentences that address the system.")

    @field_validator("quarantine")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                raise ValueError(f"quarantine {pattern!r} is not a valid regex: {exc}") from exc
        return patterns


@cache
def quarantine_patterns(path: Path = QUARANTINE_FILE) -> tuple[str, ...]:
    """The patterns as written (case-insensitive regexes); raises CorpusError naming the file."""
    try:
        return tuple(QuarantineFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))).quarantine)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise CorpusError(f"{path.name}: invalid quarantine patterns: {exc}") from exc


@cache
def compiled_quarantine(path: Path = QUARANTINE_FILE) -> tuple[re.Pattern[str], ...]:
    """The patterns lowered and compiled, to run over ASCII-lowered text (``normalize.ascii_lower``)."""
    return tuple(re.compile(lower_pattern(p), re.MULTILINE) for p in quarantine_patterns(path))

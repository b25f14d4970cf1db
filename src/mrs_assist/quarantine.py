"""Sentences that address the reviewing system, not the patient: the patterns of ``quarantine.yaml``.

Untrusted text is read twice (``normalize``): by the extractor, which reads no fact from these
sentences, and by the validators, which leave them out of a draft's sources. Both take the
patterns from here, so neither reader imports the other.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mrs_assist.data import load_yaml, shipped
from mrs_assist.errors import CorpusError
from mrs_assist.normalize import lower_pattern

QUARANTINE_FILE = shipped("quarantine.yaml")


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
    return tuple(load_yaml(path, QuarantineFile, error=CorpusError).quarantine)


@cache
def compiled_quarantine(path: Path = QUARANTINE_FILE) -> tuple[re.Pattern[str], ...]:
    """The patterns lowered and compiled, to run over ASCII-lowered text (``normalize.ascii_lower``)."""
    return tuple(re.compile(lower_pattern(p), re.MULTILINE) for p in quarantine_patterns(path))

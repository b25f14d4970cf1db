"""The regression gate: eval/thresholds.yaml against an evaluation's headline metrics.

The file maps a headline metric name to ``{min: x}`` and/or ``{max: x}`` and an optional
``why``. A metric that was not computed (None, or absent) fails unless ``optional: true``.
``check_thresholds`` returns one readable line per failure; ``mrs-assist eval --check``
prints them and exits non-zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from mrs_assist.data import YamlFile
from mrs_assist.errors import ConfigError


class Threshold(BaseModel):
    """Bounds for one metric."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min: float | None = None
    max: float | None = None
    optional: bool = False
    """Pass when the metric was not computed (e.g. the LLM judge without a judge model)."""
    why: str | None = None

    @model_validator(mode="after")
    def _bounded(self) -> Threshold:
        if self.min is None and self.max is None:
            raise ValueError("give min and/or max")
        return self


def load_thresholds(path: Path) -> dict[str, Threshold]:
    """metric name → Threshold; raises ConfigError when the file is missing or invalid."""
    doc = YamlFile(Path(path), error=ConfigError)
    out = {}
    for name, spec in doc.data.items():
        try:
            out[str(name)] = Threshold.model_validate(spec)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise doc.error([name, *err["loc"]], f"threshold {name!r} is invalid: {err['msg']}") from exc
    return out


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def check_thresholds(headline: Mapping[str, float | int | None], thresholds: Mapping[str, Threshold]) -> list[str]:
    """One line per failed threshold ([] when all pass)."""
    failures = []
    for name, t in thresholds.items():
        value = headline.get(name)
        if value is None:
            if not t.optional:
                failures.append(f"FAIL {name}: not computed (threshold {_bounds(t)})")
            continue
        if t.min is not None and value < t.min:
            failures.append(f"FAIL {name} = {_fmt(value)} < min {_fmt(t.min)}")
        if t.max is not None and value > t.max:
            failures.append(f"FAIL {name} = {_fmt(value)} > max {_fmt(t.max)}")
    return failures


def _bounds(t: Threshold) -> str:
    parts = ([f"min {_fmt(t.min)}"] if t.min is not None else []) + ([f"max {_fmt(t.max)}"] if t.max is not None else [])
    return ", ".join(parts)

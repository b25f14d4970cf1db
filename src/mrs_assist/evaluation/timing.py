"""Per-stage latency recording for the harness (milliseconds, perf_counter)."""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Iterator

from mrs_assist.evaluation.metrics import latency_summary

STAGES = ("extract", "check", "retrieve", "ask", "determine")


class Stopwatch:
    """Collects durations per stage name."""

    def __init__(self) -> None:
        self.ms: dict[str, list[float]] = defaultdict(list)

    @contextlib.contextmanager
    def time(self, stage: str) -> Iterator[None]:
        """Record the duration of the with-block under ``stage`` (also when it raises)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.ms[stage].append((time.perf_counter() - started) * 1000.0)

    def summary(self) -> dict[str, dict]:
        """{stage: {'n', 'median_ms', 'p95_ms', 'max_ms'}}, the standard stages first."""
        names = list(STAGES) + sorted(set(self.ms) - set(STAGES))
        return {name: latency_summary(self.ms.get(name, [])) for name in names}

#!/usr/bin/env python3
"""Resilience run (operations tooling, not part of the installed package): kill, corrupt, fill
and take down the backends under a running API, then load a scale-out; print the figures.

    .venv/bin/python scripts/resilience.py [--only SCENARIO ...] [--requests N] ...

The scenarios live in tests/support/ (faults, index_faults, load, servers, resilience), beside
the tests that run the short versions of the same code; they need the repository checkout.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.resilience import SCENARIOS, ResilienceOptions, failures, run_resilience, summary_lines  # noqa: E402

from mrs_assist.errors import InvalidRequestError  # noqa: E402


def resilience(
    out: Annotated[Path, typer.Option("--out", help="Folder for resilience.json and server logs.")] = Path("reports/resilience"),
    trials: Annotated[int, typer.Option("--trials", min=1, help="kill -9 trials during `index --rebuild`.")] = 5,
    write_rounds: Annotated[int, typer.Option("--write-rounds", min=1, help="API kills during writes, per database.")] = 3,
    write_requests: Annotated[int, typer.Option("--write-requests", min=20, help="Determinations fired per kill round.")] = 200,
    requests: Annotated[int, typer.Option("--requests", min=1, help="Requests of the mixed load.")] = 600,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1)] = 8,
    max_seconds: Annotated[float, typer.Option("--max-seconds", help="Duration cap of the load.")] = 180.0,
    workers: Annotated[int, typer.Option("--workers", min=1, help="uvicorn workers of the scale-out API.")] = 2,
    timeout: Annotated[float, typer.Option("--timeout", help="backend_timeout_seconds of the APIs started.")] = 3.0,
    only: Annotated[Optional[list[str]], typer.Option("--only", help="Run only these scenarios (repeatable).")] = None,
) -> None:
    """Kill, corrupt, fill and take down the backends under a running API, then load a scale-out; print the figures."""
    unknown = sorted(set(only or []) - set(SCENARIOS))
    if unknown:
        raise InvalidRequestError(f"unknown scenario {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    options = ResilienceOptions(trials=trials, write_rounds=write_rounds, write_requests=write_requests,
                                requests=requests, concurrency=concurrency, max_seconds=max_seconds,
                                workers=workers, timeout=timeout, only=list(only or []))
    report = run_resilience(options, out)
    for line in summary_lines(report):
        typer.echo(line)
    typer.echo(f"figures: {out / 'resilience.json'}")
    bad = failures(report)
    if bad:
        typer.echo(f"FAILED: {', '.join(bad)}", err=True)
        raise SystemExit(1)


if __name__ == "__main__":
    try:
        typer.run(resilience)
    except InvalidRequestError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None

"""A bounded mixed load on a running API, and the check that every acknowledged write is stored.

`run_load` sends a fixed number of requests (stopping early at a duration cap) at a fixed
concurrency, mixing cited answers (``POST /v1/ask``), stored determinations
(``POST /v1/determinations``, 201 with an id = acknowledged) and record reads (one record by
id, or the newest list). `verify_writes` then opens the records database and reports how many
acknowledged records are missing and whether the audit chain verifies.

    python tests/support/load.py --url http://127.0.0.1:8000 --requests 600 \\
        --concurrency 8 --database-url postgresql+psycopg://... [--api-key KEY]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mrs_assist.evaluation.metrics import latency_summary

MIX = (("ask", 0.4), ("determine", 0.3), ("read", 0.3))


@dataclass
class LoadOptions:
    """How much load, and of what."""

    requests: int = 600
    concurrency: int = 8
    max_seconds: float = 120.0
    api_key: str | None = None
    seed: int = 7
    mix: tuple[tuple[str, float], ...] = MIX
    timeout: float = 60.0
    warmup: int = 8
    """Requests of each kind sent first and not timed (each worker loads its models on first use);
    their writes count as acknowledged."""


@dataclass
class LoadResult:
    """What a run did; `summary()` is the JSON-ready figures (ids left out)."""

    requests: int
    concurrency: int
    seconds: float
    sent: int
    errors: Counter = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    acknowledged: list[str] = field(default_factory=list)
    stopped_at_cap: bool = False
    warmup_errors: Counter = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        every = [ms for values in self.latencies.values() for ms in values]
        return {
            "requests": self.requests,
            "sent": self.sent,
            "concurrency": self.concurrency,
            "seconds": round(self.seconds, 2),
            "throughput_rps": round(self.sent / self.seconds, 1) if self.seconds else None,
            "errors": sum(self.errors.values()),
            "errors_by_kind": dict(self.errors),
            "stopped_at_duration_cap": self.stopped_at_cap,
            "warmup_errors": sum(self.warmup_errors.values()),
            "acknowledged_writes": len(self.acknowledged),
            "latency_ms": {"all": latency_summary(every),
                           **{kind: latency_summary(v) for kind, v in sorted(self.latencies.items())}},
        }


def sample_inputs(eval_dir: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """Questions and determination request bodies from the gold evaluation files."""
    from mrs_assist.evaluation.data import load_cases, load_questions

    questions = [q.question for q in load_questions(eval_dir)]
    bodies = []
    for case in load_cases(eval_dir):
        for policy_id in case.expected:
            body: dict[str, Any] = {"policy_id": policy_id, "cpt_codes": case.cpt_codes, "clinical_notes": case.notes,
                                    "patient": {"age_years": case.age_years}}
            if case.facts:
                body["facts"] = case.facts
            bodies.append(body)
    return questions, bodies


async def _run(base_url: str, options: LoadOptions, questions: list[str], bodies: list[dict]) -> LoadResult:
    import httpx

    rng = random.Random(options.seed)
    kinds = rng.choices([k for k, _ in options.mix], weights=[w for _, w in options.mix], k=options.requests)
    result = LoadResult(options.requests, options.concurrency, 0.0, 0)
    headers = {"X-API-Key": options.api_key} if options.api_key else {}
    # No keep-alive: each request connects afresh, so the kernel spreads them over the workers.
    limits = httpx.Limits(max_keepalive_connections=0, max_connections=options.concurrency)
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for item in enumerate(kinds):
        queue.put_nowait(item)

    async with httpx.AsyncClient(base_url=base_url, timeout=options.timeout, limits=limits, headers=headers) as client:
        async def one(i: int, kind: str, *, timed: bool = True) -> None:
            t = time.perf_counter()
            try:
                if kind == "ask":
                    r = await client.post("/v1/ask", json={"question": questions[i % len(questions)]})
                    ok = r.status_code == 200
                elif kind == "determine":
                    r = await client.post("/v1/determinations", json=bodies[i % len(bodies)])
                    ok = r.status_code == 201 and bool(r.json().get("id"))
                    if ok:
                        result.acknowledged.append(r.json()["id"])
                else:
                    known = result.acknowledged
                    if known and i % 3:
                        r = await client.get(f"/v1/determinations/{known[i % len(known)]}")
                    else:
                        r = await client.get("/v1/determinations", params={"limit": 20})
                    ok = r.status_code == 200
                if not ok:
                    (result.errors if timed else result.warmup_errors)[f"{kind}:{r.status_code}"] += 1
            except httpx.HTTPError as exc:
                (result.errors if timed else result.warmup_errors)[f"{kind}:{type(exc).__name__}"] += 1
            if timed:
                result.latencies.setdefault(kind, []).append((time.perf_counter() - t) * 1000)
                result.sent += 1

        warm = [(i, kind) for kind, _ in options.mix for i in range(options.warmup)]
        for start in range(0, len(warm), options.concurrency):
            await asyncio.gather(*(one(i, kind, timed=False) for i, kind in warm[start : start + options.concurrency]))
        started = time.perf_counter()

        async def worker() -> None:
            while not queue.empty():
                if time.perf_counter() - started > options.max_seconds:
                    result.stopped_at_cap = True
                    return
                i, kind = queue.get_nowait()
                await one(i, kind)

        await asyncio.gather(*(worker() for _ in range(options.concurrency)))
    result.seconds = time.perf_counter() - started
    return result


def run_load(base_url: str, options: LoadOptions, *, eval_dir: Path | None = None) -> LoadResult:
    """Send the load (see the module docstring); returns what happened."""
    from mrs_assist.config import get_settings

    questions, bodies = sample_inputs(eval_dir or get_settings().eval_dir)
    return asyncio.run(_run(base_url.rstrip("/"), options, questions, bodies))


def verify_writes(database_url: str, acknowledged: list[str], *, timeout: float | None = None,
                  env: dict[str, str] | None = None) -> dict[str, Any]:
    """Acknowledged ids missing from the database, rows stored, and the audit chain's verdict.

    ``env`` is the environment the API server ran with: its audit key and data directory (where a
    per-install key lives) decide which HMAC key verifies the chain (issue 19: keyed audit)."""
    from sqlalchemy import func, select

    from mrs_assist.config import Settings
    from mrs_assist.records import RecordStore, verify_chain
    from mrs_assist.records.anchor import anchor_for
    from mrs_assist.records.tables import RecordRow

    anchor = None
    if env:
        settings = Settings(**{k: v for k, v in (("audit_key", env.get("MRS_ASSIST_AUDIT_KEY")),
                                                   ("data_dir", env.get("MRS_ASSIST_DATA_DIR"))) if v})
        anchor = anchor_for(database_url, settings)
    store = RecordStore(database_url, migrate=False, timeout=timeout, anchor=anchor)
    with store.db.read() as session:
        stored = session.execute(select(func.count()).select_from(RecordRow)).scalar_one()
        present: set[str] = set()
        ids = list(dict.fromkeys(acknowledged))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            present |= set(session.execute(select(RecordRow.id).where(RecordRow.id.in_(chunk))).scalars())
    chain = verify_chain(store)
    return {
        "acknowledged": len(ids),
        "missing": len(set(ids) - present),
        "records_in_database": stored,
        "chain_ok": chain.ok,
        "chain": chain.summary(),
    }


def main(argv: list[str] | None = None) -> int:
    """`python tests/support/load.py`: print the figures as JSON; exit 1 on any error or loss."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--database-url", default=None, help="Check acknowledged writes and the audit chain.")
    args = parser.parse_args(argv)
    options = LoadOptions(requests=args.requests, concurrency=args.concurrency, max_seconds=args.max_seconds,
                          api_key=args.api_key)
    result = run_load(args.url, options)
    figures: dict[str, Any] = {"load": result.summary()}
    failed = bool(result.errors)
    if args.database_url:
        figures["records"] = verify_writes(args.database_url, result.acknowledged)
        failed = failed or figures["records"]["missing"] > 0 or not figures["records"]["chain_ok"]
    print(json.dumps(figures, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

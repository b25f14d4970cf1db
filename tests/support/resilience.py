"""`scripts/resilience.py`: the long fault and load runs, in one command, with their figures.

Everything runs in a temporary folder on 127.0.0.1 with the real model and corpus:

1. ``index-kill`` — `mrs-assist index --rebuild` killed -9 at random points (``trials``).
2. ``corruption`` — each way of damaging the local Chroma files (`index_faults.CORRUPTIONS`):
   readiness at API start-up, then `mrs-assist index --rebuild` and readiness again.
3. ``writes-sqlite`` / ``writes-postgres`` — kill -9 of the API during concurrent stored
   determinations (``write_rounds`` kills), on SQLite and on PostgreSQL.
4. ``disk-full`` — the SQLite records file on a 2 MiB tmpfs.
5. The scale-out topology (as `scripts/scale-out.sh` starts it: a `chroma run` server, a
   PostgreSQL cluster, the index built into the server, ``workers`` uvicorn workers with API
   keys) for ``load`` — a bounded mixed load, then the records and audit chain checked — and
   ``outages`` — Chroma and PostgreSQL each killed and frozen under the running API.

Figures go to ``<out>/resilience.json`` and, summarised, to stdout; server logs to ``<out>/logs``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import faults, index_faults
from .load import LoadOptions, run_load, verify_writes
from .servers import ApiServer, ChromaServer, PostgresServer

SCENARIOS = ("index-kill", "corruption", "writes-sqlite", "writes-postgres", "disk-full", "load", "outages")


@dataclass
class ResilienceOptions:
    """How long and how hard."""

    trials: int = 5
    write_rounds: int = 3
    write_requests: int = 200
    requests: int = 600
    concurrency: int = 8
    max_seconds: float = 180.0
    workers: int = 2
    timeout: float = 3.0
    """backend_timeout_seconds of every API started."""
    only: list[str] = field(default_factory=list)

    def wants(self, name: str) -> bool:
        return not self.only or name in self.only


class ScaleOut:
    """The scale-out topology of scripts/scale-out.sh, from Python: Chroma server, PostgreSQL,
    the index built into the server, N uvicorn workers with API keys (auth on)."""

    def __init__(self, root: Path, *, workers: int, timeout: float, logs: Path) -> None:
        from mrs_assist.auth import generate_api_key

        self.root, self.workers, self.timeout, self.logs = root, workers, timeout, logs
        root.mkdir(parents=True, exist_ok=True)
        self.key, digest = generate_api_key()
        self.keys_file = root / "api-keys.yaml"
        self.keys_file.write_text(yaml.safe_dump({digest: {"user": "load-reviewer", "role": "reviewer"}}))
        self.chroma = ChromaServer(root / "chroma")
        self.pg = PostgresServer(durable=True)  # its own temporary folder: the postgres user must reach it
        self.api: ApiServer | None = None
        self.database_url = ""
        self.index_seconds = 0.0

    def env(self, database_url: str | None = None) -> dict[str, str]:
        return {
            "MRS_ASSIST_DATA_DIR": str(self.root / "data"),
            "MRS_ASSIST_CHROMA_URL": self.chroma.url,
            "MRS_ASSIST_DATABASE_URL": database_url or self.database_url,
            "MRS_ASSIST_AUTH": "on",
            "MRS_ASSIST_API_KEYS_FILE": str(self.keys_file),
            "MRS_ASSIST_BACKEND_TIMEOUT_SECONDS": str(self.timeout),
            "MRS_ASSIST_RATE_LIMIT_PER_MINUTE": "6000",
        }

    def __enter__(self) -> ScaleOut:
        try:
            self.chroma.start()
            self.pg.start()
            self.database_url = self.pg.create_database("mrs_assist")
            started = time.perf_counter()
            subprocess.run([*faults.cli(), "index"], env={**os.environ, **self.env()}, check=True,
                           capture_output=True, text=True)
            self.index_seconds = time.perf_counter() - started
            self.api = ApiServer(self.env(), workers=self.workers, log=self.logs / "scale-out-api.log").start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.api is not None:
            self.api.stop()
        self.chroma.thaw()
        self.chroma.stop()
        self.pg.destroy()
        for log in (self.chroma.log, self.pg.root / "server.log"):
            if log.exists():
                shutil.copy(log, self.logs / f"scale-out-{log.name}")


def run_resilience(options: ResilienceOptions, out: Path) -> dict[str, Any]:
    """Run the chosen scenarios; write out/resilience.json; return the figures."""
    out.mkdir(parents=True, exist_ok=True)
    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="mrs-resilience-"))
    report: dict[str, Any] = {"options": asdict(options), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    started = time.perf_counter()
    base = {"MRS_ASSIST_RATE_LIMIT_PER_MINUTE": "0", "MRS_ASSIST_BACKEND_TIMEOUT_SECONDS": str(options.timeout)}
    try:
        if options.wants("index-kill") or options.wants("corruption"):
            local = {**base, "MRS_ASSIST_DATA_DIR": str(root / "local" / "data")}
            began = time.perf_counter()
            subprocess.run([*faults.cli(), "index"], env={**os.environ, **local}, check=True, capture_output=True)
            report["local_index_build_s"] = round(time.perf_counter() - began, 1)
            shutil.copytree(root / "local" / "data" / "index", root / "local" / "pristine")
            if options.wants("index-kill"):
                report["index_kill"] = index_faults.index_kill_trials(local, trials=options.trials)
            if options.wants("corruption"):
                report["corruption"] = index_faults.corrupt_and_recover(
                    local, root / "local" / "pristine", list(index_faults.CORRUPTIONS), log=logs / "corruption-api.log")
        if options.wants("writes-sqlite"):
            data = root / "sqlite" / "data"
            report["writes_kill_sqlite"] = faults.kill_during_writes(
                {**base, "MRS_ASSIST_DATA_DIR": str(data)}, f"sqlite:///{data / 'records.sqlite3'}",
                rounds=options.write_rounds, requests=options.write_requests, concurrency=options.concurrency,
                workers=options.workers, eval_dir=_eval_dir(), log=logs / "writes-sqlite-api.log")
        if options.wants("disk-full"):
            report["disk_full"] = faults.disk_full(root / "disk", timeout=options.timeout, log=logs / "disk-full-api.log")
        if any(options.wants(s) for s in ("writes-postgres", "load", "outages")):
            with ScaleOut(root / "scale-out", workers=options.workers, timeout=options.timeout, logs=logs) as topo:
                report["scale_out_index_build_s"] = round(topo.index_seconds, 1)
                if options.wants("load"):
                    report["load"] = _load(topo, options)
                if options.wants("writes-postgres"):
                    url = topo.pg.create_database("kill_writes")
                    report["writes_kill_postgres"] = faults.kill_during_writes(
                        topo.env(url), url, rounds=options.write_rounds, requests=options.write_requests,
                        concurrency=options.concurrency, workers=options.workers, eval_dir=_eval_dir(),
                        api_key=topo.key, log=logs / "writes-postgres-api.log")
                if options.wants("outages"):
                    report["outages"] = _outages(topo)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        report["seconds"] = round(time.perf_counter() - started, 1)
        (out / "resilience.json").write_text(json.dumps(report, indent=2, default=str))
    return report


def _eval_dir() -> Path:
    from mrs_assist.config import get_settings

    return get_settings().eval_dir


def _load(topo: ScaleOut, options: ResilienceOptions) -> dict[str, Any]:
    import httpx

    load_options = LoadOptions(requests=options.requests, concurrency=options.concurrency,
                               max_seconds=options.max_seconds, api_key=topo.key)
    result = run_load(topo.api.url, load_options)
    figures = result.summary()
    figures["workers"] = topo.workers
    figures["records"] = verify_writes(topo.database_url, result.acknowledged)
    figures["readiness_after"] = httpx.get(f"{topo.api.url}/readyz", timeout=30).status_code
    return figures


def _outages(topo: ScaleOut) -> list[dict[str, Any]]:
    headers = {"X-API-Key": topo.key}
    results, acknowledged = [], []
    for kind, server in (("chroma", topo.chroma), ("database", topo.pg)):
        for mode in ("stop", "freeze"):
            figures = faults.backend_outage(topo.api.url, server, kind=kind, mode=mode, headers=headers)
            acknowledged += figures.pop("acknowledged")
            results.append(figures)
    checked = verify_writes(topo.database_url, acknowledged)
    results.append({"acknowledged_during_outage_runs": checked["acknowledged"], "missing": checked["missing"],
                    "chain_ok": checked["chain_ok"]})
    return results


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The headline figures, one line each."""
    lines = []
    if k := report.get("index_kill"):
        lines.append(f"index kill -9: {k['trials']} trials (rebuild {k['build_seconds']} s, writing phase "
                     f"{k['writing_phase_seconds']} s), {k['killed_mid_build']} killed "
                     f"mid-build; index answered after kill {k['index_answered_after_kill']}/{k['trials']} "
                     f"(previous generation {k['previous_generation_answered']}); reruns with the same count "
                     f"{k['reruns_with_same_count']}/{k['trials']}")
    for c in report.get("corruption", []):
        lines.append(f"corruption {c['mode']}: liveness {c['liveness']}, readiness {c['readiness_at_start']} "
                     f"({c['readiness_code']}), ask {c['ask_while_damaged']}; --rebuild {c['rebuild_seconds']} s "
                     f"→ readiness {c['readiness_after_rebuild']} after {c['ready_again_after_rebuild_s']} s, "
                     f"ask {c['ask_after_rebuild']}")
    for name in ("writes_kill_sqlite", "writes_kill_postgres"):
        if w := report.get(name):
            lines.append(f"{name.replace('_', ' ')}: {w['kills']} kills, {w['requests_sent']} sent, "
                         f"{w['acknowledged']} acknowledged, {w['missing_in_database']} lost "
                         f"({w['missing_via_api']} via API), 5xx before kill {w['http_5xx_before_kill']}, "
                         f"chain {'OK' if w['chain_ok'] else 'BROKEN'}, restarts {w['restart_seconds']} s")
    if d := report.get("disk_full"):
        lines.append(f"disk full ({d['mode']}): {d['acknowledged_before_full']} acknowledged before full, "
                     f"statuses {d['statuses_while_filling']}, 500s {d['http_500s']}, liveness {d['liveness_while_full']}, "
                     f"after freeing {d['statuses_after_freeing']}, lost {d['missing_in_database']}, "
                     f"chain {'OK' if d['chain_ok'] else 'BROKEN'}")
    if ld := report.get("load"):
        lat = ld["latency_ms"]
        lines.append(f"load ({ld['workers']} workers, concurrency {ld['concurrency']}): {ld['sent']}/{ld['requests']} "
                     f"in {ld['seconds']} s = {ld['throughput_rps']} req/s, errors {ld['errors']}; "
                     f"p50 {lat['all']['median_ms']} ms, p95 {lat['all']['p95_ms']} ms; "
                     + ", ".join(f"{k} p50/p95 {v['median_ms']}/{v['p95_ms']} ms" for k, v in lat.items() if k != "all"))
        r = ld["records"]
        lines.append(f"load records: {r['acknowledged']} acknowledged, {r['records_in_database']} in the database, "
                     f"{r['missing']} missing, chain {'OK' if r['chain_ok'] else 'BROKEN'}")
    for o in report.get("outages", []):
        if "backend" in o:
            lines.append(f"outage {o['backend']} {o['mode']}: during {o['statuses_during']} "
                         f"(slowest {o['slowest_answer_during_s']} s, readiness {o['readiness_during']}); "
                         f"first request after return {o['first_request_after']} in {o['first_request_after_s']} s, "
                         f"next {o['next_requests_ok']}/{o['next_requests']} OK")
        else:
            lines.append(f"outage writes: {o['acknowledged_during_outage_runs']} acknowledged, {o['missing']} missing, "
                         f"chain {'OK' if o['chain_ok'] else 'BROKEN'}")
    lines.append(f"total {report.get('seconds')} s")
    return lines


def failures(report: dict[str, Any]) -> list[str]:
    """What fell short of the promise (empty: every scenario held)."""
    bad = []
    if k := report.get("index_kill"):
        if k["index_answered_after_kill"] != k["trials"] or k["reruns_with_same_count"] != k["trials"]:
            bad.append("index-kill")
    for c in report.get("corruption", []):
        if c["liveness"] != 200 or c["readiness_after_rebuild"] != 200 or c["ask_after_rebuild"] != 200:
            bad.append(f"corruption {c['mode']}")
    for name in ("writes_kill_sqlite", "writes_kill_postgres"):
        if (w := report.get(name)) and (w["missing_in_database"] or w["missing_via_api"] or not w["chain_ok"]
                                        or w["http_5xx_before_kill"]):
            bad.append(name)
    if (d := report.get("disk_full")) and (d["http_500s"] or d["missing_in_database"] or not d["chain_ok"]
                                           or d["statuses_after_freeing"] != [201] * 5):
        bad.append("disk-full")
    if (ld := report.get("load")) and (ld["errors"] or ld["records"]["missing"] or not ld["records"]["chain_ok"]):
        bad.append("load")
    for o in report.get("outages", []):
        if "backend" in o and (set(o["statuses_during"]) != {"503"} or o["next_requests_ok"] != o["next_requests"]):
            bad.append(f"outage {o['backend']} {o['mode']}")
        if "missing" in o and (o["missing"] or not o["chain_ok"]):
            bad.append("outage writes")
    return bad

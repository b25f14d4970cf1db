"""Fault scenarios against real processes, each returning its figures as a dict.

Used by `scripts/resilience.py` (long runs) and by tests/integration/test_faults*.py (short runs of the
same code). Every server runs on 127.0.0.1 (`tests/support/servers.py`); every process started is
stopped by its own id.

- `kill_during_writes`: concurrent stored determinations, the API killed -9 mid-way, restarted;
  every acknowledged record (201 with an id) must be present and the audit chain must verify.
- `disk_full`: the SQLite records file on a 2 MiB tmpfs (else a loop-mounted ext4 image, else
  an SQLite page limit in-process — the figures say which): writes answer 503 JSON once full,
  nothing acknowledged is lost, and writes work again once space is freed.
- `backend_outage`: the Chroma server or PostgreSQL killed or frozen under a running API.

The index's faults (kill -9 during builds, damaged Chroma files) are in `index_faults`.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from .load import sample_inputs, verify_writes
from .servers import ApiServer

ASK = "What metabolites does MR spectroscopy measure in the brain?"
"""A question only retrieval answers (a coverage question is answered from the criteria trees,
which need no index)."""
DETERMINATION = {
    "policy_id": "cohere-mrs",
    "cpt_codes": ["76390"],
    "clinical_notes": "Known glioblastoma after radiation; MRI equivocal for recurrence versus radiation necrosis.",
    "patient": {"age_years": 54},
}


def cli() -> list[str]:
    """The `mrs-assist` command of this interpreter."""
    exe = Path(sys.executable).with_name("mrs-assist")
    return [str(exe)] if exe.exists() else [sys.executable, "-c", "from mrs_assist.cli import main; main()"]


def _bodies(eval_dir: Path | None) -> list[dict[str, Any]]:
    if eval_dir is None:
        return [DETERMINATION]
    return sample_inputs(eval_dir)[1] or [DETERMINATION]


# --- kill -9 during writes ------------------------------------------------------------------
async def _fire(url: str, bodies: list[dict], *, concurrency: int, cap: int, kill_after: int, kill,
                headers: dict[str, str]) -> dict[str, Any]:
    """POST determinations until `kill_after` are acknowledged, kill the server, drain; returns figures."""
    acknowledged: list[str] = []
    outcomes: Counter = Counter()
    state = {"sent": 0, "killed": False, "after_kill": 0}
    limits = httpx.Limits(max_keepalive_connections=0)
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits, headers=headers) as client:
        async def worker() -> None:
            while state["sent"] < cap and state["after_kill"] < 2 * concurrency:
                i = state["sent"]
                state["sent"] += 1
                try:
                    r = await client.post("/v1/determinations", json=bodies[i % len(bodies)])
                    if r.status_code == 201 and r.json().get("id"):
                        acknowledged.append(r.json()["id"])
                    outcomes[str(r.status_code)] += 1
                except httpx.HTTPError as exc:
                    outcomes[type(exc).__name__] += 1
                if state["killed"]:
                    state["after_kill"] += 1
                elif len(acknowledged) >= kill_after:
                    state["killed"] = True
                    await loop.run_in_executor(None, kill)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"acknowledged": acknowledged, "outcomes": outcomes, "sent": state["sent"], "killed": state["killed"]}


def kill_during_writes(env: dict[str, str], database_url: str, *, rounds: int = 3, requests: int = 200,
                       concurrency: int = 8, workers: int = 1, seed: int = 11, eval_dir: Path | None = None,
                       api_key: str | None = None, log: Path | None = None) -> dict[str, Any]:
    """`rounds` times: fire POST /v1/determinations, kill -9 the API mid-way, restart it; then check."""
    rng = random.Random(seed)
    bodies = _bodies(eval_dir)
    api = ApiServer(env, workers=workers, log=log)
    acknowledged: list[str] = []
    outcomes: Counter = Counter()
    restarts: list[float] = []
    kills = 0
    headers = {"X-API-Key": api_key} if api_key else {}
    api.start()
    try:
        for _ in range(rounds):
            kill_after = rng.randint(requests // 5, requests // 2)
            fired = asyncio.run(_fire(api.url, bodies, concurrency=concurrency, cap=requests,
                                      kill_after=kill_after, kill=api.kill9, headers=headers))
            kills += fired["killed"]
            acknowledged += fired["acknowledged"]
            outcomes.update(fired["outcomes"])
            started = time.perf_counter()
            api.start()
            restarts.append(time.perf_counter() - started)
        missing_via_api = sum(
            1 for rid in acknowledged
            if httpx.get(f"{api.url}/v1/determinations/{rid}", headers=headers, timeout=30).status_code != 200
        )
    finally:
        api.stop()
    checked = verify_writes(database_url, acknowledged, env=env)
    server_errors = sum(n for code, n in outcomes.items() if code.isdigit() and code.startswith("5"))
    return {
        "rounds": rounds,
        "kills": kills,
        "requests_sent": sum(outcomes.values()),
        "acknowledged": len(acknowledged),
        "unacknowledged_or_failed": sum(outcomes.values()) - len(acknowledged),
        "http_5xx_before_kill": server_errors,
        "outcomes": dict(outcomes),
        "missing_in_database": checked["missing"],
        "missing_via_api": missing_via_api,
        "records_in_database": checked["records_in_database"],
        "chain_ok": checked["chain_ok"],
        "chain": checked["chain"],
        "restart_seconds": [round(s, 2) for s in restarts],
    }


# --- disk full --------------------------------------------------------------------------------
def mount_small_fs(where: Path, size_mib: int = 2) -> str | None:
    """Mount a tiny filesystem at `where`: 'tmpfs', else 'ext4-loop'; None when mounting is not permitted."""
    where.mkdir(parents=True, exist_ok=True)
    tmpfs = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs", str(where)],
                           capture_output=True, text=True)
    if tmpfs.returncode == 0:
        return "tmpfs"
    image = where.with_suffix(".img")
    try:
        with image.open("wb") as fh:
            fh.truncate(max(size_mib, 4) * 1024 * 1024)  # ext4 needs a little room for itself
        subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True, capture_output=True)
        subprocess.run(["mount", "-o", "loop", str(image), str(where)], check=True, capture_output=True)
        return "ext4-loop"
    except (OSError, subprocess.CalledProcessError):
        image.unlink(missing_ok=True)
        return None


def unmount(where: Path) -> None:
    """Unmount what `mount_small_fs` mounted (lazily if still busy)."""
    if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)
    where.with_suffix(".img").unlink(missing_ok=True)


def _fill_until_full(post, get_health, *, limit: int = 2000, full_streak: int = 8) -> dict[str, Any]:
    """POST until `full_streak` answers in a row are not 201; returns statuses, bodies and ids."""
    acknowledged: list[str] = []
    statuses: Counter = Counter()
    errors: Counter = Counter()
    streak = 0
    first_failure_after = None
    for _ in range(limit):
        status, body = post()
        statuses[str(status)] += 1
        if status == 201:
            acknowledged.append(body["id"])
            streak = 0
            continue
        if first_failure_after is None:
            first_failure_after = len(acknowledged)
        code = (body.get("error") or {}).get("code") if isinstance(body, dict) else None
        errors[f"{status} {code}: {(body.get('error') or {}).get('message', '')}" if code else f"{status} (not JSON)"] += 1
        streak += 1
        if streak >= full_streak:
            break
    return {"acknowledged": acknowledged, "statuses": statuses, "errors": errors,
            "first_failure_after": first_failure_after, "liveness_while_full": get_health()}


def disk_full(root: Path, *, timeout: float = 5.0, size_mib: int = 2, force_fallback: bool = False,
              log: Path | None = None) -> dict[str, Any]:
    """The records SQLite file on a tiny filesystem: 503 JSON when full, nothing lost, writes resume once freed."""
    mnt = root / "small-fs"
    mode = None if force_fallback else mount_small_fs(mnt, size_mib)
    if mode is None:
        return _disk_full_page_limit(root, timeout=timeout)
    try:
        ballast = mnt / "ballast"
        ballast.write_bytes(os.urandom(512 * 1024))  # room for five records once freed (audit checkpoints live here too)
        data = mnt / "data"
        env = {"MRS_ASSIST_DATA_DIR": str(data), "MRS_ASSIST_RATE_LIMIT_PER_MINUTE": "0",
               "MRS_ASSIST_BACKEND_TIMEOUT_SECONDS": str(timeout)}
        api = ApiServer(env, log=log).start()
        try:
            def post():
                r = httpx.post(f"{api.url}/v1/determinations", json=DETERMINATION, timeout=60)
                try:
                    return r.status_code, r.json()
                except ValueError:
                    return r.status_code, None

            filled = _fill_until_full(post, lambda: httpx.get(f"{api.url}/healthz", timeout=10).status_code)
            read_while_full = (
                httpx.get(f"{api.url}/v1/determinations/{filled['acknowledged'][-1]}", timeout=30).status_code
                if filled["acknowledged"] else None
            )
            usage = shutil.disk_usage(mnt)
            ballast.unlink()
            after = [post() for _ in range(5)]
            filled["acknowledged"] += [b["id"] for s, b in after if s == 201]
        finally:
            api.stop()
        checked = verify_writes(f"sqlite:///{data / 'records.sqlite3'}", filled["acknowledged"])
    finally:
        unmount(mnt)
    return _disk_full_figures(f"{mode} {size_mib} MiB", filled, read_while_full, usage.free, after, checked)


def _disk_full_figures(mode, filled, read_while_full, free_bytes, after, checked) -> dict[str, Any]:
    return {
        "mode": mode,
        "acknowledged_before_full": filled["first_failure_after"],
        "statuses_while_filling": dict(filled["statuses"]),
        "errors": dict(filled["errors"]),
        "http_500s": filled["statuses"].get("500", 0),
        "liveness_while_full": filled["liveness_while_full"],
        "read_while_full": read_while_full,
        "free_bytes_when_full": free_bytes,
        "statuses_after_freeing": [s for s, _ in after],
        "acknowledged_total": checked["acknowledged"],
        "missing_in_database": checked["missing"],
        "records_in_database": checked["records_in_database"],
        "chain_ok": checked["chain_ok"],
    }


def _disk_full_page_limit(root: Path, *, timeout: float) -> dict[str, Any]:
    """Fallback when nothing can be mounted: SQLite's max_page_count caps the file, API in-process."""
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from mrs_assist.api import create_app
    from mrs_assist.config import Settings
    from mrs_assist.records import RecordStore, database_url, dispose_engine
    from mrs_assist.records.db import get_engine
    from mrs_assist.service import Services

    settings = Settings(data_dir=root / "page-limit", rate_limit_per_minute=0, backend_timeout_seconds=timeout)
    url = database_url(settings)
    with RecordStore(url, timeout=timeout).db.read() as session:  # migrated, then measured
        used = session.connection().exec_driver_sql("PRAGMA page_count").scalar()
    dispose_engine(url)
    engine = get_engine(url, timeout=timeout)
    limit = {"pages": used + 60}

    @event.listens_for(engine, "connect")
    def _limit(dbapi_connection, _record) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {limit['pages']}")

    app = create_app(services=Services(settings, records=RecordStore(url, migrate=False, timeout=timeout)))
    client = TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False)  # keyless: loopback Host only

    def post():
        r = client.post("/v1/determinations", json=DETERMINATION)
        try:
            return r.status_code, r.json()
        except ValueError:
            return r.status_code, None

    filled = _fill_until_full(post, lambda: client.get("/healthz").status_code)
    read_while_full = (client.get(f"/v1/determinations/{filled['acknowledged'][-1]}").status_code
                       if filled["acknowledged"] else None)
    limit["pages"] += 400  # space freed
    engine.dispose()  # new connections take the new limit
    after = [post() for _ in range(5)]
    filled["acknowledged"] += [b["id"] for s, b in after if s == 201]
    checked = verify_writes(url, filled["acknowledged"])
    dispose_engine(url)
    return _disk_full_figures("sqlite max_page_count (no filesystem could be mounted)", filled, read_while_full, 0, after, checked)


# --- a backend down or frozen ----------------------------------------------------------------
def _timed(method: str, url: str, **kwargs) -> tuple[int | str, float, dict | None]:
    started = time.perf_counter()
    try:
        r = httpx.request(method, url, timeout=120, **kwargs)
        try:
            body = r.json()
        except ValueError:
            body = None
        return r.status_code, time.perf_counter() - started, body
    except httpx.HTTPError as exc:
        return type(exc).__name__, time.perf_counter() - started, None


def backend_outage(api_url: str, server, *, kind: str, mode: str, headers: dict[str, str] | None = None,
                   down_requests: int = 3, after_requests: int = 10, question: str = ASK) -> dict[str, Any]:
    """Take the Chroma server (`kind` 'chroma') or PostgreSQL ('database') down — `mode` 'stop'
    (killed) or 'freeze' (SIGSTOP: accepts connections, never answers) — and back.

    Requests during the outage must answer 503 JSON within the backend timeout; the first
    request after the server returns must succeed, without restarting the API.
    """
    headers = headers or {}
    if kind == "chroma":
        call = ("POST", f"{api_url}/v1/ask", {"json": {"question": question}})
        ok_status = 200
    else:
        call = ("POST", f"{api_url}/v1/determinations", {"json": DETERMINATION})
        ok_status = 201
    method, url, kwargs = call
    acknowledged: list[str] = []

    def request() -> tuple[int | str, float, dict | None]:
        status, seconds, body = _timed(method, url, headers=headers, **kwargs)
        if status == 201 and body and body.get("id"):
            acknowledged.append(body["id"])
        return status, seconds, body

    before = request()[0]
    if mode == "stop":
        server.kill() if kind == "chroma" else server.stop("immediate")
    else:
        server.freeze()
    try:
        during = [request() for _ in range(down_requests)]
        ready = _timed("GET", f"{api_url}/readyz")
    finally:
        started = time.perf_counter()
        if mode == "stop":
            server.start()
        else:
            server.thaw()
        back_s = time.perf_counter() - started
    first = request()
    after = [request()[0] for _ in range(after_requests)]
    codes = Counter(str(status) for status, _, _ in during)
    messages = sorted({(b or {}).get("error", {}).get("message", "") for _, _, b in during if b})
    return {
        "backend": kind,
        "mode": mode,
        "status_before": before,
        "statuses_during": dict(codes),
        "error_codes_during": sorted({(b or {}).get("error", {}).get("code", "") for _, _, b in during if b}),
        "message_during": messages[0] if messages else None,
        "slowest_answer_during_s": round(max(s for _, s, _ in during), 2),
        "answers_during_s": [round(s, 2) for _, s, _ in during],
        "readiness_during": ready[0],
        "readiness_message": ((ready[2] or {}).get("error") or {}).get("message"),
        "server_back_after_s": round(back_s, 2),
        "first_request_after": first[0],
        "first_request_after_s": round(first[1], 2),
        "next_requests_ok": sum(status == ok_status for status in after),
        "next_requests": after_requests,
        "acknowledged": acknowledged,
    }

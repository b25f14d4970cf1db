"""The index under faults, against real processes, each scenario returning its figures.

- `index_kill_trials`: `mrs-assist index --rebuild` killed -9 at random points of its writing
  phase; the index must still answer and pass its self-check, and a rerun must complete with
  the same count.
- `corrupt_and_recover`: damage the local Chroma files (`CORRUPTIONS`), start the API:
  readiness 503 (liveness 200), then `mrs-assist index --rebuild` brings readiness back
  without restarting the API.

Used by `scripts/resilience.py` and tests/test_readiness.py (see `faults` for the others).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from .faults import ASK, cli
from .servers import ApiServer


def _writing_started(index_dir: Path) -> bool:
    """True once a build has cleared the manifest's fingerprint: it is about to write Chroma."""
    from mrs_assist.index import store

    manifest = store.read_manifest(index_dir)
    return manifest is not None and manifest.get("fingerprint") is None


def _start_rebuild(env: dict[str, str], index_dir: Path, limit: float = 300) -> tuple[subprocess.Popen, float]:
    """`mrs-assist index --rebuild` started and followed until it begins writing; (process, seconds to that)."""
    started = time.perf_counter()
    proc = subprocess.Popen([*cli(), "index", "--rebuild"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    while not _writing_started(index_dir):
        if proc.poll() is not None or time.perf_counter() - started > limit:
            break
        time.sleep(0.01)
    return proc, time.perf_counter() - started


def index_kill_trials(env: dict[str, str], *, trials: int = 5, seed: int = 5) -> dict[str, Any]:
    """Kill `mrs-assist index --rebuild` -9 at random points of its writing phase (after it loaded
    the model and began writing the new generation, until it would have finished); the index must
    answer (the previous generation, or the complete new one if the pointer had moved), and a
    rerun must complete with the same count."""
    from mrs_assist.config import Settings
    from mrs_assist.index import selfcheck, store
    from mrs_assist.retrieve import Retriever

    settings = Settings(data_dir=Path(env["MRS_ASSIST_DATA_DIR"]))
    before = store.read_manifest(settings.index_dir)
    if before is None:
        raise RuntimeError("index_kill_trials needs a built index in MRS_ASSIST_DATA_DIR")
    rng = random.Random(seed)
    full_env = {**os.environ, **env}
    # One undisturbed rebuild measures the writing phase the kills are spread over.
    began = time.perf_counter()
    proc, to_writing = _start_rebuild(full_env, settings.index_dir)
    proc.wait()
    build_seconds = time.perf_counter() - began
    writing_seconds = max(0.1, build_seconds - to_writing)
    results = []
    for n in range(1, trials + 1):
        previous = store.read_manifest(settings.index_dir)
        kill_at = rng.uniform(0.0, writing_seconds)
        proc, _ = _start_rebuild(full_env, settings.index_dir)
        time.sleep(kill_at)
        finished_first = proc.poll() is not None
        if not finished_first:
            proc.kill()
        proc.wait(timeout=60)
        store.reset_local_client(settings)  # read the files as a new process would
        answered = None
        try:
            retriever = Retriever.from_settings(settings)
            hits = retriever.search(ASK).hits
            answered = {"generation": retriever.generation, "chunks": len(retriever._state.ids),
                        "top_clause": hits[0].clause_id if hits else None}
        except Exception as exc:  # noqa: BLE001 - reported as a failed trial
            answered = {"error": f"{type(exc).__name__}: {exc}"}
        check = selfcheck.check_index(settings)
        started = time.perf_counter()
        rerun = subprocess.run([*cli(), "index"], env=full_env, capture_output=True, text=True)
        rerun_s = time.perf_counter() - started
        after = store.read_manifest(settings.index_dir) or {}
        store.reset_local_client(settings)
        generations = list(store.list_generations(store.open_client(settings), settings.collection))
        results.append({
            "trial": n,
            "kill_after_writing_began_s": round(kill_at, 2),
            "killed_mid_build": not finished_first,
            "previous_generation": previous.get("generation"),
            "answered_from": answered,
            # the previous generation answers; or, killed after the pointer moved, the complete new one
            "index_answered": "error" not in answered and answered.get("chunks") == previous.get("total")
            and check.ok,
            "previous_answered": answered.get("generation") == previous.get("generation")
            and answered.get("chunks") == previous.get("total"),
            "selfcheck_after_kill": check.code,
            "rerun_exit": rerun.returncode,
            "rerun_seconds": round(rerun_s, 1),
            "rerun_total": after.get("total"),
            "same_count": after.get("total") == before.get("total"),
            "generations_left": generations,
        })
    return {
        "trials": trials,
        "build_seconds": round(build_seconds, 1),
        "writing_phase_seconds": round(writing_seconds, 1),
        "killed_mid_build": sum(r["killed_mid_build"] for r in results),
        "index_answered_after_kill": sum(r["index_answered"] for r in results),
        "previous_generation_answered": sum(r["previous_answered"] for r in results),
        "reruns_with_same_count": sum(r["same_count"] and r["rerun_exit"] == 0 for r in results),
        "details": results,
    }


CORRUPTIONS: dict[str, str] = {
    "truncate-sqlite": "chroma.sqlite3 truncated to half its size",
    "overwrite-sqlite-header": "first 4 KiB of chroma.sqlite3 overwritten with random bytes",
    "overwrite-sqlite-pages": "2 KiB of random bytes every 64 KiB of chroma.sqlite3",
    "empty-sqlite": "chroma.sqlite3 truncated to 0 bytes",
    "truncate-segments": "every HNSW segment file truncated to half",
    "delete-segments": "every HNSW segment folder deleted",
}


def corrupt(chroma_dir: Path, mode: str, *, seed: int = 3) -> None:
    """Damage a local Chroma folder the way `mode` (a CORRUPTIONS key) says."""
    rng = random.Random(seed)
    db = chroma_dir / "chroma.sqlite3"
    segments = [p for p in chroma_dir.iterdir() if p.is_dir()]
    if mode == "truncate-sqlite":
        os.truncate(db, db.stat().st_size // 2)
    elif mode == "overwrite-sqlite-header":
        with db.open("r+b") as fh:
            fh.write(rng.randbytes(4096))
    elif mode == "overwrite-sqlite-pages":
        size = db.stat().st_size
        with db.open("r+b") as fh:
            for offset in range(8192, size, 65536):
                fh.seek(offset)
                fh.write(rng.randbytes(2048))
    elif mode == "empty-sqlite":
        os.truncate(db, 0)
    elif mode == "truncate-segments":
        for seg in segments:
            for f in seg.iterdir():
                os.truncate(f, f.stat().st_size // 2)
    elif mode == "delete-segments":
        for seg in segments:
            shutil.rmtree(seg)
    else:
        raise ValueError(f"unknown corruption {mode!r}; known: {', '.join(CORRUPTIONS)}")


def _poll_ready(url: str, *, want: int, timeout: float) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    while True:
        r = httpx.get(f"{url}/readyz", timeout=60)
        if r.status_code == want or time.perf_counter() - started > timeout:
            return r, time.perf_counter() - started
        time.sleep(0.2)


def corrupt_and_recover(env: dict[str, str], pristine_index: Path, modes: list[str], *,
                        question: str = ASK, log: Path | None = None) -> list[dict[str, Any]]:
    """For each mode: damaged files → API start → readiness → `index --rebuild` → readiness again."""
    data = Path(env["MRS_ASSIST_DATA_DIR"])
    results = []
    for mode in modes:
        shutil.rmtree(data / "index", ignore_errors=True)
        shutil.copytree(pristine_index, data / "index")
        corrupt(data / "index" / "chroma", mode)
        api = ApiServer(env, log=log).start()
        try:
            live = httpx.get(f"{api.url}/healthz", timeout=30).status_code
            ready, _ = _poll_ready(api.url, want=503, timeout=5)
            ask = httpx.post(f"{api.url}/v1/ask", json={"question": question}, timeout=60)
            started = time.perf_counter()
            rebuild = subprocess.run([*cli(), "index", "--rebuild"], env={**os.environ, **env},
                                     capture_output=True, text=True)
            rebuild_s = time.perf_counter() - started
            again, waited = _poll_ready(api.url, want=200, timeout=30)
            ask_after = httpx.post(f"{api.url}/v1/ask", json={"question": question}, timeout=60)
        finally:
            api.stop()
        body = ready.json()
        results.append({
            "mode": mode,
            "what": CORRUPTIONS[mode],
            "liveness": live,
            "readiness_at_start": ready.status_code,
            "readiness_code": body.get("checks", {}).get("index", {}).get("code"),
            "readiness_message": body.get("error", {}).get("message") or body.get("checks", {}).get("index", {}).get("message"),
            "ask_while_damaged": ask.status_code,
            "rebuild_exit": rebuild.returncode,
            "rebuild_seconds": round(rebuild_s, 1),
            "readiness_after_rebuild": again.status_code,
            "ready_again_after_rebuild_s": round(waited, 2),
            "ask_after_rebuild": ask_after.status_code,
        })
    return results

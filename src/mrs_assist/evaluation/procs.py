"""Child processes for the benchmarks: timed runs with peak memory, and a uvicorn server
under a bounded-concurrency load (loopback only; every process is stopped by its own id)."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mrs_assist.evaluation.metrics import latency_summary


def run_child(cmd: list[str], env: dict[str, str], timeout: float = 600) -> tuple[float, int, int]:
    """(wall seconds, exit code, peak RSS in KiB) of one child process.

    Peak RSS is the child's own VmHWM, polled from /proc while it runs: the kernel's
    ru_maxrss of a child counts the RSS of the process it was forked from (this one).
    """
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = started + timeout
    peak_kib = 0
    while proc.poll() is None:
        peak_kib = max(peak_kib, _hwm_kib(proc.pid) or 0)
        if time.perf_counter() > deadline:
            proc.kill()
            proc.wait()
            break
        time.sleep(0.01)
    return time.perf_counter() - started, proc.returncode, peak_kib


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    try:
        out = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            out += [int(c) for c in (task / "children").read_text().split()]
        return out
    except OSError:
        return []


def _hwm_kib(pid: int) -> int | None:
    """Peak resident set (VmHWM) of a live process in KiB, from /proc (None if unreadable)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _hwm_mib(pid: int) -> float | None:
    kib = _hwm_kib(pid)
    return None if kib is None else round(kib / 1024, 1)


async def _load(port: int, questions: list[str], total: int, concurrency: int) -> dict:
    import httpx

    ms: list[float] = []
    errors: dict[str, int] = {}
    gate = asyncio.Semaphore(concurrency)
    # No keep-alive: each request connects afresh, so the kernel spreads requests over the
    # workers (a pooled connection stays pinned to the worker that accepted it).
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60, limits=limits) as client:
        async def one(i: int) -> None:
            async with gate:
                t = time.perf_counter()
                try:
                    r = await client.post("/v1/ask", json={"question": questions[i % len(questions)]})
                    if r.status_code != 200:
                        errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                ms.append((time.perf_counter() - t) * 1000)

        await asyncio.gather(*(one(i) for i in range(min(40, total))))  # warm the workers
        ms.clear()
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(total)))
        wall = time.perf_counter() - started
    return {"requests": total, "concurrency": concurrency, "seconds": round(wall, 3),
            "rps": round(total / wall, 1), "errors": errors, **latency_summary(ms)}


def serve_and_load(app: str, env: dict[str, str], questions: list[str], options: Any) -> dict:
    import httpx

    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(options.workers), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        started = time.perf_counter()
        pids: set[int] = set()
        while True:  # until every worker answers (when /healthz names its pid) or one does
            if proc.poll() is not None:
                raise RuntimeError(f"{app} exited: {proc.stderr.read().decode()[-500:]}")
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                if r.status_code == 200:
                    pid = r.json().get("pid")
                    pids.add(pid)
                    if pid is None or len(pids) >= options.workers:
                        break
            except (httpx.HTTPError, ValueError):
                pass
            if time.perf_counter() - started > 300:
                raise RuntimeError(f"{app} did not answer /healthz within 300 s")
            time.sleep(0.05 if pids else 0.25)
        result = asyncio.run(_load(port, questions, options.api_requests, options.concurrency))
        result["startup_s"] = round(time.perf_counter() - started - result["seconds"], 1)
        # The master's children: uvicorn's workers (and a small multiprocessing helper).
        result["worker_peak_rss_mib"] = [_hwm_mib(p) for p in _children(proc.pid)]
        return result
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

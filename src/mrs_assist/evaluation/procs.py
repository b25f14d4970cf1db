"""Child processes for the benchmarks: timed runs with peak memory, and a uvicorn server
under a bounded-concurrency load (loopback only; every process is stopped by its own id)."""

from __future__ import annotations

import asyncio
import os
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


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a live process has used so far (all its threads), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


async def _load(port: int, questions: list[str], total: int, concurrency: int, offset: int = 0) -> dict:
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

        started = time.perf_counter()
        await asyncio.gather(*(one(offset + i) for i in range(total)))
        wall = time.perf_counter() - started
    return {"seconds": wall, "ms": ms, "errors": errors}


class _Server:
    """One uvicorn master with its workers, on a free loopback port (stopped by its own id)."""

    def __init__(self, app: str, env: dict[str, str], workers: int) -> None:
        self.app, self.workers, self.port = app, workers, _free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(workers), "--log-level", "warning"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        self.started = time.perf_counter()
        self.startup_s: float | None = None

    def wait_ready(self, timeout: float = 300) -> None:
        """Until every worker answers /healthz (when it names its pid) or one does."""
        import httpx

        pids: set[int] = set()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.app} exited: {self.proc.stderr.read().decode()[-500:]}")
            try:
                r = httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2)
                if r.status_code == 200:
                    pid = r.json().get("pid")
                    pids.add(pid)
                    if pid is None or len(pids) >= self.workers:
                        break
            except (httpx.HTTPError, ValueError):
                pass
            if time.perf_counter() - self.started > timeout:
                raise RuntimeError(f"{self.app} did not answer /healthz within {timeout:.0f} s")
            time.sleep(0.05 if pids else 0.25)
        self.startup_s = round(time.perf_counter() - self.started, 1)

    def processes(self) -> list[int]:
        """The master and its children (uvicorn's workers and a small multiprocessing helper)."""
        return [self.proc.pid, *_children(self.proc.pid)]

    def cpu(self) -> float:
        return sum(c for c in (cpu_seconds(p) for p in self.processes()) if c is not None)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def serve_and_load(apps: dict[str, str], env: dict[str, str], questions: list[str], options: Any) -> dict:
    """Each app served (same worker count) and loaded by the same client in alternating rounds.

    Both servers run side by side, warmed alike; then ``options.api_rounds`` rounds, each
    sending ``options.api_requests`` questions to one app and then the same questions to the
    other (the first app alternates), so a burst of load elsewhere hits both alike. Per app:
    the median round's requests per second, and the servers' CPU seconds per request (all
    their processes and threads), which the machine's other load disturbs far less than wall
    time. An app that fails to start is reported as an error; the others are still measured.
    """
    servers: dict[str, _Server] = {}
    out: dict[str, dict] = {}
    try:
        for name, app in apps.items():
            servers[name] = _Server(app, env, options.workers)
        for name, server in list(servers.items()):
            try:
                server.wait_ready()
            except Exception as exc:  # noqa: BLE001 - report, do not sink the other measurements
                out[name] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
                server.stop()
                del servers[name]
        for server in servers.values():  # warm every worker
            asyncio.run(_load(server.port, questions, min(40, options.api_requests), options.concurrency))
        rounds: dict[str, list[dict]] = {name: [] for name in servers}
        names = list(servers)
        for r in range(options.api_rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                server = servers[name]
                before = server.cpu()
                result = asyncio.run(_load(server.port, questions, options.api_requests, options.concurrency,
                                           offset=r * options.api_requests))
                result["cpu_s"] = server.cpu() - before
                rounds[name].append(result)
        for name, server in servers.items():
            out[name] = _summary(rounds[name], options)
            out[name]["startup_s"] = server.startup_s
            out[name]["worker_peak_rss_mib"] = [_hwm_mib(p) for p in _children(server.proc.pid)]
    finally:
        for server in servers.values():
            server.stop()
    return out


def _summary(rounds: list[dict], options: Any) -> dict:
    import statistics

    n = options.api_requests
    rps = [round(n / r["seconds"], 1) for r in rounds]
    cpu_ms = [round(1000 * r["cpu_s"] / n, 2) for r in rounds]
    errors: dict[str, int] = {}
    for r in rounds:
        for code, count in r["errors"].items():
            errors[code] = errors.get(code, 0) + count
    return {"requests": n * len(rounds), "rounds": len(rounds), "concurrency": options.concurrency,
            "seconds": round(sum(r["seconds"] for r in rounds), 3),
            "rps": statistics.median(rps), "rps_rounds": rps,
            "cpu_ms_per_request": statistics.median(cpu_ms), "cpu_ms_per_request_rounds": cpu_ms,
            "errors": errors, **latency_summary([m for r in rounds for m in r["ms"]])}

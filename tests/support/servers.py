"""Real servers on 127.0.0.1 for the fault tests and `scripts/resilience.py`: a `chroma run`
server, a PostgreSQL cluster, and the API under uvicorn — each started in a folder of its
own, and stopped, killed (-9), frozen (SIGSTOP) or thawed by the ids of the processes it
started, never by name.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (from /proc), children first."""
    out: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            for task in Path(f"/proc/{parent}/task").iterdir():
                kids = [int(c) for c in (task / "children").read_text().split()]
                out += kids
                todo += kids
        except OSError:
            continue
    return out


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _wait_http(url: str, timeout: float, proc: subprocess.Popen | None, log: Path | None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"server exited ({proc.returncode}) before answering {url}:\n{tail}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout:g} s")
        time.sleep(0.05)


@contextmanager
def running_server(
    argv: Sequence[str],
    *,
    probe: str,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> Iterator[subprocess.Popen]:
    """Run ``argv`` for a test until ``probe`` (a URL) answers 200; fail the test with the log's
    tail if it never does; stop the process after."""
    import pytest

    with log_path.open("w") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        try:
            try:
                _wait_http(probe, timeout, proc, log_path)
            except RuntimeError as exc:
                pytest.fail(f"{argv[0]}: {exc}")
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


class ChromaServer:
    """`chroma run --path <folder>` on 127.0.0.1; restartable on the same port and data."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.log = self.folder / "chroma.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> ChromaServer:
        """Start and wait for the heartbeat."""
        exe = Path(sys.executable).with_name("chroma")
        cmd = [str(exe) if exe.exists() else (shutil.which("chroma") or "chroma"), "run",
               "--path", str(self.folder / "data"), "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
        _wait_http(f"{self.url}/api/v2/heartbeat", timeout, self.proc, self.log)
        return self

    def kill(self) -> None:
        """SIGKILL (a crash); the data folder stays."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def freeze(self) -> None:
        """SIGSTOP: the port still accepts connections, nothing answers."""
        if self.proc is not None:
            _signal([self.proc.pid, *descendants(self.proc.pid)], signal.SIGSTOP)

    def thaw(self) -> None:
        if self.proc is not None:
            _signal([self.proc.pid, *descendants(self.proc.pid)], signal.SIGCONT)


def pg_bindir() -> Path | None:
    """The newest Debian PostgreSQL server binaries folder, if installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    """A throw-away PostgreSQL cluster on 127.0.0.1 (trust auth), run as `postgres` when we are root."""

    def __init__(self, root: Path | None = None, *, port: int | None = None, durable: bool = True) -> None:
        bindir = pg_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL server binaries not found; run scripts/ensure-system-deps.sh postgres")
        self.bindir = bindir
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="mrs-pg-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.data = self.root / "data"
        self.port = port or free_port()
        self.durable = durable
        self.user = None
        if os.geteuid() == 0:
            self.user = "postgres"
            try:
                pwd.getpwnam(self.user)
            except KeyError:
                self.user = "mrs-assist-pg"
                subprocess.run(["useradd", "--system", "--no-create-home", self.user], check=False,
                               capture_output=True)
            shutil.chown(self.root, user=self.user)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        proc = subprocess.run(cmd, cwd=self.root, capture_output=True, text=True, timeout=120)
        if check and proc.returncode != 0:
            log = (self.root / "server.log").read_text() if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"{args[0]} failed ({proc.returncode}): {proc.stderr.strip()}\n{log[-2000:]}")
        return proc

    def start(self) -> PostgresServer:
        """initdb on first start, then pg_ctl start; waits until it accepts connections."""
        if not (self.data / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                      "--locale=C", *([] if self.durable else ["--no-sync"]))
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60",
                  "-o", options, "start")
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 30) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def dsn(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def url(self, database: str) -> str:
        """SQLAlchemy URL of `database`."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create `name` (dropped first if present); returns its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop (-m fast, or immediate: a crash without a checkpoint)."""
        if self.postmaster_pid() is not None:
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def freeze(self) -> None:
        """SIGSTOP the postmaster and every backend: connections open, nothing answers."""
        pid = self.postmaster_pid()
        if pid:
            _signal([pid, *descendants(pid)], signal.SIGSTOP)

    def thaw(self) -> None:
        pid = self.postmaster_pid()
        if pid:
            _signal([pid, *descendants(pid)], signal.SIGCONT)

    def destroy(self) -> None:
        """Stop (immediate) and delete the cluster's folder."""
        self.thaw()
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class ApiServer:
    """`uvicorn mrs_assist.api.asgi:app` on 127.0.0.1 in its own session (so kill -9 takes the workers too)."""

    def __init__(self, env: dict[str, str], *, workers: int = 1, port: int | None = None,
                 log: Path | None = None) -> None:
        self.env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", **env}
        self.workers = workers
        self.port = port or free_port()
        self.log = log
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> ApiServer:
        """Start and wait until /healthz answers."""
        cmd = [sys.executable, "-m", "uvicorn", "mrs_assist.api.asgi:app", "--host", "127.0.0.1",
               "--port", str(self.port), "--workers", str(self.workers), "--log-level", "warning"]
        out = self.log.open("a") if self.log else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        finally:
            if self.log:
                out.close()
        _wait_http(f"{self.url}/healthz", timeout, self.proc, self.log)
        return self

    def kill9(self) -> None:
        """SIGKILL the server and its workers at once (a crash); returns once all are gone."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        self._wait_group_gone()

    def _wait_group_gone(self, limit: float = 10) -> None:
        """Until no process of the server's session is left (workers hold the port until they exit)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL of the session after 20 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill9()
        try:  # workers left behind by a master that died first
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._wait_group_gone()

"""A real PostgreSQL server on 127.0.0.1 for the records tests, and the PostgreSQL-only checks.

The server is Debian's `postgresql` package (scripts/ensure-system-deps.sh installs it when
missing and we are root). It is started once per test session in a temporary folder — as the
`postgres` system user when we are root, since initdb refuses root — on a free loopback port,
and every test gets a fresh database, so migrations always run from empty.
The server binaries come from Debian's postgresql package (scripts/ensure-system-deps.sh).
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from servers import free_port

ROOT = Path(__file__).resolve().parents[1]


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


class PgServer:
    """A throw-away PostgreSQL cluster listening on 127.0.0.1 only, trusting local connections."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="mrs-pg-"))
        self.data = self.root / "data"
        self.port: int | None = None
        self.user = None
        if os.geteuid() == 0:
            self.user = "postgres"
            try:
                pwd.getpwnam(self.user)
            except KeyError:
                self.user = "mrs-assist-pg"
                subprocess.run(["useradd", "--system", "--no-create-home", self.user], check=False, capture_output=True)
            shutil.chown(self.root, user=self.user)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        proc = subprocess.run(cmd, cwd=self.root, capture_output=True, text=True, timeout=60)
        if check and proc.returncode != 0:
            log = (self.root / "server.log").read_text() if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"{args[0]} failed ({proc.returncode}): {proc.stderr.strip()}\n{log[-2000:]}")
        return proc

    def start(self) -> PgServer:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
        for attempt in range(3):
            self.port = free_port()
            options = (
                f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            proc = self._run(
                "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "30", "-o", options, "start",
                check=attempt == 2,
            )
            if proc.returncode == 0:
                break
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + 30
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
        """SQLAlchemy URL of `database` on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database's name."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self.data.exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


_server: PgServer | None = None
_server_lock = threading.Lock()


def shared_server() -> PgServer:
    """The session's one server, started on first use (fails when PostgreSQL is unavailable)."""
    global _server
    with _server_lock:
        if _server is None:
            bindir = _bindir()
            if bindir is None and os.geteuid() == 0:
                subprocess.run(["bash", str(ROOT / "scripts" / "ensure-system-deps.sh"), "postgres"], check=False)
                bindir = _bindir()
            if bindir is None:
                pytest.fail("PostgreSQL server binaries not found; run scripts/ensure-system-deps.sh as root")
            server = PgServer(bindir)
            try:
                server.start()
            except BaseException:
                server.stop()
                raise
            _server = server
            atexit.register(stop_shared_server)  # also when the session dies before teardown
        return _server


def stop_shared_server() -> None:
    global _server
    with _server_lock:
        if _server is not None:
            _server.stop()
            _server = None


@pytest.fixture(scope="session")
def postgres_server():
    """The running test server (shared by every module that imports this fixture)."""
    yield shared_server()
    stop_shared_server()


@pytest.fixture()
def postgres_url(postgres_server):
    """SQLAlchemy URL of a fresh, empty database; dropped after the test."""
    from mrs_assist.records import dispose_engine

    name = postgres_server.create_database()
    url = postgres_server.url(name)
    yield url
    dispose_engine(url)
    postgres_server.drop_database(name)


# --- PostgreSQL-only checks ----------------------------------------------------------------
def test_server_listens_on_loopback_only(postgres_server):
    import psycopg

    with psycopg.connect(postgres_server.dsn("postgres")) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"


def test_migrations_from_empty_install_trigger_function(postgres_url):
    from sqlalchemy import text

    from mrs_assist.records import current_revision, head_revision, upgrade_database
    from mrs_assist.records.db import get_engine

    assert current_revision(postgres_url) is None
    upgrade_database(postgres_url)
    upgrade_database(postgres_url)  # idempotent
    assert current_revision(postgres_url) == head_revision()
    with get_engine(postgres_url).connect() as conn:
        functions = conn.execute(text("SELECT proname FROM pg_proc WHERE proname = 'mrs_assist_forbid_change'")).all()
        triggers = {
            r[0]
            for r in conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).all()
        }
    assert functions
    assert {"audit_log_append_only", "audit_log_no_truncate", "records_signed_immutable"} <= triggers


def test_truncate_of_the_audit_log_is_refused(postgres_url):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from mrs_assist.records import RecordStore
    from mrs_assist.records.db import get_engine

    RecordStore(postgres_url)
    with pytest.raises(DBAPIError, match="mrs-assist"):
        with get_engine(postgres_url).begin() as conn:
            conn.execute(text("TRUNCATE audit_log"))

"""A real PostgreSQL server on 127.0.0.1 for the records tests, and the PostgreSQL-only checks.

The server is Debian's `postgresql` package (scripts/ensure-system-deps.sh installs it when
missing and we are root). It is started once per test session in a temporary folder — as the
`postgres` system user when we are root, since initdb refuses root — on a free loopback port,
and every test gets a fresh database, so migrations always run from empty.
The server binaries come from Debian's postgresql package (scripts/ensure-system-deps.sh).
"""

from __future__ import annotations

import atexit
import os
import subprocess
import threading
import uuid
from pathlib import Path

import pytest

from support.servers import PostgresServer, pg_bindir

ROOT = Path(__file__).resolve().parents[2]


def require_pg_bindir() -> Path:
    """The server binaries, installed first when missing and we are root; fails the test otherwise."""
    bindir = pg_bindir()
    if bindir is None and os.geteuid() == 0:
        subprocess.run(["bash", str(ROOT / "scripts" / "ensure-system-deps.sh"), "postgres"], check=False)
        bindir = pg_bindir()
    if bindir is None:
        pytest.fail("PostgreSQL server binaries not found; run scripts/ensure-system-deps.sh as root")
    return bindir


_server: PostgresServer | None = None
_server_lock = threading.Lock()


def shared_server() -> PostgresServer:
    """The session's one server, started on first use. It runs with fsync and synchronous
    commit off: fast for tests, never for data that matters (the fault tests use a durable one)."""
    global _server
    with _server_lock:
        if _server is None:
            require_pg_bindir()
            for attempt in range(3):  # a free port can be taken before the server binds it
                server = PostgresServer(durable=False)
                try:
                    _server = server.start()
                    break
                except BaseException:
                    server.destroy()
                    if attempt == 2:
                        raise
            atexit.register(stop_shared_server)  # also when the session dies before teardown
        return _server


def stop_shared_server() -> None:
    global _server
    with _server_lock:
        if _server is not None:
            _server.destroy()
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

    name = "t_" + uuid.uuid4().hex[:16]
    url = postgres_server.create_database(name)
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

"""Engines, schema migrations and transaction helpers for the records database.

One engine per URL per process (`get_engine`). SQLite is the default (a file in
``data_dir``); PostgreSQL is chosen by URL. The schema is created and upgraded only by
the Alembic migrations shipped in ``records/migrations`` (`upgrade_database`), never by
``metadata.create_all``, so the database triggers that guard the audit trail always exist.

Outages are 503s, never 500s and never hangs (`_translate_errors`): a database that is down,
full (SQLite's "database or disk is full", PostgreSQL's DiskFull), unreadable or too slow is a
ServiceUnavailableError whose message says which. A write either commits before the caller
sees its result or raises, so nothing is acknowledged that is not stored. On PostgreSQL every
wait is bounded by ``timeout`` (``backend_timeout_seconds``): connecting (``connect_timeout``),
each statement and lock wait on the server (``statement_timeout``, ``lock_timeout``), and each
round trip on the client (`_TimedConnection`: a server that accepts connections but never
answers — stopped, or cut off — is given up on and its connection dropped). ``pool_pre_ping``
replaces connections a restarted server closed, so the first request after it returns works.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    InternalError,
    OperationalError,
    PendingRollbackError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from mrs_assist.config import Settings
from mrs_assist.errors import ConfigError, ConflictError, MrsAssistError, ServiceUnavailableError

SQLITE_FILE = "records.sqlite3"
_MIGRATION_LOCK_ID = 76390_0001
"""PostgreSQL advisory-lock key held while migrating, so several workers can start at once."""

DEFAULT_TIMEOUT = 10.0
"""Seconds a PostgreSQL call may wait when no timeout is given (the setting's default)."""
_CLIENT_MARGIN = 2.0
"""The client waits this much longer than the server's statement timeout, so a slow statement
is cancelled by the server (the connection stays usable) before the client gives up on it."""

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


class UTCDateTime(TypeDecorator):
    """A timestamp stored as naive UTC and read back timezone-aware (same on SQLite and PostgreSQL)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utc_now() -> datetime:
    """The current time, timezone-aware UTC, to the microsecond."""
    return datetime.now(UTC)


def database_url(settings: Settings) -> str:
    """The configured SQLAlchemy URL, or the default SQLite file in ``settings.data_dir``."""
    if settings.database_url:
        return settings.database_url
    return f"sqlite:///{Path(settings.data_dir) / SQLITE_FILE}"


def get_engine(url: str, *, timeout: float | None = None) -> Engine:
    """The process's engine for `url`, created on first use (raises ConfigError for a bad URL).

    ``timeout`` (seconds; default ``DEFAULT_TIMEOUT``) bounds PostgreSQL waits; the first
    caller's value holds for the engine's life.
    """
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _create_engine(url, DEFAULT_TIMEOUT if timeout is None else timeout)
        return engine


def dispose_engine(url: str) -> None:
    """Close the pooled connections of `url`'s engine and forget it (tests, shutdown)."""
    with _engines_lock:
        engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()


def _quiet_sql_logging() -> None:
    """Keep SQLAlchemy's engine log (statements at INFO, result rows at DEBUG: clinical notes)
    from inheriting a verbose root level; a level set on it explicitly is left alone."""
    engine_log = logging.getLogger("sqlalchemy.engine")
    if engine_log.level == logging.NOTSET:
        engine_log.setLevel(logging.WARNING)


def _create_engine(url: str, timeout: float) -> Engine:
    _quiet_sql_logging()
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError; keep the URL (may hold a password) out
        raise ConfigError("MRS_ASSIST_DATABASE_URL is not a valid SQLAlchemy URL") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: rows hold clinical notes; keep them out of SQLAlchemy's INFO log
        # (on whenever the root logger is at INFO) and out of its exceptions' messages.
        engine = create_engine(parsed, connect_args={"timeout": 30}, hide_parameters=True)
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.get_driver_name() != "psycopg":
            raise ConfigError("records on PostgreSQL use the psycopg driver (postgresql+psycopg://...)")
        ms = int(timeout * 1000)
        engine = create_engine(
            parsed,
            hide_parameters=True,
            pool_pre_ping=True,
            pool_timeout=timeout,
            connect_args={
                "connect_timeout": max(1, math.ceil(timeout)),
                "options": f"-c statement_timeout={ms} -c lock_timeout={ms}",
            },
        )
        _bound_client_waits(engine, timeout + _CLIENT_MARGIN)
        return engine
    raise ConfigError(f"records database must be SQLite or PostgreSQL, not {backend!r}")


def _configure_sqlite(engine: Engine) -> None:
    # The sqlite3 driver's legacy transaction mode defers BEGIN; take control so that every
    # transaction starts explicitly, and a writing one takes the write lock up front (BEGIN
    # IMMEDIATE): two writers then queue instead of failing with "database is locked" halfway.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        # WAL: readers never wait for the writer (several API workers share one file).
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        immediate = conn.get_execution_options().get("mrs_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _bound_client_waits(engine: Engine, seconds: float) -> None:
    """Open the engine's connections as `_TimedConnection`s whose round trips give up after `seconds`."""

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, conn_rec, cargs, cparams):
        conn = _timed_connection_class().connect(*cargs, **cparams)
        conn.io_timeout = seconds
        return conn


_timed_class = None


def _timed_connection_class():
    """psycopg's Connection with a deadline on every wait for the server (built on first use).

    psycopg waits for the server without limit; its ``wait`` takes a timeout, which this
    subclass always passes. On expiry the connection's state is unknown (a COMMIT may or may
    not have happened), so it is closed — SQLAlchemy then discards it — and the caller gets
    an OperationalError, which `_translate_errors` answers as 503: nothing was acknowledged.
    """
    global _timed_class
    if _timed_class is None:
        import psycopg
        from psycopg import errors as pg_errors

        wait_timeout = getattr(pg_errors, "_WaitTimeout", None)

        class _TimedConnection(psycopg.Connection):
            io_timeout: float | None = None

            def wait(self, gen, interval=0.1, timeout=None):  # noqa: D401 - psycopg's signature
                if timeout is None and self.io_timeout:
                    timeout = self.io_timeout
                try:
                    return super().wait(gen, interval, timeout)
                except psycopg.OperationalError as exc:
                    if wait_timeout is None or not isinstance(exc, wait_timeout):
                        raise
                    self.pgconn.finish()
                    raise psycopg.OperationalError(
                        f"the database did not answer within {timeout:g} s; connection dropped"
                    ) from None

        _timed_class = _TimedConnection
    return _timed_class


class Database:
    """Sessions over one engine: ``read()`` for queries, ``write()`` for one atomic change."""

    def __init__(self, engine: Engine, *, anchor=None) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._anchor = anchor
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(engine.execution_options(mrs_write=True), expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; database outages become ServiceUnavailableError."""
        with _translate_errors(), self._read() as session, session.begin():
            yield session

    @property
    def anchor(self):
        """The audit chain's key and checkpoint file (`records.anchor`); by default derived from the URL."""
        if self._anchor is None:
            from mrs_assist.records.anchor import anchor_for

            self._anchor = anchor_for(self.engine.url.render_as_string(hide_password=False))
        return self._anchor

    @anchor.setter
    def anchor(self, value) -> None:
        self._anchor = value

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose changes commit together or not at all (raises like `read`); audit
        entries appended in it are keyed with `anchor` and checkpointed once it commits."""
        with _translate_errors(), self._write() as session:
            session.info["audit_anchor"] = self.anchor
            with session.begin():
                yield session

    def ping(self) -> None:
        """Run ``SELECT 1``; raises ServiceUnavailableError when the database cannot answer."""
        with self.read() as session:
            session.execute(text("SELECT 1"))


_OUTAGES = (OperationalError, InterfaceError, InternalError, DisconnectionError, PoolTimeoutError, PendingRollbackError)
"""SQLAlchemy errors that mean the database cannot serve now, not that the request is wrong."""
_DAMAGE = ("database disk image is malformed", "file is not a database")


@contextmanager
def _translate_errors() -> Iterator[None]:
    try:
        yield
    except MrsAssistError:
        raise
    except SQLAlchemyError as exc:
        if _is_guard_violation(exc):
            raise ConflictError("the records database refused to change an immutable row") from exc
        if isinstance(exc, _OUTAGES) or getattr(exc, "connection_invalidated", False) or _is_damage(exc):
            raise ServiceUnavailableError(_outage_message(exc)) from exc
        raise


def _is_damage(exc: SQLAlchemyError) -> bool:
    return isinstance(exc, DBAPIError) and any(m in str(exc.orig).lower() for m in _DAMAGE)


def _outage_message(exc: SQLAlchemyError) -> str:
    """What went wrong, in words a client can act on; never the URL or the statement."""
    text_ = str(getattr(exc, "orig", None) or exc).lower()
    if "disk is full" in text_ or "no space left" in text_ or type(getattr(exc, "orig", None)).__name__ == "DiskFull":
        return "the records database is out of disk space; nothing was stored — retry once space is freed"
    if isinstance(exc, PoolTimeoutError):
        return "the records database is busy (no free connection); retry shortly"
    if "did not answer within" in text_ or "timeout" in text_ or "canceling statement" in text_:
        return "the records database did not answer in time; retry shortly (a write may or may not have been stored)"
    if _is_damage(exc):
        return "the records database file is damaged; restore it from a backup"
    if "locked" in text_:
        return "the records database is busy (locked by another writer); retry shortly"
    return "the records database is unavailable; retry shortly"


def _is_guard_violation(exc: SQLAlchemyError) -> bool:
    return "mrs-assist:" in str(getattr(exc, "orig", exc))


# --- migrations ------------------------------------------------------------------------
def _alembic_config():
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "mrs_assist.records:migrations")
    return cfg


_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_application_role(url: str, role: str) -> None:
    """On PostgreSQL, give the application's own role what it needs and no more: the audit log
    is append-only for it (INSERT and SELECT; no UPDATE, DELETE or TRUNCATE), and, not owning the
    tables, it cannot disable their triggers. Run as the tables' owner after `upgrade_database`.

    Raises ConfigError on another database or for a role name that is not a plain identifier.
    """
    if not _ROLE.match(role or ""):
        raise ConfigError("the application role must be a plain lower-case identifier")
    engine = get_engine(url)
    if engine.dialect.name != "postgresql":
        raise ConfigError("application roles are a PostgreSQL feature; SQLite relies on its triggers")
    with engine.begin() as conn:
        conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
        conn.execute(text(f"GRANT SELECT, INSERT, UPDATE ON records, fact_overrides, letter_revisions, audit_head, "
                          f"fhir_subscriptions TO {role}"))
        conn.execute(text(f"GRANT DELETE ON fhir_subscriptions TO {role}"))
        conn.execute(text(f"GRANT SELECT, INSERT ON audit_log TO {role}"))
        conn.execute(text(f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {role}"))
        conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"))


def upgrade_database(url: str, revision: str = "head", *, timeout: float | None = None) -> None:
    """Create or upgrade the records schema at `url` to `revision` (idempotent; raises ConfigError).

    ``timeout`` is the engine's (see `get_engine`); migrating itself is not timed: workers
    starting together queue on an advisory lock while one of them migrates.
    """
    engine = get_engine(url, timeout=timeout)
    if revision == "head" and _at_head(engine):
        return  # nothing to migrate: alembic (a tenth of a cold CLI `determine`) is not even imported
    if engine.dialect.name == "sqlite":
        _retry_while_busy(lambda: _upgrade(engine, revision))
    else:
        _upgrade(engine, revision)


HEAD_REVISION = "0004"
"""The newest migration in ``migrations/versions`` (a test holds it equal to alembic's head)."""


def _at_head(engine: Engine) -> bool:
    """Whether the database is already at ``HEAD_REVISION`` (False when unsure: no schema yet,
    or the read failed; the migration then runs and reports any real error)."""
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except (SQLAlchemyError, MrsAssistError):
        return False
    return versions == [HEAD_REVISION]


def _retry_while_busy(step, *, seconds: float = 120.0) -> None:
    """Run `step`, again while SQLite answers "busy" (workers creating one new file together can
    get SQLITE_BUSY without the busy handler, e.g. while another switches it to WAL); migrating is
    idempotent, so a retry is safe."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return step()
        except ServiceUnavailableError as exc:
            if "busy" not in exc.message or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _upgrade(engine: Engine, revision: str) -> None:
    from alembic import command
    from alembic.util.exc import CommandError

    cfg = _alembic_config()
    try:
        # SQLite: BEGIN IMMEDIATE, so workers starting together on a new file queue for the write
        # lock instead of one failing with "database is locked" when its read turns into a write.
        with _translate_errors(), engine.execution_options(mrs_write=True).begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL statement_timeout = 0"))
                conn.execute(text("SET LOCAL lock_timeout = 0"))
                with _untimed(conn):
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_ID})
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, revision)
            else:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
    except CommandError as exc:
        raise ConfigError(f"cannot migrate the records database: {exc}") from exc


@contextmanager
def _untimed(conn) -> Iterator[None]:
    """Lift the client-side wait limit of `conn`'s DBAPI connection for the block."""
    dbapi = conn.connection.dbapi_connection
    saved = getattr(dbapi, "io_timeout", None)
    if saved is not None:
        dbapi.io_timeout = None
    try:
        yield
    finally:
        if saved is not None:
            dbapi.io_timeout = saved


def current_revision(url: str) -> str | None:
    """The schema revision the database at `url` is at (None when it has no schema)."""
    from alembic.runtime.migration import MigrationContext

    with _translate_errors(), get_engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The newest schema revision this version of the package ships."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()

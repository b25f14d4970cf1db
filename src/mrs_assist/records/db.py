"""Engines, schema migrations and transaction helpers for the records database.

One engine per URL per process (`get_engine`). SQLite is the default (a file in
``data_dir``); PostgreSQL is chosen by URL. The schema is created and upgraded only by
the Alembic migrations shipped in ``records/migrations`` (`upgrade_database`), never by
``metadata.create_all``, so the database triggers that guard the audit trail always exist.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from mrs_assist.config import Settings
from mrs_assist.errors import ConfigError, ConflictError, MrsAssistError, ServiceUnavailableError

SQLITE_FILE = "records.sqlite3"
_MIGRATION_LOCK_ID = 76390_0001
"""PostgreSQL advisory-lock key held while migrating, so several workers can start at once."""

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


def get_engine(url: str) -> Engine:
    """The process's engine for `url`, created on first use (raises ConfigError for a bad URL)."""
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _create_engine(url)
        return engine


def dispose_engine(url: str) -> None:
    """Close the pooled connections of `url`'s engine and forget it (tests, shutdown)."""
    with _engines_lock:
        engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()


def _create_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError; keep the URL (may hold a password) out
        raise ConfigError("MRS_ASSIST_DATABASE_URL is not a valid SQLAlchemy URL") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
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


class Database:
    """Sessions over one engine: ``read()`` for queries, ``write()`` for one atomic change."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(engine.execution_options(mrs_write=True), expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; database outages become ServiceUnavailableError."""
        with _translate_errors(), self._read() as session, session.begin():
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose changes commit together or not at all (raises like `read`)."""
        with _translate_errors(), self._write() as session, session.begin():
            yield session


@contextmanager
def _translate_errors() -> Iterator[None]:
    try:
        yield
    except MrsAssistError:
        raise
    except (OperationalError, InterfaceError) as exc:
        if _is_guard_violation(exc):
            raise ConflictError("the records database refused to change an immutable row") from exc
        raise ServiceUnavailableError("the records database is unavailable") from exc
    except DBAPIError as exc:
        if _is_guard_violation(exc):
            raise ConflictError("the records database refused to change an immutable row") from exc
        raise


def _is_guard_violation(exc: SQLAlchemyError) -> bool:
    return "mrs-assist:" in str(getattr(exc, "orig", exc))


# --- migrations ------------------------------------------------------------------------
def _alembic_config():
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "mrs_assist.records:migrations")
    return cfg


def upgrade_database(url: str, revision: str = "head") -> None:
    """Create or upgrade the records schema at `url` to `revision` (idempotent; raises ConfigError)."""
    from alembic import command
    from alembic.util.exc import CommandError

    engine = get_engine(url)
    cfg = _alembic_config()
    try:
        with _translate_errors(), engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_ID})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except CommandError as exc:
        raise ConfigError(f"cannot migrate the records database: {exc}") from exc


def current_revision(url: str) -> str | None:
    """The schema revision the database at `url` is at (None when it has no schema)."""
    from alembic.runtime.migration import MigrationContext

    with _translate_errors(), get_engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The newest schema revision this version of the package ships."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()

"""Where the index lives: the Chroma client, generations, the pointer and the manifest.

- Each build writes a *generation*: a Chroma collection ``<collection>_g<NNNNNN>``.
- The **pointer** — which generation answers, built with which model, and the payer
  directory used to detect policies in questions — is the metadata of one small Chroma
  collection, ``<collection>_pointer``. It is the single source of truth for readers, in
  local and server mode alike (one code path; API workers on other machines sharing a
  Chroma server find the current generation there). Switching it is one metadata update,
  atomic in Chroma's SQLite catalogue.
- The **manifest** (``index_dir/manifest.json``, written to a temporary file and moved
  into place with ``os.replace``) is the builder's local cache: a fingerprint of corpus,
  model and chunking settings, so a rerun with nothing changed returns without opening
  Chroma or loading the model. Its fingerprint is cleared before a build writes anything,
  so a build killed midway never leaves a manifest vouching for the wrong generation, and
  the next build takes the full path (which drops the orphan).
- Failures are classified once, here (`store_error`): in server mode every failure of the
  Chroma server — refused, timed out after ``backend_timeout_seconds``, erroring — is a
  ServiceUnavailableError; in local mode a folder Chroma cannot read (a truncated or
  overwritten ``chroma.sqlite3`` makes Chroma raise, or panic in its Rust core) is an
  IndexNotReadyError with code ``index_damaged`` that names the fix, ``mrs-assist index
  --rebuild``, which moves the damaged folder aside (`quarantine_local_store`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from mrs_assist.errors import ConfigError, IndexNotReadyError, MrsAssistError, ServiceUnavailableError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

    from mrs_assist.config import Settings
    from mrs_assist.corpus.model import Corpus

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
DAMAGED = "index_damaged"
"""Code of the IndexNotReadyError for a local index folder Chroma cannot read."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PolicyName:
    """How questions may name one indexed document's payer."""

    policy_id: str
    payer: str
    aliases: tuple[str, ...] = ()
    kind: str = "guideline"
    title: str = ""
    version: str = ""


@dataclass(frozen=True)
class Pointer:
    """The current generation and what a reader needs to trust it."""

    generation: str
    model_id: str
    total: int
    chunks_digest: str
    policies: tuple[PolicyName, ...] = field(default_factory=tuple)
    built_at: str = ""
    selfcheck: str = ""
    """JSON of the generation's self-check record (`index.selfcheck`); empty before it existed."""

    def to_metadata(self) -> dict[str, Any]:
        """Chroma collection metadata (scalars only: the directory travels as JSON)."""
        data = asdict(self)
        data["policies"] = json.dumps(data["policies"], sort_keys=True)
        return data

    @classmethod
    def from_metadata(cls, meta: dict[str, Any] | None) -> Pointer | None:
        """The pointer stored in metadata, or None when absent or unreadable."""
        if not meta or not meta.get("generation"):
            return None
        try:
            policies = tuple(
                PolicyName(**{**p, "aliases": tuple(p.get("aliases", ()))})
                for p in json.loads(meta.get("policies") or "[]")
            )
            return cls(
                generation=str(meta["generation"]),
                model_id=str(meta["model_id"]),
                total=int(meta["total"]),
                chunks_digest=str(meta["chunks_digest"]),
                policies=policies,
                built_at=str(meta.get("built_at", "")),
                selfcheck=str(meta.get("selfcheck") or ""),
            )
        except (KeyError, TypeError, ValueError):
            return None


def policy_directory(corpus: Corpus) -> tuple[PolicyName, ...]:
    """Every document's payer, aliases and kind, in corpus order."""
    return tuple(
        PolicyName(
            policy_id=d.id,
            payer=d.meta.payer,
            aliases=tuple(d.meta.payer_aliases),
            kind=d.meta.kind,
            title=d.meta.title,
            version=d.meta.version,
        )
        for d in corpus.documents.values()
    )


def chroma_target(settings: Settings) -> str:
    """'local:<folder>' or the server URL: identifies which store an index lives in."""
    return settings.chroma_url or f"local:{settings.index_dir / 'chroma'}"


def local_store_exists(settings: Settings) -> bool:
    """True if the local Chroma folder has a catalogue (always True in server mode)."""
    return bool(settings.chroma_url) or (settings.index_dir / "chroma" / "chroma.sqlite3").is_file()


_OPEN_LOCK = threading.Lock()


def open_client(settings: Settings) -> ClientAPI:
    """A Chroma client: HttpClient when chroma_url is set, else a local PersistentClient.

    Raises ConfigError for a malformed URL, ServiceUnavailableError when the server does not
    answer within ``backend_timeout_seconds``, IndexNotReadyError (code ``index_damaged``)
    when the local folder cannot be opened.
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if not settings.chroma_url:
        path = local_path(settings)
        path.mkdir(parents=True, exist_ok=True)
        try:
            # Chroma's per-folder system cache is not safe to populate from two threads at
            # once (the readiness self-check and the first request race at start-up: KeyError
            # / AttributeError inside chromadb), so clients are opened one at a time.
            with _OPEN_LOCK:
                return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        except BaseException as exc:
            if not is_store_failure(exc):
                raise
            reset_local_client(settings)  # Chroma caches a half-started system per folder
            raise store_error(settings, exc, "opening the index") from exc
    url = urlparse(settings.chroma_url)
    if url.scheme not in {"http", "https"} or not url.hostname:
        raise ConfigError(f"chroma_url must be http(s)://host[:port], got {settings.chroma_url!r}")
    ssl = url.scheme == "https"
    port = url.port or (443 if ssl else 8000)
    timeout = settings.backend_timeout_seconds
    # Chroma's client waits forever (httpx timeout=None), and its constructor already talks to
    # the server: ask for a heartbeat first, with our timeout, then bound every later call.
    _heartbeat(settings, timeout)
    try:
        with _OPEN_LOCK:  # the same shared system cache as above
            client = chromadb.HttpClient(host=url.hostname, port=port, ssl=ssl, settings=chroma_settings)
    except Exception as exc:  # noqa: BLE001 - connection failures come in many types
        raise store_error(settings, exc, "connecting") from exc
    _bound_http_timeout(client, timeout)
    return client


def _heartbeat(settings: Settings, timeout: float) -> None:
    import httpx

    try:
        httpx.get(f"{settings.chroma_url.rstrip('/')}/api/v2/heartbeat", timeout=timeout).raise_for_status()
    except httpx.HTTPError as exc:
        raise store_error(settings, exc, "connecting") from exc


def _bound_http_timeout(client: Any, timeout: float) -> None:
    """Give the HttpClient's httpx session a timeout (Chroma creates it with none)."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(timeout)
    else:  # a Chroma release that moved it: say so rather than hang silently
        log.warning("cannot set a timeout on the Chroma HTTP client; calls may wait indefinitely")


def local_path(settings: Settings) -> Path:
    """The local Chroma folder (``index_dir/chroma``)."""
    return settings.index_dir / "chroma"


# --- failures --------------------------------------------------------------------------
def is_store_failure(exc: BaseException) -> bool:
    """True for Chroma's errors, its HTTP transport's, and a panic of its Rust core.

    A panic arrives as ``pyo3_runtime.PanicException``, a BaseException: ``except Exception``
    does not see it, so every reader of Chroma goes through this check.
    """
    import httpx
    from chromadb.errors import ChromaError

    if type(exc).__name__ == "PanicException":
        return True
    return isinstance(exc, ChromaError | httpx.HTTPError | ConnectionError | TimeoutError)


def store_error(settings: Settings, exc: BaseException, doing: str) -> MrsAssistError:
    """The error to raise for a Chroma failure while `doing` something (see the module docstring)."""
    if isinstance(exc, MrsAssistError):
        return exc
    import httpx

    if settings.chroma_url:
        if isinstance(exc, httpx.TimeoutException | TimeoutError):
            why = f"no answer within {settings.backend_timeout_seconds:g} s"
        elif isinstance(exc, httpx.ConnectError | ConnectionError):
            why = "connection refused or unreachable"
        else:
            why = _brief(exc)
        return ServiceUnavailableError(f"the Chroma server at {settings.chroma_url} is unavailable ({doing}: {why}); retry later")
    return IndexNotReadyError(
        f"the local index at {local_path(settings)} is damaged or unreadable ({doing}: {_brief(exc)}): "
        "run `mrs-assist index --rebuild`",
        code=DAMAGED,
    )


def _brief(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


# --- the local client cache ------------------------------------------------------------------
_epochs: dict[str, int] = {}
_epochs_lock = threading.Lock()


def reset_local_client(settings: Settings) -> None:
    """Forget Chroma's cached system for the local folder, so the next client reads the files afresh.

    Chroma keeps one system per folder per process, holding its SQLite connections: after a
    rebuild replaced a damaged folder, or after a read failed, only a new system sees the
    new files. Clients and collections of the old one stop working; readers notice through
    `client_token` and open new ones.
    """
    from chromadb.api.shared_system_client import SharedSystemClient

    key = str(local_path(settings))
    with _epochs_lock:
        _epochs[key] = _epochs.get(key, 0) + 1
        system = SharedSystemClient._identifier_to_system.pop(key, None)
        SharedSystemClient._identifier_to_refcount.pop(key, None)
    if system is not None:
        try:
            system.stop()
        except BaseException as exc:  # noqa: BLE001 - a damaged store may fail to stop; it is dropped anyway
            if not isinstance(exc, Exception) and not is_store_failure(exc):
                raise
            log.debug("could not stop Chroma's cached system for %s: %s", key, _brief(exc))


def client_token(settings: Settings) -> tuple[int, int, int] | None:
    """What a reader's local client depends on: (reset epoch, device, inode of chroma.sqlite3).

    It changes when the client cache was reset or the folder was replaced (a rebuild moved a
    damaged one aside); a reader holding an older token opens a new client. None in server mode.
    """
    if settings.chroma_url:
        return None
    key = str(local_path(settings))
    try:
        st = os.stat(local_path(settings) / "chroma.sqlite3")
        ident = (st.st_dev, st.st_ino)
    except OSError:
        ident = (0, 0)
    return (_epochs.get(key, 0), *ident)


SETTLED_NS = 2_000_000_000
"""A file written less than this long ago (ns) may be written again within the same coarse
file-system clock tick, keeping its time stamp: its stamp is not trusted to show a change."""


def settled_stamp(settings: Settings) -> tuple[int, ...] | None:
    """(inode, mtime ns, size) of chroma.sqlite3 and of its write-ahead log when both were last
    written over ``SETTLED_NS`` ago; None in server mode, when unreadable, or when recent.

    Chroma writes the pointer, like every change, through that database: while the settled
    stamp stays the same, so does the pointer, and a reader need not re-read it (~0.3 ms).
    """
    if settings.chroma_url:
        return None
    now = time.time_ns()
    stamp: list[int] = []
    for name in ("chroma.sqlite3", "chroma.sqlite3-wal"):
        try:
            st = os.stat(local_path(settings) / name)
        except FileNotFoundError:
            if name == "chroma.sqlite3":
                return None
            stamp += [0, 0, -1]  # no write-ahead log (yet)
            continue
        except OSError:
            return None
        if now - st.st_mtime_ns < SETTLED_NS:
            return None
        stamp += [st.st_ino, st.st_mtime_ns, st.st_size]
    return tuple(stamp)


def reopen_client(settings: Settings, token: tuple[int, int, int] | None) -> tuple[ClientAPI, tuple | None]:
    """(a new client, its token) for a reader whose client was opened at `token`.

    When the folder itself was replaced since (another process moved a damaged one aside and
    rebuilt), Chroma's cached system still reads the old files: it is dropped first.
    """
    now = client_token(settings)
    if token is not None and now is not None and now[1:] != token[1:]:
        reset_local_client(settings)
    client = open_client(settings)
    return client, client_token(settings)


def quarantine_local_store(settings: Settings) -> Path:
    """Move the local Chroma folder aside (``chroma.damaged-<UTC time>``); returns where it went."""
    reset_local_client(settings)
    source = local_path(settings)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = source.with_name(f"chroma.damaged-{stamp}")
    os.replace(source, target)
    log.warning("moved the damaged index folder %s to %s", source, target)
    return target


def pointer_name(collection: str) -> str:
    """Name of the collection whose metadata is the pointer."""
    return f"{collection}_pointer"


def generation_name(collection: str, number: int) -> str:
    """Name of generation `number` of the collection."""
    return f"{collection}_g{number:06d}"


def list_generations(client: ClientAPI, collection: str) -> dict[str, int]:
    """Every generation collection of this index (finished or not), name → number."""
    pattern = re.compile(rf"^{re.escape(collection)}_g(\d+)$")
    found: dict[str, int] = {}
    for col in client.list_collections():
        name = col if isinstance(col, str) else col.name
        if m := pattern.match(name):
            found[name] = int(m.group(1))
    return found


def read_pointer(client: ClientAPI, collection: str, ef: Any) -> Pointer | None:
    """The current pointer, or None when no build has finished yet."""
    from chromadb.errors import NotFoundError

    try:
        col = client.get_collection(pointer_name(collection), embedding_function=ef)
    except NotFoundError:
        return None
    return Pointer.from_metadata(col.metadata)


def write_pointer(client: ClientAPI, collection: str, pointer: Pointer, ef: Any) -> None:
    """Switch readers to pointer.generation (one atomic metadata update)."""
    col = client.get_or_create_collection(pointer_name(collection), embedding_function=ef)
    col.modify(metadata=pointer.to_metadata())


def read_manifest(index_dir: Path) -> dict[str, Any] | None:
    """The builder's manifest, or None when missing, unreadable or of another format."""
    try:
        data = json.loads((index_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        return None
    return data


def write_manifest(index_dir: Path, data: dict[str, Any]) -> None:
    """Write the manifest atomically (temporary file, fsync, os.replace)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=index_dir, prefix=".manifest.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump({"format": MANIFEST_FORMAT, **data}, fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, index_dir / MANIFEST)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

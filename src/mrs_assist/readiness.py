"""Readiness: whether this process can serve every route now — what a load balancer asks.

Liveness (``GET /healthz``) says only that the process answers; restart it when that fails.
Readiness (``GET /readyz``) says that

- the index passed its self-check (`mrs_assist.index.selfcheck.check_index`: the stored
  generation matches the digests and golden queries its build recorded), and
- the records database answers ``SELECT 1``,

and stops traffic to a process where either fails, without restarting it. The full index
check runs at start-up (in the background: liveness answers at once), again whenever the
pointer names another generation or the local folder is replaced, every ``recheck_seconds``,
and at most every ``retry_seconds`` while it fails — so a `mrs-assist index --rebuild`
elsewhere turns readiness back on without restarting the API. Every check is bounded by
``backend_timeout_seconds``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from mrs_assist.errors import MrsAssistError
from mrs_assist.index import selfcheck, store
from mrs_assist.index.selfcheck import CheckResult

log = logging.getLogger("mrs_assist.readiness")


@dataclass(frozen=True)
class ReadinessReport:
    """Outcome of one readiness probe."""

    ready: bool
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def message(self) -> str:
        """The failing checks, one clause each ('' when ready)."""
        return "; ".join(f"{name}: {c['message']}" for name, c in self.checks.items() if not c["ok"])

    def body(self) -> dict[str, Any]:
        """The JSON body of /readyz (the API's error shape when not ready)."""
        body: dict[str, Any] = {"status": "ready" if self.ready else "not_ready", "checks": self.checks}
        if not self.ready:
            body = {"error": {"code": "not_ready", "message": self.message}, **body}
        return body


class Readiness:
    """Cached readiness of one process; `check()` is thread-safe and never raises for outages."""

    def __init__(
        self,
        settings,
        *,
        records=None,
        embedder=None,
        recheck_seconds: float = 60.0,
        retry_seconds: float = 1.0,
    ) -> None:
        """``records`` is a callable returning the RecordStore (or raising); ``embedder`` defaults
        to the query embedder the retriever uses."""
        self.settings = settings
        self._records = records
        self._embedder = embedder
        self.recheck_seconds = recheck_seconds
        self.retry_seconds = retry_seconds
        self._lock = threading.Lock()
        self._client: Any = None
        self._token = None
        self._last: CheckResult | None = None
        self._last_key: tuple | None = None
        self._last_at = 0.0

    # --- the probe ------------------------------------------------------------------------
    def check(self) -> ReadinessReport:
        """Index and database checks, each bounded by the backend timeout."""
        with self._lock:
            index = self._index()
        database = self._database()
        checks = {"index": index.as_dict(), "database": database}
        return ReadinessReport(ready=index.ok and database["ok"], checks=checks)

    def start_background(self) -> threading.Thread:
        """Run the first check now, in a daemon thread (start-up), logging a failure."""

        def run() -> None:
            try:
                report = self.check()
            except Exception as exc:  # noqa: BLE001 - a start-up probe must not kill the worker
                log.error("start-up self-check could not run: %s", type(exc).__name__)
                return
            if report.ready:
                log.info("ready: %s", report.checks["index"]["message"])
            else:
                log.error("not ready at start-up: %s", report.message)

        thread = threading.Thread(target=run, name="mrs-assist-selfcheck", daemon=True)
        thread.start()
        return thread

    # --- index -------------------------------------------------------------------------------
    def _index(self) -> CheckResult:
        now = time.monotonic()
        replaced = store.client_token(self.settings) != self._token  # a rebuild replaced the folder
        if self._last is not None and not self._last.ok and now - self._last_at < self.retry_seconds and not replaced:
            return self._last
        try:
            key = self._probe()
        except BaseException as exc:
            if not (isinstance(exc, MrsAssistError) or store.is_store_failure(exc)):
                raise
            self._drop_client()
            err = store.store_error(self.settings, exc, "reading the index pointer")
            return self._remember(CheckResult(False, err.code, err.message), None, now)
        fresh = self._last is not None and self._last.ok and now - self._last_at < self.recheck_seconds
        if fresh and key == self._last_key:
            return self._last
        try:
            result = selfcheck.check_index(self.settings, embedder=self._get_embedder(key), client=self._client)
        except Exception as exc:  # noqa: BLE001 - a probe answers 503, never 500
            result = CheckResult(False, "check_failed", f"the index self-check failed: {type(exc).__name__}: {exc}")
        if not result.ok:
            self._drop_client()
        return self._remember(result, key, now)

    def _probe(self) -> tuple:
        """(client token, pointer) — what the cached result depends on; raises on store failures."""
        if self._client is None or store.client_token(self.settings) != self._token:
            self._drop_client()
            self._client, self._token = store.reopen_client(self.settings, self._token)
        pointer = store.read_pointer(self._client, self.settings.collection, None)
        return (self._token, pointer)

    def _get_embedder(self, key: tuple):
        if self._embedder is not None:
            return self._embedder
        if key[1] is None:
            return None  # no index: check_index answers without embedding anything
        from mrs_assist.index.embed import get_query_embedder

        return get_query_embedder(self.settings)

    def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None and self.settings.chroma_url:
            try:
                client.close()  # server mode: each HttpClient holds its own connection pool
            except Exception:  # noqa: BLE001 - already broken
                pass

    def _remember(self, result: CheckResult, key: tuple | None, now: float) -> CheckResult:
        changed = self._last is None or (self._last.ok, self._last.code) != (result.ok, result.code)
        self._last, self._last_key, self._last_at = result, key, now
        if changed and not result.ok:
            log.error("index not ready: %s", result.message)
        elif changed:
            log.info("index ready: %s", result.message)
        return result

    # --- database --------------------------------------------------------------------------------
    def _database(self) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            records = self._records() if self._records is not None else None
            if records is None:
                return {"ok": True, "message": "no records database configured", "seconds": 0.0}
            records.ping()
        except MrsAssistError as exc:
            return {"ok": False, "code": exc.code, "message": exc.message,
                    "seconds": round(time.perf_counter() - started, 3)}
        except Exception as exc:  # noqa: BLE001 - a probe answers 503, never 500
            return {"ok": False, "code": "check_failed", "message": f"the database check failed: {type(exc).__name__}",
                    "seconds": round(time.perf_counter() - started, 3)}
        return {"ok": True, "code": "ok", "message": "the records database answers",
                "seconds": round(time.perf_counter() - started, 3)}

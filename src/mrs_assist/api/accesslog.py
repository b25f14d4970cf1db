"""The server's access log without ids: paths are logged as route shapes, query strings dropped.

uvicorn logs each request's full path. A record id is no secret, but a caller who pastes an
MRN or a name into a URL (``/v1/determinations/MRN-123456``) would have it written to the log.
So every path segment that is not a literal segment of one of the app's routes is logged as
``:id``, and a query string as ``?…``: ``GET /v1/determinations/:id/sign`` says what was done,
never to whom.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI

ACCESS_LOGGER = "uvicorn.access"


def route_literals(app: FastAPI) -> frozenset[str]:
    """Every fixed path segment of the app's routes (``v1``, ``determinations``, ``sign``, …),
    included routers and mounts followed."""
    literals: set[str] = set()
    pending = list(app.router.routes)
    while pending:
        route = pending.pop()
        context = getattr(route, "include_context", None)
        for path in (getattr(route, "path", None), getattr(context, "prefix", None)):
            literals.update(part for part in (path or "").split("/") if part and not part.startswith("{"))
        inner = getattr(route, "original_router", None) or route
        pending.extend(getattr(inner, "routes", None) or [])
    return frozenset(literals)


def redact_path(path: str, literals: frozenset[str]) -> str:
    """``path`` with its query string dropped and every non-literal segment as ``:id``."""
    path, sep, _ = path.partition("?")
    parts = [part if not part or part in literals else ":id" for part in path.split("/")]
    return "/".join(parts) + ("?…" if sep else "")


class RedactPathsFilter(logging.Filter):
    """Rewrites uvicorn's access records: ``(client, method, path, version, status)``."""

    def __init__(self, literals: frozenset[str]) -> None:
        super().__init__()
        self.literals = literals

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], redact_path(args[2], self.literals), args[3], args[4])
        return True


def install_access_log_redaction(app: FastAPI) -> RedactPathsFilter:
    """Put the filter on uvicorn's access logger (replacing one an earlier app installed)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    for old in [f for f in logger.filters if isinstance(f, RedactPathsFilter)]:
        logger.removeFilter(old)
    redactor = RedactPathsFilter(route_literals(app))
    logger.addFilter(redactor)
    return redactor

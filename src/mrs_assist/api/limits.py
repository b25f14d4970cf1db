"""Limits at the edge of the API: body size, request rate, and which browser origins may call.

Each is plain ASGI middleware, so it runs before routing and before the body is parsed, and
answers with the API's one error shape (``{"error": {"code", "message"}}``):

- **Body size** (``max_body_bytes``): the body is read as it streams in and counted, so a
  client that omits ``Content-Length`` or understates it is cut off at the limit just like one
  that declares too much → 413 ``payload_too_large``. The (small) body is then replayed to the
  app, which never sees more than the limit. A body spelling a lone UTF-16 surrogate
  (``"\\udfff"``) in any string is 422 before any field is read.
- **Rate** (``rate_limit_per_minute``): a token bucket per caller, holding a minute's worth of
  requests and refilled continuously → 429 ``rate_limited`` with ``Retry-After``. The caller is
  the API key when it is a valid one, else the client address (the local user, or anyone
  sending no key or a wrong one). Buckets live in the process: with several workers each keeps
  its own, so the effective limit is per worker. ``/healthz`` and ``/readyz`` are never limited.
- **CORS** (``cors_origins``): closed unless origins are listed; then Starlette's
  CORSMiddleware answers for exactly those origins.
"""

from __future__ import annotations

import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mrs_assist.api.errors import error_response
from mrs_assist.auth import get_authenticator, hash_api_key
from mrs_assist.config import Settings
from mrs_assist.errors import MrsAssistError
from mrs_assist.schemas import ErrorResponse

UNLIMITED_PATHS = frozenset({"/healthz", "/readyz"})
"""Paths the rate limit never applies to (load balancers' liveness and readiness probes)."""

MAX_TRACKED_CALLERS = 10_000
"""Buckets kept at most; the least recently seen caller's is dropped first (memory stays bounded)."""

CORS_METHODS = ["GET", "POST", "PUT"]
CORS_HEADERS = ["Authorization", "Content-Type", "X-API-Key"]

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "The request cannot be read (body not UTF-8 or nested too deeply, bad Content-Length)."},
    413: {"model": ErrorResponse, "description": "The request body is larger than the server accepts."},
    429: {
        "model": ErrorResponse,
        "description": "Too many requests from this API key or address; retry after the given seconds.",
        "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
    },
    500: {"model": ErrorResponse, "description": "Unexpected failure; the body never carries its details."},
}
"""Statuses any route may answer because of these limits (or an unexpected failure), for OpenAPI."""

AUTH_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "No API key where one is required, or a key that matches nobody."},
}
"""What a route behind get_current_user may answer besides ERROR_RESPONSES."""


class BodyLimitMiddleware:
    """Answers 413 for a body over ``max_bytes``, counted as it arrives; replays the rest to the app."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, uploads: dict[tuple[str, str], int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.uploads = uploads or {}
        """(method, path) → a larger limit for the routes that take documents."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.uploads.get((scope.get("method", ""), scope.get("path", "")), self.max_bytes)
        if limit != self.max_bytes:
            await BodyLimitMiddleware(self.app, max_bytes=limit)(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await error_response(400, "invalid_request", "Content-Length is not a number")(scope, receive, send)
                return
            if int(declared) > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left: nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if has_lone_surrogate_escape(body):
            message = "a string holds a lone UTF-16 surrogate (\\uD800-\\uDFFF without its pair); send valid Unicode"
            await error_response(422, "invalid_request", message)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"the request body is larger than {self.max_bytes} bytes"
        response = error_response(413, "payload_too_large", message)
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


_ESCAPE = re.compile(rb"(\\+)u([0-9a-fA-F]{4})")


def has_lone_surrogate_escape(body: bytes) -> bool:
    """Whether a JSON body spells a lone surrogate (``"\\udfff"``) in any string, key or value.

    JSON allows the escape, Python decodes it to a code point no UTF-8 encoder takes, and every
    later ``encode`` fails (a 500). A surrogate pair escaped as two escapes is one character and
    passes. Linear: each ``\\uXXXX`` is looked at once; an escaped backslash is not an escape.
    """
    if b"\\u" not in body:
        return False
    pending_high = -1  # where a high surrogate's escape ended, awaiting its low half
    for m in _ESCAPE.finditer(body):
        if len(m.group(1)) % 2 == 0:
            continue  # "\\\\u…": an escaped backslash, then a plain "u"
        code = int(m.group(2), 16)
        low = 0xDC00 <= code <= 0xDFFF
        if pending_high >= 0:
            if low and m.start() == pending_high:
                pending_high = -1
                continue
            return True
        if 0xD800 <= code <= 0xDBFF:
            pending_high = m.end()
        elif low:
            return True
    return pending_high >= 0


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive callable that returns ``body`` once, then defers to the real one (disconnects)."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class RateLimiter:
    """Token buckets by caller: ``per_minute`` tokens each, refilled at ``per_minute / 60`` a second."""

    def __init__(
        self, per_minute: int, *, clock: Callable[[], float] = time.monotonic, max_callers: int = MAX_TRACKED_CALLERS
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = per_minute
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self.max_callers = max_callers
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # caller → (tokens, at)

    def take(self, caller: str) -> float:
        """0.0 when the caller may proceed (one token spent), else the seconds until a token is due."""
        now = self.clock()
        tokens, at = self._buckets.pop(caller, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[caller] = (tokens, now)
        while len(self._buckets) > self.max_callers:
            self._buckets.popitem(last=False)
        return wait


class RateLimitMiddleware:
    """Answers 429 (with Retry-After) when the caller's bucket is empty."""

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        wait = self.limiter.take(caller_of(scope))
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        seconds = max(1, math.ceil(wait))
        response = error_response(
            429,
            "rate_limited",
            f"too many requests: at most {self.limiter.per_minute} a minute; retry in {seconds} s",
        )
        response.headers["Retry-After"] = str(seconds)
        await response(scope, receive, send)


def caller_of(scope: Scope) -> str:
    """Whose bucket a request spends: ``key:<sha256>`` for a valid API key, else ``addr:<client host>``."""
    headers = Headers(scope=scope)
    key = headers.get("x-api-key")
    if not key:
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        key = credentials.strip() if scheme.lower() == "bearer" else ""
    if key and "app" in scope:
        try:
            auth = get_authenticator(Request(scope))
        except MrsAssistError:  # auth is misconfigured: the route will say so; count by address
            auth = None
        digest = hash_api_key(key)
        if auth is not None and digest in auth.keys:
            return f"key:{digest}"
    client = scope.get("client")
    return f"addr:{client[0] if client else 'unknown'}"


def install_limits(app: FastAPI, settings: Settings) -> None:
    """Add the body, rate and CORS middleware that ``settings`` ask for (CORS outermost).

    The rate limiter, if any, is ``app.state.rate_limiter`` (tests swap its clock).
    """
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.max_body_bytes,
        uploads={("POST", "/v1/determinations"): max(settings.max_upload_bytes, settings.max_body_bytes)},
    )
    app.state.rate_limiter = None
    if settings.rate_limit_per_minute > 0:
        app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
        app.add_middleware(RateLimitMiddleware, limiter=app.state.rate_limiter)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=CORS_METHODS,
            allow_headers=CORS_HEADERS,
            allow_credentials=False,
            max_age=600,
        )

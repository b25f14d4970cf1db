"""Turn every failure into `{"error": {"code", "message"}}` — never a stack trace."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from mrs_assist.errors import MrsAssistError

log = logging.getLogger("mrs_assist.api")


_FILE_PATH = re.compile(r"(?<![\w:/.~-])~?/(?!v1/)[^\s'\"()<>,;:]*/[^\s'\"()<>,;:]*")
"""An absolute (or home-relative) file path of two or more parts; API routes (/v1/...) excepted."""


def redact_paths(message: str) -> str:
    """``message`` with file paths replaced by '<path>': a response says what failed, never where
    the server keeps its files (the CLI and the server log keep the full message)."""
    return _FILE_PATH.sub("<path>", message)


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one error body shape of the API (file paths redacted from the message)."""
    content = {"error": {"code": code, "message": redact_paths(message)}}
    return JSONResponse(status_code=status, content=content, headers=headers)


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def _loc_part(part: object) -> str:
    """A field name or index as written; anything else (a caller's dict key) as '<key>', never echoed."""
    text = str(part)
    return text if isinstance(part, int) or _NAME.match(text) or text == "[key]" else "<key>"


def _describe_validation(exc: RequestValidationError) -> str:
    # Field names and pydantic's messages only: never the input, which may be clinical text.
    parts = []
    for err in exc.errors()[:5]:
        loc_parts = [p for p in err.get("loc", ()) if p != "body"]
        if err.get("type") == "extra_forbidden" and loc_parts:  # the caller's own key: never echoed
            loc_parts[-1] = "<key>"
        loc = ".".join(_loc_part(p) for p in loc_parts) or "body"
        parts.append(f"{loc}: {str(err.get('msg', 'invalid')).removeprefix('Value error, ')}")
    return "; ".join(parts) or "invalid request"


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method some route of the app accepts at the request's path, for a 405's Allow header.

    Asks each route whether it would take the request with another method (BaseRoute.matches:
    public, and it sees through included routers).
    """
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]
    return ", ".join(allowed)


class CatchAllMiddleware:
    """Answer an unexpected exception with the JSON 500 here, so it never reaches the server.

    Starlette's outermost error middleware calls the handler for ``Exception`` and then
    re-raises, and uvicorn logs the traceback — whose text may carry request data (PHI).
    Caught here instead, only the exception's type is logged.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def _send(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, _send)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            log.error("unexpected error: %s", type(exc).__name__)
            if started:
                raise  # a response is under way; nothing better can be sent
            await error_response(500, "internal_error", "internal error; the event was logged")(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error the same JSON shape."""
    app.add_middleware(CatchAllMiddleware)

    @app.exception_handler(MrsAssistError)
    async def _ours(_: Request, exc: MrsAssistError) -> JSONResponse:
        if exc.http_status >= 500:
            log.error("request failed: %s (%s)", exc.code, type(exc).__name__)
        return error_response(exc.http_status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", _describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            400: "invalid_request",
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
            429: "rate_limited",
        }
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # RFC 9110: Allow lists every method of the resource; Starlette lists only the first
            # route's, and GET and POST /v1/determinations are two routes.
            headers["Allow"] = _allowed_methods(request)
        return error_response(
            exc.status_code, code.get(exc.status_code, "http_error"), str(exc.detail), headers=headers or None
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # Log the type only: messages of unexpected errors may carry request text (PHI).
        log.error("unexpected error: %s", type(exc).__name__)
        return error_response(500, "internal_error", "internal error; the event was logged")

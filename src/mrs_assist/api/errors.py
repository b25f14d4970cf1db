"""Turn every failure into `{"error": {"code", "message"}}` — never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mrs_assist.errors import MrsAssistError

log = logging.getLogger("mrs_assist.api")


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """The one error body shape of the API."""
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error the same JSON shape."""

    @app.exception_handler(MrsAssistError)
    async def _ours(_: Request, exc: MrsAssistError) -> JSONResponse:
        if exc.http_status >= 500:
            log.error("request failed: %s (%s)", exc.code, type(exc).__name__)
        return error_response(exc.http_status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", _describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}
        return error_response(exc.status_code, code.get(exc.status_code, "http_error"), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # Log the type only: messages of unexpected errors may carry request text (PHI).
        log.error("unexpected error: %s", type(exc).__name__)
        return error_response(500, "internal_error", "internal error; the event was logged")

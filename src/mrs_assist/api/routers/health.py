"""Liveness (`/healthz`) and readiness (`/readyz`); see `mrs_assist.readiness`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from mrs_assist import __version__
from mrs_assist.api.deps import ReadinessDep
from mrs_assist.api.errors import redact_paths
from mrs_assist.schemas import ErrorResponse


router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict:
    """Liveness: the process answers."""
    return {"status": "ok", "version": __version__}


@router.get(
    "/readyz",
    responses={503: {"model": ErrorResponse, "description": "Not ready: the index failed its self-check, "
                     "or the Chroma server or the records database is unavailable; `checks` says which."}},
)
def readyz(readiness: ReadinessDep) -> JSONResponse:
    """Readiness: the index passed its self-check and the records database answers (else 503)."""
    report = readiness.check()
    return JSONResponse(_redacted(report.body()), status_code=200 if report.ready else 503)


def _redacted(body: Any) -> Any:
    """The body with file paths redacted from every string (messages name the failing index folder)."""
    if isinstance(body, dict):
        return {key: _redacted(value) for key, value in body.items()}
    if isinstance(body, list):
        return [_redacted(value) for value in body]
    return redact_paths(body) if isinstance(body, str) else body

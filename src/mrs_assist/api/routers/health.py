"""Liveness (`/healthz`) and readiness (`/readyz`); see `mrs_assist.readiness`."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from mrs_assist import __version__
from mrs_assist.api.errors import redact_paths
from mrs_assist.readiness import Readiness
from mrs_assist.schemas import ErrorResponse


@asynccontextmanager
async def _lifespan(app: FastAPI):
    # The index self-check starts with the server, in the background: liveness answers at
    # once, readiness once the check has passed.
    get_readiness(app).start_background()
    yield


router = APIRouter(tags=["health"], lifespan=_lifespan)


def get_readiness(app: FastAPI) -> Readiness:
    """`app.state.readiness`, created on first use from the app's services (tests may set their own)."""
    readiness = getattr(app.state, "readiness", None)
    if readiness is None:
        services = app.state.services

        def records():
            return getattr(app.state, "records", None) or services.records

        readiness = app.state.readiness = Readiness(services.settings, records=records)
    return readiness


@router.get("/healthz")
def healthz() -> dict:
    """Liveness: the process answers."""
    return {"status": "ok", "version": __version__}


@router.get(
    "/readyz",
    responses={503: {"model": ErrorResponse, "description": "Not ready: the index failed its self-check, "
                     "or the Chroma server or the records database is unavailable; `checks` says which."}},
)
def readyz(request: Request) -> JSONResponse:
    """Readiness: the index passed its self-check and the records database answers (else 503)."""
    report = get_readiness(request.app).check()
    return JSONResponse(_redacted(report.body()), status_code=200 if report.ready else 503)


def _redacted(body: Any) -> Any:
    """The body with file paths redacted from every string (messages name the failing index folder)."""
    if isinstance(body, dict):
        return {key: _redacted(value) for key, value in body.items()}
    if isinstance(body, list):
        return [_redacted(value) for value in body]
    return redact_paths(body) if isinstance(body, str) else body

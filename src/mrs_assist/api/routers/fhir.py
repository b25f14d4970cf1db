"""FHIR endpoints (Da Vinci PAS and DTR) — wiring only, over `mrs_assist.fhir.service`.

Every error is answered as a FHIR OperationOutcome (`application/fhir+json`) with a 4xx,
never a stack trace and never the caller's values.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from mrs_assist.api.errors import redact_paths
from mrs_assist.api.routers.records import get_records
from mrs_assist.auth import ALL_ROLES, CLINICAL_ROLES, User, require_role
from mrs_assist.errors import MrsAssistError
from mrs_assist.fhir.resources import FhirError, issue, operation_outcome
from mrs_assist.fhir.service import FhirService

FHIR_JSON = "application/fhir+json"
_ISSUE_CODES = {400: "structure", 401: "login", 403: "forbidden", 404: "not-found", 409: "conflict",
                413: "too-costly", 422: "invalid", 429: "throttled"}


def fhir_error(status: int, issues: list[dict[str, Any]], headers: dict[str, str] | None = None) -> JSONResponse:
    """An OperationOutcome response."""
    return JSONResponse(operation_outcome(issues), status_code=status, media_type=FHIR_JSON, headers=headers)


class FhirRoute(APIRoute):
    """A route whose errors become OperationOutcomes (the JSON API's handlers stay as they are)."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def route(request: Request):
            try:
                return await handler(request)
            except FhirError as exc:
                return fhir_error(exc.http_status, exc.issues)
            except MrsAssistError as exc:
                status = exc.http_status
                if status >= 500:
                    return fhir_error(status, [issue("the service cannot answer now", code="exception", severity="fatal")])
                return fhir_error(status, [issue(redact_paths(exc.message), code=_ISSUE_CODES.get(status, "processing"))])
            except RequestValidationError as exc:
                where = ".".join(str(p) for p in (exc.errors() or [{}])[0].get("loc", ()) if p != "body") or "body"
                return fhir_error(400, [issue("the body must be a FHIR resource as a JSON object", code="structure",
                                              expression=where if where.isidentifier() else None)])
            except StarletteHTTPException as exc:
                return fhir_error(exc.status_code, [issue(str(exc.detail), code=_ISSUE_CODES.get(exc.status_code, "processing"))],
                                  headers=dict(exc.headers or {}) or None)

        return route


router = APIRouter(prefix="/fhir", tags=["fhir"], route_class=FhirRoute)
_lock = threading.Lock()


def get_fhir(request: Request) -> FhirService:
    """One FhirService per app, over the app's Services and record store."""
    state = request.app.state
    service = getattr(state, "fhir", None)
    if service is None:
        records = get_records(request)
        with _lock:
            service = getattr(state, "fhir", None)
            if service is None:
                service = state.fhir = FhirService(state.services, records, base_url=str(request.base_url))
                interval = getattr(state.services.settings, "fhir_notify_interval_seconds", 0)
                service.subscriptions.start(interval)
    return service


FhirDep = Annotated[FhirService, Depends(get_fhir)]
Reader = Annotated[User, Depends(require_role(*ALL_ROLES))]
Clinician = Annotated[User, Depends(require_role(*CLINICAL_ROLES))]
ResourceBody = Annotated[dict[str, Any], Body(media_type=FHIR_JSON)]


def _fhir(data: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, media_type=FHIR_JSON)


@router.post("/Claim/$submit", response_class=JSONResponse)
def submit(body: ResourceBody, user: Clinician, fhir: FhirDep) -> JSONResponse:
    """Da Vinci PAS $submit: a PAS Request Bundle in, a PAS Response Bundle out (A1 certified,
    A4 pended, A3 not certified only after a physician signed)."""
    return _fhir(fhir.submit(body, user=user))


@router.post("/Claim/$inquiry", response_class=JSONResponse)
def inquiry(body: ResourceBody, _: Reader, fhir: FhirDep) -> JSONResponse:
    """Da Vinci PAS $inquiry: the current state of a submitted request, by its claim identifier."""
    return _fhir(fhir.inquire(body))


@router.get("/Questionnaire/{policy_id}", response_class=JSONResponse)
def questionnaire(policy_id: str, _: Reader, fhir: FhirDep) -> JSONResponse:
    """The DTR Questionnaire generated from a policy's criteria tree."""
    return _fhir(fhir.questionnaire(policy_id))


@router.post("/Questionnaire/$questionnaire-package", response_class=JSONResponse)
def questionnaire_package(body: ResourceBody, _: Reader, fhir: FhirDep) -> JSONResponse:
    """DTR $questionnaire-package: the Questionnaire, pre-filled for a stored request when `context` names one."""
    return _fhir(fhir.package(body))


@router.post("/QuestionnaireResponse", response_class=JSONResponse)
def questionnaire_response(body: ResourceBody, user: Clinician, fhir: FhirDep) -> JSONResponse:
    """Answers to a DTR questionnaire: they become the request's facts and the checker re-runs."""
    return _fhir(fhir.answer(body, user=user))


@router.post("/Subscription", response_class=JSONResponse, status_code=201)
def subscribe(body: ResourceBody, user: Reader, fhir: FhirDep) -> JSONResponse:
    """A PAS rest-hook Subscription (backport): a handshake now, an id-only notice whenever a
    request of the subscribing organization changes."""
    return _fhir(fhir.subscriptions.create(body, user=user), 201)


@router.get("/Subscription/{id}", response_class=JSONResponse)
def get_subscription(id: str, _: Reader, fhir: FhirDep) -> JSONResponse:
    """A stored Subscription with its status."""
    return _fhir(fhir.subscriptions.get(id))

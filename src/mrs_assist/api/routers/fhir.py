"""FHIR endpoints (Da Vinci PAS and DTR) — wiring only, over `mrs_assist.fhir.service`.

Every error is answered as a FHIR OperationOutcome (`application/fhir+json`) with a 4xx,
never a stack trace and never the caller's values.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from mrs_assist.api.errors import redact_paths
from mrs_assist.api.deps import FhirDep
from mrs_assist.auth import ALL_ROLES, SUBMITTING_ROLES, Role, User, require_role
from mrs_assist.errors import MrsAssistError
from mrs_assist.fhir.resources import FhirError, issue, operation_outcome

FHIR_JSON = "application/fhir+json"
_OUTCOME_SCHEMA = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {"resourceType": {"type": "string", "enum": ["OperationOutcome"]},
                   "issue": {"type": "array", "items": {"type": "object"}}},
}
FHIR_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {
        "content": {
            FHIR_JSON: {"schema": _OUTCOME_SCHEMA},
            # what the limits middleware answers before the route runs
            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}},
        },
        "description": description,
    }
    for status, description in {
        400: "The body is not a JSON object (OperationOutcome), or cannot be read at all.",
        401: "No API key where one is required.",
        403: "The caller's role may not do this.",
        404: "No such request, record, policy or subscription.",
        409: "The claim identifier was used under another policy.",
        413: "The body is larger than the server accepts.",
        422: "The resource is not valid FHIR or not conformant to the PAS profiles (OperationOutcome names the rule).",
        429: "Too many requests.",
        500: "Unexpected failure; the body never carries its details.",
    }.items()
}


class FhirJSONResponse(JSONResponse):
    """JSON served as FHIR JSON."""

    media_type = FHIR_JSON
_ISSUE_CODES = {400: "structure", 401: "login", 403: "forbidden", 404: "not-found", 409: "conflict",
                413: "too-costly", 422: "invalid", 429: "throttled"}


def fhir_error(status: int, issues: list[dict[str, Any]], headers: dict[str, str] | None = None) -> FhirJSONResponse:
    """An OperationOutcome response."""
    return FhirJSONResponse(operation_outcome(issues), status_code=status, headers=headers)


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


router = APIRouter(prefix="/fhir", tags=["fhir"], route_class=FhirRoute, responses=FHIR_ERRORS,
                   default_response_class=FhirJSONResponse)
Reader = Annotated[User, Depends(require_role(*ALL_ROLES, Role.provider))]
"""Staff, and a provider's submitting system (which sees only its own organization's requests)."""
Clinician = Annotated[User, Depends(require_role(*SUBMITTING_ROLES))]
"""Who may submit a request or its DTR answers: reviewer, physician, or a provider's system."""
ResourceBody = Annotated[dict[str, Any], Body(media_type=FHIR_JSON)]


def _fhir(data: dict[str, Any], status: int = 200) -> FhirJSONResponse:
    return FhirJSONResponse(data, status_code=status)


@router.post("/Claim/$submit")
def submit(body: ResourceBody, user: Clinician, fhir: FhirDep) -> FhirJSONResponse:
    """Da Vinci PAS $submit: a PAS Request Bundle in, a PAS Response Bundle out (A1 certified,
    A4 pended, A3 not certified only after a physician signed)."""
    return _fhir(fhir.submit(body, user=user))


@router.post("/Claim/$inquire")
def inquire(body: ResourceBody, user: Reader, fhir: FhirDep) -> FhirJSONResponse:
    """Da Vinci PAS $inquire (OperationDefinition Claim-inquiry): a PAS Inquiry Request Bundle
    in; a Parameters out with one `return` Inquiry Response Bundle per matching request (claim
    identifier or authorization number, with the member identifier and the provider), none
    when nothing matches."""
    return _fhir(fhir.inquire(body, user=user))


@router.post("/Claim/$inquiry", deprecated=True)
def inquiry(body: ResourceBody, user: Reader, fhir: FhirDep) -> FhirJSONResponse:
    """The earlier name: the first matching request's Inquiry Response Bundle (404 when none). Use $inquire."""
    return _fhir(fhir.inquire_one(body, user=user))


@router.get("/ClaimResponse/{id}")
def claim_response(id: str, user: Reader, fhir: FhirDep) -> FhirJSONResponse:
    """The current PAS ClaimResponse of a submitted request (the focus of a subscription notice)."""
    return _fhir(fhir.claim_response(id, user=user))


@router.get("/metadata")
def metadata(_: Reader, fhir: FhirDep) -> FhirJSONResponse:
    """The server's CapabilityStatement (PAS intermediary: Claim $submit/$inquire, Subscription, DTR, CRD)."""
    return _fhir(fhir.capability_statement())


@router.get("/Questionnaire/$questionnaire-package")
def questionnaire_package_get(
    user: Reader,
    fhir: FhirDep,
    policy: Annotated[str | None, Query(max_length=100, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")] = None,
    context: Annotated[str | None, Query(max_length=64, description="A stored request's id.")] = None,
) -> FhirJSONResponse:
    """DTR $questionnaire-package by GET (primitive parameters only): `policy`, or `context` = a record id."""
    parameters = [{"name": name, "valueString": value} for name, value in (("policy", policy), ("context", context))
                  if value is not None]
    return _fhir(fhir.package({"resourceType": "Parameters", "parameter": parameters}, user=user))


@router.get("/Questionnaire/{policy_id}")
def questionnaire(policy_id: str, _: Reader, fhir: FhirDep) -> FhirJSONResponse:
    """The DTR Questionnaire generated from a policy's criteria tree."""
    return _fhir(fhir.questionnaire(policy_id))


@router.post("/Questionnaire/$questionnaire-package")
def questionnaire_package(body: ResourceBody, user: Reader, fhir: FhirDep) -> FhirJSONResponse:
    """DTR $questionnaire-package: `coverage` + `order` (as DTR sends them), or `questionnaire` /
    `policy`; pre-filled for a stored request when `context` names one."""
    return _fhir(fhir.package(body, user=user))


@router.post("/QuestionnaireResponse")
def questionnaire_response(body: ResourceBody, user: Clinician, fhir: FhirDep) -> FhirJSONResponse:
    """Answers to a DTR questionnaire: they become the request's facts and the checker re-runs."""
    return _fhir(fhir.answer(body, user=user))


@router.post("/Subscription", status_code=201)
def subscribe(body: ResourceBody, user: Reader, fhir: FhirDep) -> FhirJSONResponse:
    """A PAS rest-hook Subscription (backport): a handshake now, an id-only notice whenever a
    request of the subscribing organization changes."""
    return _fhir(fhir.subscriptions.create(body, user=user), 201)


@router.get("/Subscription/{id}/$status")
def subscription_status(id: str, user: Reader, fhir: FhirDep) -> FhirJSONResponse:
    """Backport $status: the Subscription's SubscriptionStatus (Parameters)."""
    return _fhir(fhir.subscriptions.status(id, user=user))


@router.get("/Subscription/{id}")
def get_subscription(id: str, user: Reader, fhir: FhirDep) -> FhirJSONResponse:
    """A stored Subscription with its status (a provider system sees its organization's only)."""
    return _fhir(fhir.subscriptions.get(id, user=user))


@router.put("/Subscription/{id}")
def put_subscription(id: str, body: ResourceBody, user: Reader, fhir: FhirDep) -> FhirJSONResponse:
    """Replace a Subscription (a new handshake with its endpoint)."""
    return _fhir(fhir.subscriptions.update(id, body, user=user))


@router.delete("/Subscription/{id}", status_code=204)
def delete_subscription(id: str, user: Reader, fhir: FhirDep) -> Response:
    """Stop a Subscription's notices."""
    fhir.subscriptions.delete(id, user=user)
    return Response(status_code=204)

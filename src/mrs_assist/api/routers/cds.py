"""CDS Hooks (Da Vinci CRD, light): discovery and the order-select / order-sign services — wiring only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from mrs_assist.api.cds_auth import CdsCaller
from mrs_assist.api.deps import FhirDep, ServicesDep
from mrs_assist.auth import ALL_ROLES, Role, User, require_role
from mrs_assist.errors import NotFoundError
from mrs_assist.fhir import crd
from mrs_assist.schemas import ErrorResponse

router = APIRouter(prefix="/cds-services", tags=["cds-hooks"])
Reader = Annotated[User, Depends(require_role(*ALL_ROLES, Role.provider))]  # an EHR calls hooks as a provider system


@router.get("")
def discovery(_: Reader, services: ServicesDep) -> dict[str, Any]:
    """The services this server offers (CDS Hooks discovery)."""
    codes = sorted({c for p in services.policies.values() for c in p.scope.cpt_codes})
    return crd.discovery(codes)


@router.post("/{service_id}", responses={s: {"model": ErrorResponse} for s in (403, 404, 422)})
def call(service_id: str, body: Annotated[dict[str, Any], Body()], _: CdsCaller, fhir: FhirDep) -> dict[str, Any]:
    """A hook call: one card saying whether PA is required and what to document, citing clauses."""
    hook = crd.SERVICE_IDS.get(service_id)
    if hook is None:
        raise NotFoundError("no such CDS service; see GET /cds-services")
    return crd.cards(hook, body, payer_map=fhir.payer_map, policies=fhir.services.policies,
                     base_url=fhir.services.settings.public_url)

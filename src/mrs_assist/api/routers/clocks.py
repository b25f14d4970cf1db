"""Decision clocks: extend a request's decision timeframe, with the reason recorded and audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from mrs_assist.api.deps import ServicesDep
from mrs_assist.auth import CLINICAL_ROLES, User, require_role
from mrs_assist.records import DeterminationRecordResponse
from mrs_assist.records.models import ExtensionRequest
from mrs_assist.schemas import ErrorResponse

router = APIRouter(prefix="/v1", tags=["determinations"])
Clinician = Annotated[User, Depends(require_role(*CLINICAL_ROLES))]


@router.post(
    "/determinations/{id}/extension",
    response_model=DeterminationRecordResponse,
    responses={s: {"model": ErrorResponse} for s in (401, 403, 404, 409, 422)},
)
def extend(id: str, body: ExtensionRequest, user: Clinician, services: ServicesDep) -> DeterminationRecordResponse:
    """Extend the decision timeframe once, by up to 14 days, for a stated reason; 409 once signed."""
    return services.record_body(services.extend(id, body.days, body.reason, user=user), documents=True)

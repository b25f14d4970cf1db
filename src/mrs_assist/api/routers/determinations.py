"""Determinations: a request checked against one policy's criteria, stored as a draft record."""

from typing import Annotated

from fastapi import APIRouter, Depends

from mrs_assist.api.deps import ServicesDep
from mrs_assist.auth import CLINICAL_ROLES, User, require_role
from mrs_assist.intake import prepare_request
from mrs_assist.records import DeterminationRecordResponse
from mrs_assist.schemas import DeterminationRequest, ErrorResponse

router = APIRouter(prefix="/v1", tags=["determinations"])

Clinician = Annotated[User, Depends(require_role(*CLINICAL_ROLES))]


@router.post(
    "/determinations",
    response_model=DeterminationRecordResponse,
    status_code=201,
    responses={
        401: {"model": ErrorResponse},
        403: {"model": ErrorResponse},
        404: {"model": ErrorResponse},
        422: {"model": ErrorResponse},
    },
)
def create_determination(body: DeterminationRequest, services: ServicesDep, user: Clinician) -> DeterminationRecordResponse:
    """Check a prior-authorization request (recommendation, trace, evidence, citations) and store it as a draft.

    PDF and image `documents` are read first (text layer, else OCR), each page kept as a document
    of the case; a request with nothing to read, or a document that cannot be read, is refused
    (422) before anything is stored.
    """
    request, documents = prepare_request(body)
    return services.record_body(services.create_record(request, user=user, documents=documents), documents=True)

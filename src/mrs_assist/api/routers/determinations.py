"""Determinations: a request checked against one policy's criteria."""

from fastapi import APIRouter

from mrs_assist.api.deps import ServicesDep
from mrs_assist.schemas import DeterminationRequest, DeterminationResponse, ErrorResponse

router = APIRouter(prefix="/v1", tags=["determinations"])


@router.post(
    "/determinations",
    response_model=DeterminationResponse,
    response_model_exclude_none=False,
    responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def create_determination(body: DeterminationRequest, services: ServicesDep) -> DeterminationResponse:
    """Check a prior-authorization request: recommendation, trace, evidence, citations."""
    return services.determine(body)

"""Free-text questions answered with quoted, cited clauses."""

from fastapi import APIRouter

from mrs_assist.api.deps import ServicesDep
from mrs_assist.schemas import AskRequest, AskResponse, ErrorResponse

router = APIRouter(prefix="/v1", tags=["ask"])


@router.post(
    "/ask",
    response_model=AskResponse,
    responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
)
def ask(body: AskRequest, services: ServicesDep) -> AskResponse:
    """Answer a question with quotes from the guidelines, each cited to its clause."""
    return services.ask(body)

"""Free-text questions answered with quoted, cited clauses."""

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from mrs_assist.api.deps import ServicesDep
from mrs_assist.schemas import AskRequest, AskResponse, ErrorResponse

router = APIRouter(prefix="/v1", tags=["ask"])


@router.post(
    "/ask",
    response_model=AskResponse,
    responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
)
async def ask(body: AskRequest, services: ServicesDep) -> AskResponse:
    """Answer a question with quotes from the guidelines, each cited to its clause."""
    # The answer is computed in the thread pool (it blocks); the route itself is async, so
    # FastAPI checks the response on the event loop instead of handing it to the pool a
    # second time (one thread hand-off per ask, not two: issue 22 item 8).
    return await run_in_threadpool(services.ask, body)

"""The indications × policies matrix."""

from fastapi import APIRouter

from mrs_assist.api.deps import ServicesDep
from mrs_assist.schemas import CompareResponse

router = APIRouter(prefix="/v1", tags=["compare"])


@router.get("/compare", response_model=CompareResponse)
def compare(services: ServicesDep) -> CompareResponse:
    """Each indication under each policy: covered, covered-if, investigational or not covered, cited."""
    return services.compare()

"""The corpus's documents."""

from fastapi import APIRouter

from mrs_assist.api.deps import ServicesDep
from mrs_assist.schemas import PolicySummary

router = APIRouter(prefix="/v1", tags=["policies"])


@router.get("/policies", response_model=list[PolicySummary])
def list_policies(services: ServicesDep) -> list[PolicySummary]:
    """Every guideline and literature document, with version and dates."""
    return services.list_policies()

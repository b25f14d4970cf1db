"""Liveness."""

from fastapi import APIRouter

from mrs_assist import __version__

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict:
    """Liveness: the process answers."""
    return {"status": "ok", "version": __version__}

"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from mrs_assist import __version__
from mrs_assist.api.errors import install_error_handlers
from mrs_assist.api.routers import ask, compare, determinations, health, policies
from mrs_assist.config import Settings
from mrs_assist.service import Services


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    """A ready app; pass `services` (or settings) to control what it loads."""
    app = FastAPI(
        title="mrs-assist",
        version=__version__,
        description="Cited answers and criteria-checked determinations for MR spectroscopy (CPT 76390).",
    )
    app.state.services = services or Services(settings)
    install_error_handlers(app)
    for module in (health, policies, ask, determinations, compare):
        app.include_router(module.router)
    return app

"""Every dependency of the routes, as an Annotated alias (override them in tests)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from mrs_assist.service import Services


def get_services(request: Request) -> Services:
    """The process's Services, created by the app factory."""
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


# --- who is calling (mrs_assist.auth) ---------------------------------------------------
from mrs_assist.auth import CurrentUser, User, get_current_user, require_role  # noqa: E402,F401

"""Every dependency of the routes, as an Annotated alias: each reads one attribute of the app's
one `Services` (built by `mrs_assist.api.app.create_app`) and builds nothing. Tests swap them
with ``app.dependency_overrides``.

``get_services`` is ``async def`` although it never awaits: FastAPI runs a plain ``def``
dependency in its thread pool, a thread hand-off per request for one attribute read (issue 22
item 8). The others stay plain: the first read of ``services.records`` may open the database,
which must not block the event loop."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from mrs_assist.fhir.service import FhirService
from mrs_assist.readiness import Readiness
from mrs_assist.records import RecordStore
from mrs_assist.service import Services


async def get_services(request: Request) -> Services:
    """The app's Services."""
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_records(services: ServicesDep) -> RecordStore:
    """The determination record store (503 while its database is down)."""
    return services.records


RecordsDep = Annotated[RecordStore, Depends(get_records)]


def get_fhir(services: ServicesDep) -> FhirService:
    """The FHIR PAS/DTR/CRD service."""
    return services.fhir


FhirDep = Annotated[FhirService, Depends(get_fhir)]


def get_readiness(services: ServicesDep) -> Readiness:
    """The readiness probe."""
    return services.readiness


ReadinessDep = Annotated[Readiness, Depends(get_readiness)]


# --- who is calling (mrs_assist.auth) ---------------------------------------------------
from mrs_assist.auth import CurrentUser, User, get_current_user, require_role  # noqa: E402,F401

"""Who acts on a record: roles and users, without the HTTP layer (see ``mrs_assist.auth``).

Kept apart from ``auth`` so the record store and the CLI name users without importing FastAPI.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a user may do (see the ``mrs_assist.auth`` docstring)."""

    reviewer = "reviewer"
    physician = "physician"
    admin = "admin"
    provider = "provider"
    """A provider's submitting system (FHIR PAS/DTR only): submits, inquires about and subscribes
    to its own organization's requests; reads no /v1 record and signs nothing."""


CLINICAL_ROLES: tuple[Role, ...] = (Role.reviewer, Role.physician)
"""Roles that may change a record: create, override, edit a letter, sign, correct."""

ALL_ROLES: tuple[Role, ...] = (Role.reviewer, Role.physician, Role.admin)
"""The plan's own staff: every role but `provider` (who reaches only the FHIR routes)."""

SUBMITTING_ROLES: tuple[Role, ...] = (*CLINICAL_ROLES, Role.provider)
"""Roles that may submit a prior-authorization request (and its DTR answers) through FHIR."""


@dataclass(frozen=True)
class User:
    """An authenticated caller: a stable user name (recorded in the audit trail) and a role."""

    name: str
    role: Role
    organization: str | None = None
    """For a `provider`: the identifier of its organization (the Claim.provider identifier its
    requests carry); it sees only requests with that provider."""


LOCAL_USER = User("local-reviewer", Role.reviewer)
"""Who a caller is when no key is required and none is sent (loopback, embedded defaults)."""

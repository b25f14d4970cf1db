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


CLINICAL_ROLES: tuple[Role, ...] = (Role.reviewer, Role.physician)
"""Roles that may change a record: create, override, edit a letter, sign, correct."""

ALL_ROLES: tuple[Role, ...] = tuple(Role)


@dataclass(frozen=True)
class User:
    """An authenticated caller: a stable user name (recorded in the audit trail) and a role."""

    name: str
    role: Role


LOCAL_USER = User("local-reviewer", Role.reviewer)
"""Who a caller is when no key is required and none is sent (loopback, embedded defaults)."""

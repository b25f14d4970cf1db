"""Who is calling: API keys mapped to users with roles, and the rules for when a key is needed.

Roles
    ``reviewer``  — a UM nurse reviewer: runs determinations, overrides facts, edits letters,
                    signs approvals (``meets_criteria``) and pends (``needs_more_information``).
    ``physician`` — everything a reviewer does, and the only role that signs an adverse
                    determination (``does_not_meet_criteria``): nothing but a physician may
                    deny for medical necessity (README "Auth").
    ``provider``  — a provider's submitting system (FHIR only): submits PAS requests and DTR
                    answers, inquires about and subscribes to its own organization's requests
                    (its key names the organization: ``{user: ehr-1, role: provider,
                    organization: 1234567893}``, or ``KEY=USER:provider:ORG``); no /v1 records,
                    no sign-off.
    ``admin``     — runs the service: reads every record and the audit trail, makes no clinical
                    change (no determinations, overrides, letter edits or sign-offs), so an
                    operations account can never attest to a clinical decision.

Keys
    A keys file (``MRS_ASSIST_API_KEYS_FILE``, YAML or JSON) maps the sha256 hex digest of each
    key to its holder, so the file never holds a usable secret::

        9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08: {user: dr-lee, role: physician}

    ``MRS_ASSIST_API_KEYS="KEY=USER:ROLE,..."`` adds keys from the environment (tests, one
    container). Callers send the key as ``X-API-Key: KEY`` or ``Authorization: Bearer KEY``.
    Keys are read once when the app starts.

When a key is required (setting ``auth``)
    ``on``   — always (except ``/healthz``).
    ``auto`` — (default) when the server listens beyond loopback, or as soon as any key is
               configured. With the embedded defaults — loopback, no keys — every caller acts
               as the local user ``local-reviewer`` with role ``reviewer``: the single nurse
               at her own workstation. It can sign approvals and pends; an adverse
               determination still needs a physician's key (configure one to get it).
    ``off``  — every caller is ``local-reviewer`` and keys are ignored; refused (ConfigError)
               when the server listens beyond loopback.
    Whatever the mode, a request that arrives from a non-loopback address, or through a proxy
    (``Forwarded`` / ``X-Forwarded-For`` / ``X-Real-IP``), needs a key: that covers servers
    started without telling the app their host (``uvicorn mrs_assist.api.asgi:app --host ...``).
    A key that matches nobody is 401 even where none is required (``off`` alone ignores keys).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import secrets
from pathlib import Path
from typing import Annotated

import yaml
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mrs_assist.config import Settings
from mrs_assist.errors import ConfigError, ForbiddenError, UnauthorizedError
# Roles and users live in mrs_assist.users (no FastAPI there); api/ imports them from here too.
from mrs_assist.users import ALL_ROLES, CLINICAL_ROLES, LOCAL_USER, SUBMITTING_ROLES, Role, User  # noqa: F401


_USER_NAME = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$"
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class KeyHolder(BaseModel):
    """One entry of the keys file."""

    model_config = ConfigDict(extra="forbid")

    user: str = Field(pattern=_USER_NAME, description="User name as recorded in sign-offs and the audit trail.")
    role: Role
    organization: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@:/-]{0,99}$",
                                     description="A provider's organization identifier (role provider only, required there).")

    @model_validator(mode="after")
    def _organization_for_providers(self) -> KeyHolder:
        if (self.role == Role.provider) != (self.organization is not None):
            raise ValueError("a provider key needs an organization, and only a provider key has one")
        return self


def hash_api_key(key: str) -> str:
    """The sha256 hex digest under which `key` is listed in a keys file."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def generate_api_key() -> tuple[str, str]:
    """A new random key and its sha256 digest: give the key to the user, put the digest in the file."""
    key = "mrs_" + secrets.token_urlsafe(32)
    return key, hash_api_key(key)


def load_api_keys(settings: Settings) -> dict[str, User]:
    """Every configured key digest → its user (raises ConfigError naming the bad file or entry)."""
    keys: dict[str, User] = {}
    if settings.api_keys_file is not None:
        keys.update(_read_keys_file(Path(settings.api_keys_file)))
    if settings.api_keys is not None:
        keys.update(_parse_env_keys(settings.api_keys.get_secret_value()))
    return keys


def _read_keys_file(path: Path) -> dict[str, User]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the API keys file {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"the API keys file {path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"the API keys file {path} must map sha256 digests to {{user, role}}")
    keys = {}
    for digest, entry in data.items():
        digest = str(digest).lower()
        if not _SHA256_HEX.match(digest):
            raise ConfigError(f"the API keys file {path} lists {digest[:12]!r}…, not a sha256 hex digest")
        try:
            holder = KeyHolder.model_validate(entry)
        except ValidationError as exc:
            raise ConfigError(f"the API keys file {path}: entry {digest[:12]}…: {exc.errors()[0]['msg']}") from exc
        keys[digest] = User(holder.user, holder.role, holder.organization)
    return keys


def _parse_env_keys(value: str) -> dict[str, User]:
    keys = {}
    for n, entry in enumerate(filter(None, (e.strip() for e in value.split(","))), start=1):
        key, sep, holder = entry.rpartition("=")
        user, sep2, role = holder.partition(":")
        role, _, organization = role.partition(":")  # USER:provider:ORGANIZATION for a provider
        if not (sep and sep2 and key):
            raise ConfigError(f"MRS_ASSIST_API_KEYS entry {n} is not KEY=USER:ROLE (or KEY=USER:provider:ORG)")
        try:
            checked = KeyHolder(user=user, role=role, organization=organization or None)
        except ValidationError as exc:
            raise ConfigError(f"MRS_ASSIST_API_KEYS entry {n}: {exc.errors()[0]['msg']}") from exc
        digest = key[len("sha256:") :].lower() if key.startswith("sha256:") else hash_api_key(key)
        if not _SHA256_HEX.match(digest):
            raise ConfigError(f"MRS_ASSIST_API_KEYS entry {n}: sha256: must be followed by 64 hex digits")
        keys[digest] = User(checked.user, checked.role, checked.organization)
    return keys


def is_loopback(host: str | None) -> bool:
    """True for 'localhost' and loopback addresses; False for wildcards, other names and addresses."""
    if not host:
        return False
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def auth_required(settings: Settings, host: str) -> bool:
    """Whether a server listening on `host` must demand a key (raises ConfigError for auth=off beyond loopback)."""
    if settings.auth == "on":
        return True
    loopback = is_loopback(host)
    if settings.auth == "off":
        if not loopback:
            raise ConfigError(f"auth=off is allowed only on loopback, not when listening on {host!r}")
        return False
    return not loopback or bool(load_api_keys(settings))


class Authenticator:
    """Turns a presented key (or none) into a User, by the rules of the module docstring."""

    def __init__(self, keys: dict[str, User], *, mode: str = "auto", required: bool | None = None) -> None:
        self.keys = dict(keys)
        self.mode = mode
        self.required = (mode == "on" or (mode == "auto" and bool(keys))) if required is None else required

    @classmethod
    def from_settings(cls, settings: Settings, host: str | None = None) -> Authenticator:
        """The authenticator for a server on `host` (None: unknown; raises ConfigError if keys are needed but none exist)."""
        keys = load_api_keys(settings)
        required = auth_required(settings, host) if host is not None else None
        auth = cls(keys, mode=settings.auth, required=required)
        if auth.required and not keys:
            where = f"on {host!r}" if host is not None else "with auth=on"
            raise ConfigError(
                f"an API key is required {where} but none is configured; "
                "set MRS_ASSIST_API_KEYS_FILE (see mrs_assist.auth)"
            )
        return auth

    def authenticate(self, key: str | None, *, remote: bool = False) -> User:
        """The user holding `key`; LOCAL_USER when no key is needed and none is sent (raises UnauthorizedError)."""
        required = self.required or remote
        if self.mode == "off" and not required:
            return LOCAL_USER
        if key:
            user = self.keys.get(hash_api_key(key))
            if user is None:
                raise UnauthorizedError("the API key is not valid")
            return user
        if required:
            raise UnauthorizedError("an API key is required: send X-API-Key or Authorization: Bearer")
        return LOCAL_USER


# --- FastAPI wiring -----------------------------------------------------------------------
api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="ApiKey", description="An API key issued to a user."
)
bearer_token = HTTPBearer(auto_error=False, scheme_name="Bearer", description="The same API key as a Bearer token.")

_PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def request_is_remote(request: Request) -> bool:
    """True when the request came from, or was accepted on, a non-loopback address, or through a proxy."""
    if any(h in request.headers for h in _PROXY_HEADERS):
        return True
    server = request.scope.get("server") or (None, None)
    client = request.client.host if request.client else None
    for host in (server[0], client):
        try:
            if host and not ipaddress.ip_address(host).is_loopback:
                return True
        except ValueError:  # not an address (a Unix socket path, TestClient's names): no evidence
            continue
    return False


def get_authenticator(request: Request) -> Authenticator:
    """The app's authenticator, built with its `Services` by the app factory (middleware reads it too)."""
    return request.app.state.services.authenticator


async def get_current_user(
    request: Request,
    api_key: Annotated[str | None, Security(api_key_header)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_token)] = None,
) -> User:
    """The caller (raises UnauthorizedError 401).

    ``async`` although it never awaits: FastAPI runs a plain ``def`` dependency in its thread
    pool, a thread hand-off per request for a dictionary look-up (issue 22 item 8)."""
    key = api_key or (bearer.credentials if bearer is not None else None)
    user = get_authenticator(request).authenticate(key, remote=request_is_remote(request))
    request.state.user = user
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
"""The authenticated caller, as a route parameter type."""


def require_role(*roles: Role | str):
    """A dependency returning the caller if their role is one of `roles` (raises ForbiddenError 403)."""
    allowed = frozenset(Role(r) for r in roles)
    names = ", ".join(sorted(allowed))

    async def _check(user: CurrentUser) -> User:  # async: see get_current_user
        if user.role not in allowed:
            raise ForbiddenError(f"role {user.role.value!r} may not do this (allowed: {names})")
        return user

    return _check


ClinicalUser = Annotated[User, Depends(require_role(*CLINICAL_ROLES))]
"""A caller who may change records: reviewer or physician."""

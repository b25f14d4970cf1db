"""Who calls a CDS Hooks service: CDS Hooks 2.0 clients authenticate with a JWT bearer token
signed with their own key (https://cds-hooks.hl7.org/2.0/#trusting-cds-clients), not with an
API key. The token is verified against a configured JWKS (setting cds_jwks_file): signature,
`aud` = the service's URL under the configured public URL, `exp`, and `iss` when issuers are
listed. Without a JWKS, a JWT is accepted only where no key is required at all (loopback, no
keys configured), as the keyless local user. An X-API-Key (or a bearer that is not a JWT)
is an API key as everywhere else.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import jwt
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials

from mrs_assist.auth import (
    ALL_ROLES, LOCAL_USER, Role, User, api_key_header, bearer_token, get_authenticator, request_is_remote,
)
from mrs_assist.errors import ConfigError, UnauthorizedError

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"]
"""Asymmetric algorithms only: a CDS client signs with its private key."""
CDS_CLIENT_ROLE = Role.provider


def _is_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


@lru_cache(maxsize=4)
def _jwks(path: str, mtime: float) -> jwt.PyJWKSet:
    try:
        return jwt.PyJWKSet.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, jwt.PyJWKError) as exc:
        raise ConfigError(f"the CDS JWKS file {path} cannot be read as a JWKS") from exc


def verify_client_jwt(token: str, *, jwks_file: Path, audience: str, issuers: list[str]) -> User:
    """The CDS client a verified JWT names (raises UnauthorizedError; never says which check failed)."""
    keys = _jwks(str(jwks_file), jwks_file.stat().st_mtime if jwks_file.exists() else 0.0)
    try:
        header = jwt.get_unverified_header(token)
        candidates = [k for k in keys.keys if header.get("kid") in (None, k.key_id)]
        for key in candidates:
            try:
                claims = jwt.decode(token, key=key.key, algorithms=ALGORITHMS, audience=audience,
                                    options={"require": ["iss", "aud", "exp", "jti"]})
            except jwt.InvalidSignatureError:
                continue
            if issuers and claims["iss"] not in issuers:
                break
            name = "cds:" + "".join(ch for ch in str(claims["iss"]) if ch.isalnum() or ch in ".-_")[:90]
            return User(name or "cds-client", CDS_CLIENT_ROLE)
    except jwt.PyJWTError:
        pass
    raise UnauthorizedError("the CDS client's JWT is not valid for this service")


def cds_caller(
    request: Request,
    api_key: Annotated[str | None, Security(api_key_header)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_token)] = None,
) -> User:
    """The caller of a CDS Hooks route: a JWT-bearing CDS client, or an API-key holder."""
    token = bearer.credentials if bearer is not None else None
    if api_key or not token or not _is_jwt(token):
        user = get_authenticator(request).authenticate(api_key or token, remote=request_is_remote(request))
    else:
        settings = request.app.state.services.settings
        jwks_file = settings.cds_jwks_file
        if jwks_file is not None:
            audience = settings.public_url + request.url.path
            user = verify_client_jwt(token, jwks_file=Path(jwks_file), audience=audience,
                                     issuers=list(settings.cds_issuers))
        else:
            authenticator = get_authenticator(request)
            if authenticator.required or request_is_remote(request):
                raise UnauthorizedError("a CDS client JWT needs a configured JWKS (cds_jwks_file) on this server")
            user = LOCAL_USER  # keyless loopback: the token is not checked, as no key is
    request.state.user = user
    if user.role not in (*ALL_ROLES, Role.provider):
        raise UnauthorizedError("not a CDS client")
    return user


CdsCaller = Annotated[User, Depends(cds_caller)]

"""Loopback means loopback: the guard on a server that answers without an API key.

Without keys (the embedded default on 127.0.0.1, or ``auth=off``) every caller acts as the
local reviewer, so the server must only answer the local browser:

- **Host allow-list.** The ``Host`` header must be ``127.0.0.1``, ``localhost`` or ``[::1]``,
  with or without a port; anything else is 400 ``host_not_allowed``. A page on
  ``attacker.example`` whose DNS name is re-bound to 127.0.0.1 sends ``Host: attacker.example``:
  it is refused before any record is read (DNS rebinding).
- **Origin check.** A state-changing request (POST, PUT, PATCH, DELETE) whose ``Origin`` is not
  the server's own (``http://`` + the Host it was sent to), or ``null``, is 403
  ``cross_origin``; without an Origin, a browser's ``Sec-Fetch-Site: cross-site`` or
  ``same-site`` is refused the same way. A cross-site form POST cannot sign as local-reviewer.
  Origins listed in ``cors_origins`` count as the server's own (the operator opened them).
  Non-browser clients (curl, the CLI, scripts) send no Origin and pass.

Once keys are required (``auth=on``, any key configured, or a request from beyond loopback) the
key is what authorizes a request, so the guard stands aside.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from mrs_assist.api.errors import error_response
from mrs_assist.auth import get_authenticator, request_is_remote

_LOOPBACK_HOST = re.compile(r"^(?:127\.0\.0\.1|localhost|\[::1\])(?::[0-9]{1,5})?$", re.IGNORECASE)
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def keyless(request: Request) -> bool:
    """Whether this request is answered without a key (the local reviewer, on loopback)."""
    auth = get_authenticator(request)
    if request_is_remote(request):
        return False
    return auth.mode == "off" or not auth.required


def allowed(request: Request) -> tuple[int, str, str] | None:
    """None when a keyless request may proceed; else (status, code, message)."""
    host = request.headers.get("host", "")
    if not _LOOPBACK_HOST.match(host):
        return 400, "host_not_allowed", "without an API key this server answers only Host 127.0.0.1, localhost or [::1]"
    if request.method in _UNSAFE:
        origin = request.headers.get("origin")
        if origin is not None:
            if origin.lower() not in _own_origins(request, host):
                return 403, "cross_origin", "a change must come from this server's own page (Origin mismatch)"
        elif request.headers.get("sec-fetch-site", "").lower() in ("cross-site", "same-site"):
            return 403, "cross_origin", "a change must come from this server's own page (cross-site request)"
    return None


def _own_origins(request: Request, host: str) -> set[str]:
    """This server's origin, and the origins the operator opened with ``cors_origins``."""
    extra = request.app.state.services.settings.cors_origins
    return {f"http://{host}".lower(), *(o.lower() for o in extra)}


class LoopbackGuardMiddleware:
    """Refuse keyless requests with a foreign Host, and keyless changes from a foreign Origin."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            if keyless(request) and (refused := allowed(request)) is not None:
                status, code, message = refused
                await error_response(status, code, message)(scope, receive, send)
                return
        await self.app(scope, receive, send)

"""The reviewer workbench: one HTML page, its script and stylesheet, served from api/static.

The page holds no secrets and no data, so it needs no key; everything it shows comes from
the /v1 routes, which it calls with the reviewer's key. A strict Content-Security-Policy
(scripts and styles from this origin only, nothing from elsewhere) backs up the page's
rule of rendering untrusted text (clinical notes, letters) as text nodes only.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from mrs_assist.data import shipped
from mrs_assist.errors import NotFoundError

router = APIRouter(tags=["page"], include_in_schema=False)

STATIC_DIR = shipped("api/static")

_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}

_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _serve(name: str) -> Response:
    """The file `name` of STATIC_DIR with its media type (raises NotFoundError for anything else)."""
    path = STATIC_DIR / name
    media_type = _MEDIA_TYPES.get(path.suffix)
    # Only plain file names of known types: no sub-folders, no '..', no dot-files.
    if media_type is None or "/" in name or "\\" in name or name.startswith(".") or not path.is_file():
        raise NotFoundError(f"no static file {name!r}")
    return Response(content=path.read_bytes(), media_type=media_type, headers=_HEADERS)


@router.get("/")
def workbench() -> Response:
    """The reviewer workbench page."""
    return _serve("index.html")


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    """The page's script, stylesheet or icon (raises NotFoundError for any other name)."""
    return _serve(name)

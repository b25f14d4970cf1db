"""The FastAPI application factory."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response

from mrs_assist import __version__
from mrs_assist.api.accesslog import install_access_log_redaction
from mrs_assist.api.errors import install_error_handlers
from mrs_assist.api.loopback import LoopbackGuardMiddleware
from mrs_assist.api.limits import AUTH_ERROR_RESPONSES, ERROR_RESPONSES, install_limits
from mrs_assist.api.routers import ask, cds, clocks, compare, determinations, fhir, health, metrics, page, policies, records
from mrs_assist.auth import get_current_user
from mrs_assist.config import Settings
from mrs_assist.errors import NotFoundError
from mrs_assist.service import Services


def create_app(
    settings: Settings | None = None, *, services: Services | None = None, host: str | None = None
) -> FastAPI:
    """A ready app over one `Services` — built here from `settings`, or handed in (tests) — that
    owns the records, the authenticator, the FHIR service and readiness: the routes'
    dependencies (`mrs_assist.api.deps`) only read its attributes from ``app.state.services``.

    ``host`` is the interface the server listens on: beyond loopback an API key is
    required (mrs_assist.auth); unknown (None) decides per request. A configuration error
    (a key required, none configured) raises ConfigError here, not in a request.
    """
    services = (services or Services(settings)).serve_on(host)
    app = FastAPI(
        title="mrs-assist",
        version=__version__,
        description="Cited answers and criteria-checked determinations for MR spectroscopy (CPT 76390).",
        openapi_url=None,  # served below, behind the same key as the API
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.services = services
    install_error_handlers(app)
    app.add_middleware(LoopbackGuardMiddleware)  # keyless means loopback-only (mrs_assist.api.loopback)
    install_limits(app, services.settings)
    app.include_router(health.router, responses={s: r for s, r in ERROR_RESPONSES.items() if s != 429})
    app.include_router(page.router)  # the reviewer workbench at / (static; the data stays behind /v1)
    authenticated = [Depends(get_current_user)]
    errors = {**ERROR_RESPONSES, **AUTH_ERROR_RESPONSES}
    for module in (policies, ask, compare):
        app.include_router(module.router, dependencies=authenticated, responses=errors)
    app.include_router(determinations.router, responses=errors)  # its route checks the clinical role itself
    app.include_router(records.router, responses=errors)
    app.include_router(clocks.router, responses=errors)
    app.include_router(metrics.router, responses=errors)
    app.include_router(cds.router, responses=errors)
    app.include_router(fhir.router)  # FHIR PAS/DTR: errors as OperationOutcome; roles checked per route
    _install_docs(app, authenticated)
    install_access_log_redaction(app)  # ids never reach the access log (mrs_assist.api.accesslog)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI):
    """Background work starts with the server and stops with it, never in a request: the index
    self-check (liveness answers at once, readiness once it passed) and the FHIR rest-hook pusher
    (its sweeps find the subscriptions created since)."""
    services: Services = app.state.services
    services.readiness.start_background()
    services.fhir.subscriptions.start()  # opens nothing: its sweeps open the record store (and log while it is down)
    try:
        yield
    finally:
        if "subscriptions" in vars(services.fhir):  # built at start-up
            services.fhir.subscriptions.stop()
        services.close()


def _install_docs(app: FastAPI, authenticated: list) -> None:
    """/openapi.json and /docs, answering whoever the API answers: with auth on, a key is needed."""

    @app.get("/openapi.json", include_in_schema=False, dependencies=authenticated)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=authenticated)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title=f"{app.title} — API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js", swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )

    @app.get("/docs/assets/{name}", include_in_schema=False)
    def docs_asset(name: str) -> Response:
        """Swagger UI's script, stylesheet and icon from the swagger-ui-bundle package (no CDN: /docs works offline)."""
        import swagger_ui_bundle

        if name not in _SWAGGER_ASSETS:
            raise NotFoundError(f"no documentation asset {name!r}")
        path = Path(swagger_ui_bundle.swagger_ui_path) / name
        return Response(path.read_bytes(), media_type=_SWAGGER_ASSETS[name], headers={"Cache-Control": "max-age=86400"})


_SWAGGER_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}

"""The HTTP application: health, the agency API under /api/v1, its OpenAPI document, and the web UI."""

from __future__ import annotations

from aiohttp import web

from monitor.api import (
    routes_admin,
    routes_discoveries,
    routes_domains,
    routes_endpoints,
    routes_findings,
    routes_reports,
)
from monitor.api.context import SERVICES, ApiConfig, Services
from monitor.api.errors import error_middleware
from monitor.api.health import healthz, readyz
from monitor.api.openapi import openapi_document, openapi_handler
from monitor.api.routing import PREFIX, Operation, add_operations
from monitor.scope_resolution import Resolver
from monitor.store.store import Store
from monitor.usecases.registration import SettingsChanged

OPERATIONS: list[Operation] = [
    *routes_admin.OPERATIONS,
    *routes_endpoints.OPERATIONS,
    *routes_domains.OPERATIONS,
    *routes_findings.OPERATIONS,
    *routes_discoveries.OPERATIONS,
    *routes_reports.OPERATIONS,
]
OPENAPI_PATH = f"{PREFIX}/openapi.json"


def build_app(
    store: Store,
    config: ApiConfig | None = None,
    resolver: Resolver | None = None,
    *,
    web_ui: bool = True,
    on_settings_changed: SettingsChanged | None = None,
) -> web.Application:
    """`on_settings_changed`: re-judges an agency's stored facts when its check settings change (the daemon's
    recording; without it the next scans apply them)."""
    app = build_scanner_app(store, config, resolver, on_settings_changed)
    add_operations(app, OPERATIONS)
    app.router.add_get(OPENAPI_PATH, openapi_handler(openapi_document(OPERATIONS)), name="openapi")
    if web_ui:
        from monitor.api.web import setup_web

        setup_web(app)
    return app


def build_scanner_app(
    store: Store,
    config: ApiConfig | None = None,
    resolver: Resolver | None = None,
    on_settings_changed: SettingsChanged | None = None,
) -> web.Application:
    """Health and the token checks (which guard a /metrics the daemon adds): the scanner role's whole HTTP, and
    what the API and the UI are built on."""
    config = config or ApiConfig()
    app = web.Application(client_max_size=config.max_body_bytes, middlewares=[error_middleware])
    app[SERVICES] = Services.build(store, config, resolver, on_settings_changed)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.on_cleanup.append(_settle)
    return app


async def _settle(app: web.Application) -> None:
    await app[SERVICES].access.settle()  # the last uses of tokens noted before the stop

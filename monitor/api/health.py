"""`/healthz` (the process is alive) and `/readyz` (the database answers and its schema is current)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store.schema import SchemaOutdated, ensure_current

ENGINE = web.AppKey("engine", AsyncEngine)


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        await ensure_current(request.app[ENGINE])
    except SchemaOutdated as err:
        return web.json_response({"status": "not ready", "reason": str(err)}, status=503)
    except (SQLAlchemyError, OSError) as err:
        return web.json_response({"status": "not ready", "reason": f"database: {type(err).__name__}"}, status=503)
    return web.json_response({"status": "ready"})


def build_app(engine: AsyncEngine) -> web.Application:
    app = web.Application(client_max_size=1024**2)
    app[ENGINE] = engine
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app

"""`/healthz` (the process is alive) and `/readyz` (the database answers and its schema is current)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from monitor.api.context import services
from monitor.store.schema import SchemaOutdated


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        await services(request).store.ensure_current()
    except SchemaOutdated as err:
        return web.json_response({"status": "not ready", "reason": str(err)}, status=503)
    except (SQLAlchemyError, OSError) as err:
        return web.json_response({"status": "not ready", "reason": f"database: {type(err).__name__}"}, status=503)
    return web.json_response({"status": "ready"})

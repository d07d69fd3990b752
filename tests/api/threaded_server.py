"""The API on 127.0.0.1 in a thread of its own, for synchronous clients (schemathesis, Playwright)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.api.app import build_app
from monitor.api.context import ApiConfig
from monitor.scope_resolution import Resolver
from monitor.store.engine import make_engine
from monitor.store.schema import upgrade
from monitor.store.store import Store
from tests.api.conftest import Tokens, seed

T = TypeVar("T")


@dataclass
class RunningApi:
    url: str
    tokens: Tokens
    engine: AsyncEngine
    loop: asyncio.AbstractEventLoop

    def run(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run a coroutine on the server's loop (database writes of the test, for instance)."""
        return asyncio.run_coroutine_threadsafe(make(), self.loop).result(30)  # type: ignore[arg-type]


class ThreadedApi:
    def __init__(self, database_url: str, config: ApiConfig, resolver: Resolver) -> None:
        self.database_url = database_url
        self.config = config
        self.resolver = resolver
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="api-server", daemon=True)
        self.runner: web.AppRunner | None = None
        self.engine: AsyncEngine | None = None

    def __enter__(self) -> RunningApi:
        self.thread.start()
        return asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(60)

    async def _start(self) -> RunningApi:
        self.engine = make_engine(self.database_url)
        await upgrade(self.engine)
        tokens = await seed(self.engine)
        self.runner = web.AppRunner(build_app(Store(self.engine), self.config, self.resolver), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        return RunningApi(f"http://127.0.0.1:{port}", tokens, self.engine, self.loop)

    async def _stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        if self.engine is not None:
            await self.engine.dispose()

    def __exit__(self, *exc: Any) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

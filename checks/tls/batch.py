"""One sslyze `Scanner` per batch of targets, shared by the coroutines that asked for them.

Scans requested within `window_s` of each other (up to `max_batch`) go to one Scanner in one worker thread, as
sslyze's own command line does with all its targets. Results arrive in completion order and are matched to the
waiting coroutine by the request's uuid; each is converted in the worker thread and handed back to its event
loop. A started Scanner cannot be cancelled: a coroutine whose deadline fires stops waiting at once, and its
result is dropped when it arrives. Each Scanner is bounded by the batch size and by every request's own
`network_timeout` and retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sslyze.scanner.models import ServerScanRequest, ServerScanResult
from sslyze.scanner.scanner import Scanner

T = TypeVar("T")
WINDOW_S = 0.05
MAX_BATCH = 10


@dataclass(slots=True)
class _Item(Generic[T]):
    request: ServerScanRequest
    finish: Callable[[ServerScanResult], T]  # runs in the worker thread; may raise
    future: asyncio.Future[T]
    loop: asyncio.AbstractEventLoop


_Key = tuple[asyncio.AbstractEventLoop, int, Executor]


class ScanBatcher:
    def __init__(self, window_s: float = WINDOW_S, max_batch: int = MAX_BATCH) -> None:
        self.window_s = window_s
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._pending: dict[_Key, list[_Item[Any]]] = {}

    async def scan(
        self,
        request: ServerScanRequest,
        finish: Callable[[ServerScanResult], T],
        *,
        connections_per_server: int,
        executor: Executor,
    ) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        key: _Key = (loop, connections_per_server, executor)
        with self._lock:
            batch = self._pending.setdefault(key, [])
            batch.append(_Item(request, finish, future, loop))
            size = len(batch)
        if size >= self.max_batch:
            self._flush(key)
        elif size == 1:
            loop.call_later(self.window_s, self._flush, key)
        return await future

    def _flush(self, key: _Key) -> None:
        with self._lock:
            items = self._pending.pop(key, [])
        if items:
            _, connections, executor = key
            executor.submit(_run_batch, items, connections)


def _run_batch(items: list[_Item[Any]], connections: int) -> None:
    waiting = {item.request.uuid: item for item in items}
    try:
        scanner = Scanner(per_server_concurrent_connections_limit=connections, concurrent_server_scans_limit=len(items))
        scanner.queue_scans([item.request for item in items])
        for result in scanner.get_results():
            item = waiting.pop(result.uuid, None)
            if item is None:
                continue
            try:
                _deliver(item, item.finish(result), None)
            except Exception as err:  # handed to the waiting coroutine; the runner turns it into a status
                _deliver(item, None, err)
        leftover: Exception = RuntimeError("sslyze returned no result for this target")
    except Exception as err:  # a bug in the scan itself: every waiter gets it
        leftover = err
    for item in waiting.values():
        _deliver(item, None, leftover)


def _deliver(item: _Item[Any], value: Any, error: BaseException | None) -> None:
    def settle() -> None:
        if item.future.done():  # the waiter gave up (deadline) or its loop is shutting down
            return
        if error is not None:
            item.future.set_exception(error)
        else:
            item.future.set_result(value)

    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits any more
        item.loop.call_soon_threadsafe(settle)

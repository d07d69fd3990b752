"""Waiting for something a test started to happen: the one polling helper, for synchronous and async tests."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable


def wait_for(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.25) -> None:
    """Poll `predicate` until it is true; an OSError (a server not listening yet) counts as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(interval)
    raise AssertionError(f"not in {timeout:g} s: {what}")


async def until(
    predicate: Callable[[], bool | Awaitable[bool]], timeout: float, what: str, interval: float = 0.2
) -> None:
    """Poll `predicate` (plain or async) without blocking the loop; fail naming `what` when it stays false."""
    try:
        async with asyncio.timeout(timeout):
            while not await _holds(predicate):
                await asyncio.sleep(interval)
    except TimeoutError:
        raise AssertionError(f"not in {timeout:g} s: {what}") from None


async def _holds(predicate: Callable[[], bool | Awaitable[bool]]) -> bool:
    value = predicate()
    return await value if inspect.isawaitable(value) else bool(value)

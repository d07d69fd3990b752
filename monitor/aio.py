"""Small asyncio helpers shared by the daemon's loops."""

from __future__ import annotations

import asyncio


async def first_of(*events: asyncio.Event, wait_s: float) -> None:
    """Wait until any of `events` is set or `wait_s` passes."""
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)

"""Which of a name's checked addresses answers: connection attempts raced as happy eyeballs do (RFC 8305)."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence
from itertools import chain, zip_longest

from checks.base import accepts

ATTEMPT_DELAY_S = 0.25  # RFC 8305 section 5: the recommended delay between attempts
CONNECT_PROBE_S = 5.0  # how long to wait for any of a name's addresses before a check starts


def interleaved(addresses: Sequence[str]) -> list[str]:
    """IPv6 first, then alternating families (RFC 8305 section 4), each family in the resolver's order."""
    v6 = [a for a in addresses if ipaddress.ip_address(a).version == 6]
    v4 = [a for a in addresses if ipaddress.ip_address(a).version == 4]
    return [a for a in chain.from_iterable(zip_longest(v6, v4)) if a is not None]


async def first_answering(
    addresses: Sequence[str], port: int, timeout_s: float, delay_s: float = ATTEMPT_DELAY_S
) -> str | None:
    """The first address that accepts a TCP connection on `port` (closed again at once), trying the next one
    every `delay_s` while earlier attempts are still pending; None when none answered within `timeout_s`."""
    order = interleaved(addresses)
    if len(order) <= 1:
        return order[0] if order else None

    async def attempt(index: int, address: str) -> str | None:
        await asyncio.sleep(index * delay_s)
        return address if await accepts(address, port, timeout_s) else None

    tasks = [asyncio.create_task(attempt(index, address)) for index, address in enumerate(order)]
    try:
        async with asyncio.timeout(timeout_s):
            for attempted in asyncio.as_completed(tasks):
                if (address := await attempted) is not None:
                    return address
    except TimeoutError:
        pass
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return None

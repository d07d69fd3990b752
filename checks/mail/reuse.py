"""One probe of a mail server serves every domain that uses it, for a while.

A municipal data centre's MX receives the mail of dozens of the state's domains. Probing it once per domain and
cycle would open dozens of SMTP connections to it every cycle (and cost as many handshakes); what it answers
does not depend on the domain that led to it. So the mail check keeps each MX probe (STARTTLS facts, keyed by the
MX name, its addresses and the trust anchors it was judged with), each TLSA answer (by the MX name and the
resolver) and each DNS answer (a shared SPF include, an MX host's address; by resolver and question, for no
longer than its TTL) for `MailConfig.probe_reuse_s`, and askers that come while a probe runs wait for that one
probe. The scope decision is made for every domain before the store is asked: reuse never lets a run see a server
it may not contact.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")
MAX_ENTRIES = 20_000  # past this, entries older than their reuse time are dropped at the next store


class _Entry(Generic[T]):
    __slots__ = ("future", "started", "ttl_s")

    def __init__(self, future: asyncio.Future[T], started: float, ttl_s: float) -> None:
        self.future = future
        self.started = started
        self.ttl_s = ttl_s

    def serves(self, now: float) -> bool:
        """Still running (wait for it), or done well and young enough."""
        future = self.future
        if not future.done():
            return True
        return not future.cancelled() and future.exception() is None and now - self.started < self.ttl_s


class Reuse(Generic[T]):
    """Results by key, reused for `ttl_s` seconds (event loop time) or the shorter `lifetime` a result names (a DNS
    answer's TTL); one probe per key at a time. A probe that failed is not reused."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, _Entry[T]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    async def get(
        self,
        key: Hashable,
        ttl_s: float,
        probe: Callable[[], Awaitable[T]],
        lifetime: Callable[[T], float] | None = None,
    ) -> T:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # futures belong to one loop: a new loop (a new process run) starts afresh
            self._entries.clear()
            self._loop = loop
        now = loop.time()
        found = self._entries.get(key)
        if found is not None and found.serves(now):
            if found.future.done():
                return found.future.result()  # no task, no shield: the common case of a shared answer
            return await asyncio.shield(found.future)
        future = asyncio.ensure_future(probe())
        if ttl_s > 0:
            entry = _Entry(future, now, ttl_s)
            if lifetime is not None:
                future.add_done_callback(lambda done: _shorten(entry, done, lifetime))
            self._store(key, entry, now)
        # shielded: an asker whose run is cancelled (its deadline) leaves the probe to the others waiting for it
        return await asyncio.shield(future)

    def _store(self, key: Hashable, entry: _Entry[T], now: float) -> None:
        if len(self._entries) >= MAX_ENTRIES:
            self._entries = {k: e for k, e in self._entries.items() if e.serves(now)}
        self._entries[key] = entry


def _shorten(entry: _Entry[T], done: asyncio.Future[T], lifetime: Callable[[T], float]) -> None:
    if not done.cancelled() and done.exception() is None:
        entry.ttl_s = min(entry.ttl_s, lifetime(done.result()))

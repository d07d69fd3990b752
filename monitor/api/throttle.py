"""Failed sign-ins per presented token and per client address: the brake on guessing, and the lockout a
mistyping user meets, without locking out anybody else's valid token."""

from __future__ import annotations

import hashlib
import ipaddress
import logging

from monitor.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)


class FailedAuthLimiter:
    """Counts failed sign-ins per client address and per presented token; after `max_failures` within `window_s`
    that address (or that token) gets 429 instead of 401 until the window has passed.

    Only failures are refused: a valid token always signs in, whatever others did from the same address, because
    behind a proxy or a municipality's NAT one address is many people (the client address itself is the proxy's
    `X-Forwarded-For` only for trusted proxies: `monitor/api/context.py::client_address`). Guessing is hopeless
    anyway (tokens carry 256 random bits); the counters make a guesser visible (one warning per lockout) and tell
    a user who repeats a wrong or revoked token to stop. Tokens are counted by a hash, never kept.

    IPv6 clients are counted per /64, the block one subscriber usually holds. Memory stays bounded: at most
    `max_clients` keys are tracked, expired ones are dropped first.
    """

    def __init__(
        self, max_failures: int = 10, window_s: float = 60.0, max_clients: int = 10_000, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.clock = clock
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_clients = max_clients
        self._failures: dict[str, tuple[float, int]] = {}  # address or token key → (window start, failures)

    @staticmethod
    def client_key(address: str) -> str:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return address
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.ipv4_mapped is not None:
                return str(ip.ipv4_mapped)
            return str(ipaddress.IPv6Network((ip, 64), strict=False))
        return str(ip)

    @staticmethod
    def token_key(token: str) -> str:
        return "token " + hashlib.sha256(token.encode()).hexdigest()[:16]

    def retry_after(self, address: str, token: str) -> float:
        """Seconds until a failed sign-in from this address, or with this token, is answered 401 again."""
        now = self.clock.monotonic()
        return max(self._wait(self.client_key(address), now), self._wait(self.token_key(token), now))

    def failed(self, address: str, token: str) -> None:
        now = self.clock.monotonic()
        for key, shown in (
            (self.client_key(address), f"from {self.client_key(address)}"),
            (self.token_key(token), "with one token"),
        ):
            self._count(key, shown, now)

    def _wait(self, key: str, now: float) -> float:
        entry = self._failures.get(key)
        if entry is None:
            return 0.0
        left = entry[0] + self.window_s - now
        return left if left > 0 and entry[1] >= self.max_failures else 0.0

    def _count(self, key: str, shown: str, now: float) -> None:
        start, count = self._failures.get(key, (now, 0))
        if now - start >= self.window_s:
            start, count = now, 0
        if key not in self._failures and len(self._failures) >= self.max_clients:
            self._prune(now)
        self._failures[key] = (start, count + 1)
        if count + 1 == self.max_failures:
            log.warning("%d failed sign-ins %s: answered 429 for %g s", count + 1, shown, self.window_s)

    def _prune(self, now: float) -> None:
        self._failures = {k: v for k, v in self._failures.items() if now - v[0] < self.window_s}
        if len(self._failures) >= self.max_clients:  # all fresh: drop the oldest half rather than grow
            kept = sorted(self._failures.items(), key=lambda item: item[1][0])[len(self._failures) // 2 :]
            self._failures = dict(kept)

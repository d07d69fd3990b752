"""Failed sign-ins per client address: the brake on guessing tokens."""

from __future__ import annotations

import ipaddress
import logging
import time

log = logging.getLogger(__name__)


class FailedAuthLimiter:
    """Counts failed sign-ins per client address; after `max_failures` within `window_s` the address is refused
    (whatever token it sends) until the window has passed, so tokens cannot be guessed at speed.

    IPv6 clients are counted per /64, the block one subscriber usually holds. Memory stays bounded: at most
    `max_clients` addresses are tracked, expired ones are dropped first.
    """

    def __init__(self, max_failures: int = 10, window_s: float = 60.0, max_clients: int = 10_000) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_clients = max_clients
        self._failures: dict[str, tuple[float, int]] = {}  # client → (window start, failures in it)

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

    def retry_after(self, address: str) -> float:
        """Seconds until this client may try again; 0 when it may now."""
        entry = self._failures.get(self.client_key(address))
        if entry is None:
            return 0.0
        left = entry[0] + self.window_s - time.monotonic()
        return left if left > 0 and entry[1] >= self.max_failures else 0.0

    def failed(self, address: str) -> None:
        key, now = self.client_key(address), time.monotonic()
        start, count = self._failures.get(key, (now, 0))
        if now - start >= self.window_s:
            start, count = now, 0
        if key not in self._failures and len(self._failures) >= self.max_clients:
            self._prune(now)
        self._failures[key] = (start, count + 1)
        if count + 1 == self.max_failures:
            log.warning("%d failed sign-ins from %s: refused for %g s", count + 1, key, self.window_s)

    def _prune(self, now: float) -> None:
        self._failures = {k: v for k, v in self._failures.items() if now - v[0] < self.window_s}
        if len(self._failures) >= self.max_clients:  # all fresh: drop the oldest half rather than grow
            kept = sorted(self._failures.items(), key=lambda item: item[1][0])[len(self._failures) // 2 :]
            self._failures = dict(kept)

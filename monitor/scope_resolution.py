"""Scope at resolution time: which addresses a host name points at, and whether each may be scanned.

A name inside an agency's domain scope may point anywhere public. An address that is not globally routable
(private, loopback, link-local, shared, reserved …) is only allowed when one of the agency's CIDRs contains it,
because otherwise a registered name could point the scanner into our own or someone else's internal network.
The same check runs at registration and, through `resolve_and_check`, again before every scan.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver

from monitor.models import Observation, Severity
from monitor.scope import IpAddress, ScopeEntry, in_scope, parse_ip

SCOPE_VIOLATION_KEY = "scope.violation"


class HostUnresolvable(Exception):
    """The name has no A or AAAA record (or DNS did not answer): nothing to scan, and nothing to refuse."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"{host}: {reason}")
        self.host = host
        self.reason = reason


class ScopeViolation(Exception):
    """The host, or an address it resolves to, lies outside the agency's scope."""

    def __init__(self, host: str, addresses: Sequence[IpAddress], outside: Sequence[IpAddress], reason: str) -> None:
        super().__init__(f"{host}: {reason}")
        self.host = host
        self.addresses = tuple(addresses)
        self.outside = tuple(outside)
        self.reason = reason

    def observation(self) -> Observation:
        """The `scope.violation` finding to raise and alert when a scan is refused for this reason."""
        return Observation(
            key=SCOPE_VIOLATION_KEY,
            severity=Severity.HIGH,
            title="The host name now points outside the agency's scope; it was not scanned",
            detail={
                "host": self.host,
                "addresses": [str(a) for a in self.addresses],
                "outside_scope": [str(a) for a in self.outside],
                "reason": self.reason,
            },
            remediation=(
                "Check the DNS records of this name: a changed or dangling record (subdomain takeover) can point it "
                "at someone else's system. Correct the record, or ask the CERT to extend the scope if the new "
                "address is yours."
            ),
        )


class Resolver(Protocol):
    async def addresses(self, host: str) -> list[IpAddress]: ...

    async def txt(self, name: str) -> list[str]: ...


def _nameserver(spec: str) -> dns.nameserver.Do53Nameserver:
    address, port = nameserver_address(spec)
    return dns.nameserver.Do53Nameserver(address, port)


def nameserver_addresses(specs: Sequence[str]) -> tuple[tuple[str, int], ...]:
    """POSTURE_DNS_SERVERS as (address, port) pairs: what checks that ask DNS themselves read as
    CheckContext.resources[DNS_NAMESERVERS] (empty: the system's resolvers)."""
    return tuple(nameserver_address(spec) for spec in specs)


def nameserver_address(spec: str) -> tuple[str, int]:
    """`IP` or `IP:PORT` or `[IPv6]:PORT`; a ValueError names what is wrong."""
    text = spec.strip()
    port_text = "53"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{spec!r} is not IP, IP:PORT or [IPv6]:PORT")
            port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host = text
    try:
        ipaddress.ip_address(host)  # a name server is given by address, never by name
    except ValueError:
        raise ValueError(f"{spec!r} is not an IP address, IP:PORT or [IPv6]:PORT") from None
    if not (port_text.isdigit() and 0 < int(port_text) < 65536):
        raise ValueError(f"{spec!r} has a bad port")
    return host, int(port_text)


SYSTEM_REUSE_S = 30.0  # getaddrinfo gives no TTL: how long its answer serves the checks of one endpoint due together
_GAI_REASONS = {
    socket.EAI_NONAME: "the name does not exist",
    socket.EAI_AGAIN: "DNS did not answer in time",
    getattr(socket, "EAI_NODATA", -5): "the name has no A or AAAA record",
}


def dns_client(nameservers: Sequence[str], timeout_s: float) -> dns.asyncresolver.Resolver:
    """A dnspython resolver asking only `nameservers` (POSTURE_DNS_SERVERS), or the system's (resolv.conf)."""
    if nameservers:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [_nameserver(spec) for spec in nameservers]
    else:
        resolver = dns.asyncresolver.Resolver()
    resolver.lifetime = timeout_s
    resolver.timeout = timeout_s
    return resolver


class DnsResolver:
    """A and AAAA look-ups and TXT records.

    Without name servers, addresses come from the system resolver (the event loop's getaddrinfo: /etc/hosts, then
    DNS, as the host's nsswitch says), exactly as `posture scan` and every other program on the host see them.
    With name servers, only those are asked (dnspython), and /etc/hosts is not read. TXT records (scope proofs)
    always come from DNS: the system's resolvers (resolv.conf) or the given name servers.

    Addresses are reused while they are valid, so that the checks of one endpoint due together resolve its name
    once: from DNS for each record's own TTL (dnspython's cache), from getaddrinfo, which gives no TTL, for
    `SYSTEM_REUSE_S`. TXT records are never cached: a scope proof must be seen as it is now.
    """

    def __init__(self, nameservers: Sequence[str] = (), timeout_s: float = 3.0, max_names: int = 10_000) -> None:
        self._system = not nameservers
        self._resolver = self._dns(nameservers, timeout_s)
        self._resolver.cache = dns.resolver.LRUCache(max_names)
        self._txt_resolver = self._dns(nameservers, timeout_s)  # no cache
        self.timeout_s = timeout_s
        self.max_names = max_names
        self._system_answers: dict[str, tuple[float, list[IpAddress]]] = {}

    @staticmethod
    def _dns(nameservers: Sequence[str], timeout_s: float) -> dns.asyncresolver.Resolver:
        return dns_client(nameservers, timeout_s)

    async def addresses(self, host: str) -> list[IpAddress]:
        literal = parse_ip(host)
        if literal is not None:
            return [literal]
        found = await (self._system_addresses(host) if self._system else self._dns_addresses(host))
        if not found:
            raise HostUnresolvable(host, "the name has no A or AAAA record")
        return list(dict.fromkeys(found))

    async def _system_addresses(self, host: str) -> list[IpAddress]:
        now = time.monotonic()
        reused = self._system_answers.get(host)
        if reused is not None and reused[0] > now:
            return reused[1]
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout_s):
                infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except TimeoutError:
            raise HostUnresolvable(host, "the name did not resolve in time") from None
        except socket.gaierror as err:
            raise HostUnresolvable(
                host, _GAI_REASONS.get(err.errno, f"the name does not resolve ({err.strerror})")
            ) from None
        found = [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in infos]
        if len(self._system_answers) >= self.max_names:
            self._system_answers.clear()
        self._system_answers[host] = (now + SYSTEM_REUSE_S, found)
        return found

    async def _dns_addresses(self, host: str) -> list[IpAddress]:
        found: list[IpAddress] = []
        for rdtype in ("A", "AAAA"):
            try:
                answer = await self._resolver.resolve(host, rdtype)
            except dns.resolver.NXDOMAIN:
                raise HostUnresolvable(host, "the name does not exist (NXDOMAIN)") from None
            except (dns.resolver.NoAnswer, dns.resolver.NoNameservers):
                continue
            except dns.exception.Timeout:
                raise HostUnresolvable(host, "DNS did not answer in time") from None
            found += [ipaddress.ip_address(record.to_text()) for record in answer]
        return found

    async def txt(self, name: str) -> list[str]:
        try:
            answer = await self._txt_resolver.resolve(name, "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers, dns.exception.Timeout):
            return []
        return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


def is_public(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def outside_addresses(addresses: Iterable[IpAddress], scopes: Sequence[ScopeEntry]) -> list[IpAddress]:
    """Addresses the scope does not allow: non-public ones that no CIDR of the scope contains."""
    cidr_entries = [entry for entry in scopes if entry.kind == "cidr"]
    return [
        address for address in addresses if not is_public(address) and not in_scope(address.compressed, cidr_entries)
    ]


@dataclass(frozen=True, slots=True)
class AgencyScope:
    """`monitor.models.ScopeRule` over an agency's scope entries: what the scheduler hands a check in Target.scope."""

    entries: tuple[ScopeEntry, ...]

    def owns(self, host: str, addresses: Sequence[str]) -> bool:
        if in_scope(host, self.entries):
            return True
        parsed = [parse_ip(address) for address in addresses]
        cidrs = [entry for entry in self.entries if entry.kind == "cidr"]
        return bool(parsed) and all(a is not None and in_scope(a.compressed, cidrs) for a in parsed)

    def forbidden(self, addresses: Sequence[str]) -> tuple[str, ...]:
        parsed = [address for address in map(parse_ip, addresses) if address is not None]
        return tuple(address.compressed for address in outside_addresses(parsed, self.entries))


def check_addresses(host: str, addresses: Sequence[IpAddress], scopes: Sequence[ScopeEntry]) -> None:
    """Raise ScopeViolation unless `host` and every address it resolves to are allowed by `scopes`."""
    if not in_scope(host, scopes):
        raise ScopeViolation(host, addresses, addresses, "the host is outside the agency's scope")
    outside = outside_addresses(addresses, scopes)
    if outside:
        shown = ", ".join(a.compressed for a in outside)
        raise ScopeViolation(
            host,
            addresses,
            outside,
            f"resolves to non-public address {shown}, which no CIDR of the agency's scope contains",
        )


async def resolve_and_check(host: str, scopes: Sequence[ScopeEntry], resolver: Resolver) -> list[IpAddress]:
    """Resolve `host` now and check every address against `scopes`.

    Returns the addresses (scan these, not a second resolution, so DNS cannot change in between); raises
    ScopeViolation when any is outside, HostUnresolvable when there are none.
    """
    if not in_scope(host, scopes):
        raise ScopeViolation(host, (), (), "the host is outside the agency's scope")
    addresses = await resolver.addresses(host)
    if not addresses:
        raise HostUnresolvable(host, "the name has no address")
    check_addresses(host, addresses, scopes)
    return addresses

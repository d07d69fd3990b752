"""Is a host inside an agency's scope? Host validation, IDNA normalisation, domain suffixes and CIDRs."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import idna

from monitor.errors import InvalidInput

MAX_HOST_CHARS = 253
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_AGENCY_SLUG = re.compile(r"^[a-z0-9-]{2,40}$")

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_ip(text: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def normalise_host(raw: str, field: str = "host") -> str:
    """Return the canonical form of a host name (ASCII, IDNA, lower case) or IP literal; refuse the rest."""
    host = raw.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        raise InvalidInput(field, "must not be empty")
    if len(host) > MAX_HOST_CHARS:
        raise InvalidInput(field, f"longer than {MAX_HOST_CHARS} characters")
    if host.startswith("-"):
        raise InvalidInput(field, "must not start with '-'")
    address = parse_ip(host)
    if address is not None:
        if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
            raise InvalidInput(field, "IPv6 zone identifiers are not allowed")
        return _unmapped(address).compressed
    if any(ch.isspace() or ch in "/\\:;,|&$`'\"<>()*?!{}[]#%=@^~+" for ch in host):
        raise InvalidInput(field, "only letters, digits, '-' and '.' are allowed in a host name")
    name = host.rstrip(".")
    try:
        # rstrip again: UTS 46 maps a trailing ideographic full stop (U+3002) to '.'
        ascii_name = idna.encode(name, uts46=True).decode("ascii").rstrip(".")
    except idna.IDNAError as err:
        raise InvalidInput(field, f"not a valid (IDNA) host name: {err}") from None
    ascii_name = ascii_name.lower()
    if len(ascii_name) > MAX_HOST_CHARS:
        raise InvalidInput(field, f"longer than {MAX_HOST_CHARS} characters once IDNA-encoded")
    labels = ascii_name.split(".")
    if not all(_LABEL.match(label) for label in labels):
        raise InvalidInput(field, "each label must be 1-63 letters, digits or inner '-'")
    if labels[-1].isdigit():
        raise InvalidInput(field, "not a valid IP address, and a host name cannot end in a number")
    return ascii_name


def _unmapped(address: IpAddress) -> IpAddress:
    """An IPv4-mapped IPv6 address (::ffff:a.b.c.d) reaches the IPv4 host: it is that address."""
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return mapped if mapped is not None else address


def parse_port(raw: str | int, field: str = "port") -> int:
    try:
        port = int(raw)
    except (TypeError, ValueError):
        raise InvalidInput(field, f"{raw!r} is not a number (allowed: 1-65535)") from None
    if not 1 <= port <= 65535:
        raise InvalidInput(field, f"{port} is out of range (allowed: 1-65535)")
    return port


def parse_host_port(raw: str, default_port: int | None = None, field: str = "endpoint") -> tuple[str, int]:
    """`host`, `host:port`, `[v6]:port` or a bare IPv6 literal."""
    text = raw.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise InvalidInput(field, "unclosed '[' in IPv6 literal")
        host_part, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise InvalidInput(field, "expected ':PORT' after ']'")
        port_part = rest[1:] if rest else None
    elif text.count(":") == 1:
        host_part, port_part = text.split(":")
    else:
        host_part, port_part = text, None  # a name, or a bare IPv6 literal
    host = normalise_host(host_part, "host")
    if port_part is None:
        if default_port is None:
            raise InvalidInput(field, "expected HOST:PORT")
        return host, default_port
    return host, parse_port(port_part)


def validate_agency_slug(slug: str) -> str:
    if not _AGENCY_SLUG.match(slug):
        raise InvalidInput("slug", f"{slug!r} must be 2-40 characters of a-z, 0-9 and '-'")
    return slug


ScopeKind = Literal["domain", "cidr"]


@dataclass(frozen=True, slots=True)
class ScopeEntry:
    kind: ScopeKind
    value: str  # canonical: IDNA domain without trailing dot, or a network in CIDR notation

    @classmethod
    def parse(cls, raw: str) -> ScopeEntry:
        text = raw.strip()
        if "/" in text or parse_ip(text) is not None:
            if "%" in text:
                raise InvalidInput("scope", "IPv6 zone identifiers are not allowed")
            try:
                network = ipaddress.ip_network(text, strict=False)
            except ValueError as err:
                raise InvalidInput("scope", f"not a valid CIDR: {err}") from None
            return cls("cidr", network.compressed)
        value = normalise_host(text.lstrip("*."), "scope")
        if parse_ip(value) is not None:  # '*.10.0.0.1' or '[::1]': an address that would match nothing as a name
            raise InvalidInput("scope", "an address is written plain or as a CIDR, without '*.' or brackets")
        return cls("domain", value)

    def contains(self, host: str) -> bool:
        """`host` must already be normalised (normalise_host)."""
        address = parse_ip(host)
        if self.kind == "cidr":
            return address is not None and _unmapped(address) in _network(self.value)
        return address is None and (host == self.value or host.endswith("." + self.value))


@lru_cache(maxsize=4096)
def _network(cidr: str) -> IpNetwork:
    return ipaddress.ip_network(cidr)


def in_scope(host: str, scopes: Iterable[ScopeEntry]) -> bool:
    return any(entry.contains(host) for entry in scopes)

"""Which resolved addresses a scope allows: public ones for names in its domains, others only inside its CIDRs."""

from __future__ import annotations

import ipaddress

import pytest

from monitor.scope import ScopeEntry
from monitor.scope_resolution import ScopeViolation, check_addresses, is_public, outside_addresses

ip = ipaddress.ip_address
SCOPES = [ScopeEntry.parse("lk-a.example"), ScopeEntry.parse("10.20.0.0/16"), ScopeEntry.parse("fd00:1::/32")]


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("81.169.0.10", True),
        ("2a01:238::10", True),
        ("10.0.0.1", False),
        ("127.0.0.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("fe80::1", False),
        ("::ffff:127.0.0.1", False),  # loopback hidden in an IPv4-mapped IPv6 address
        ("::1", False),
        ("224.0.0.1", False),
        ("0.0.0.0", False),
    ],
)
def test_what_counts_as_public(address: str, public: bool) -> None:
    assert is_public(ip(address)) is public


def test_non_public_addresses_need_a_cidr_of_the_scope() -> None:
    addresses = [ip("81.169.0.10"), ip("10.20.3.4"), ip("10.21.0.1"), ip("fd00:1::5"), ip("fe80::1")]
    assert outside_addresses(addresses, SCOPES) == [ip("10.21.0.1"), ip("fe80::1")]


def test_every_address_must_be_allowed() -> None:
    check_addresses("www.lk-a.example", [ip("81.169.0.10"), ip("10.20.0.1")], SCOPES)
    with pytest.raises(ScopeViolation) as caught:
        check_addresses("www.lk-a.example", [ip("81.169.0.10"), ip("192.168.1.1")], SCOPES)
    assert caught.value.outside == (ip("192.168.1.1"),)


def test_a_name_outside_the_domains_is_refused_whatever_it_resolves_to() -> None:
    with pytest.raises(ScopeViolation):
        check_addresses("lk-a.example.evil.example", [ip("81.169.0.10")], SCOPES)
    with pytest.raises(ScopeViolation):
        check_addresses("evillk-a.example", [ip("81.169.0.10")], SCOPES)

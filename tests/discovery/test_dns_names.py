"""The dns source against a real zone (knot behind unbound, on loopback): the names under a registered domain that
answer, found through the apex, `www`, MX, NS and SRV records and the list of common service names; a name that is on
no list and in no record stays unknown."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitor.discovery.dns_names import DnsNames
from monitor.discovery.models import AgencyAssets
from monitor.scope import ScopeEntry
from tests.dns_lab import DnsLab, Zone, dns_lab

RECORDS = (
    "@ A 127.0.46.1",
    "www A 127.0.46.2",
    "vpn A 127.0.46.3",
    "@ MX 10 mx1",
    "mx1 A 127.0.46.4",
    "_autodiscover._tcp SRV 0 0 443 exch",
    "exch A 127.0.46.5",
    "_sip._tls SRV 0 0 0 .",  # "not offered here" (RFC 2782)
    "unlisted A 127.0.46.9",
    "webmail AAAA ::1",
)


@pytest.fixture(scope="module")
def lab() -> Iterator[DnsLab]:
    with dns_lab([Zone("svc", signed=False, records=RECORDS)], validating=False) as running:
        yield running


async def test_the_names_that_answer_are_found_with_how(lab: DnsLab) -> None:
    domain = lab.domain("svc")
    source = DnsNames([f"{lab.resolver[0]}:{lab.resolver[1]}"])
    assets = AgencyAssets("lk-a", [ScopeEntry.parse(domain)], [domain], [], frozenset())
    found = {(s.host, s.port): s.evidence for s in await source(assets)}
    assert set(found) == {
        (domain, None),
        (f"www.{domain}", None),
        (f"vpn.{domain}", None),
        (f"webmail.{domain}", None),
        (f"mx1.{domain}", None),
        (f"exch.{domain}", 443),
        ("ns1.dnssec.test", None),  # the NS target: outside the agency's scope, which the use case refuses
    }
    assert found[(f"mx1.{domain}", None)] == {"record": "MX", "of": domain, "addresses": ["127.0.46.4"]}
    assert found[(f"exch.{domain}", 443)]["of"] == f"_autodiscover._tcp.{domain}"
    assert found[(f"webmail.{domain}", None)]["addresses"] == ["::1"]


async def test_a_resolver_that_does_not_answer_finds_nothing_and_raises_nothing() -> None:
    source = DnsNames(["127.0.46.250:9"], timeout_s=0.5, labels=("vpn",), srv=())
    assert await source.names_under("lk-a.example") == []

"""Scope by DNS: TXT verification of proposed domains, and re-resolution at scan time, against a real DNS server."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterator

import pytest

from monitor.api.context import SERVICES
from monitor.scope import ScopeEntry
from monitor.scope_resolution import (
    SCOPE_VIOLATION_KEY,
    DnsResolver,
    HostUnresolvable,
    ScopeViolation,
    resolve_and_check,
)
from tests.api.conftest import Api
from tests.api.dns_server import Zone, dns_server

SCOPES = [ScopeEntry.parse("lk-a.example"), ScopeEntry.parse("127.0.0.0/8")]


@pytest.fixture
def zone() -> Zone:
    return Zone(
        {
            "www.lk-a.example": {"A": ["81.169.0.10"], "AAAA": ["2a01:238::10"]},
            "neu.lk-a.example": {"A": ["81.169.0.11"]},
        }
    )


@pytest.fixture
def nameserver(zone: Zone) -> Iterator[str]:
    with dns_server(zone) as address:
        yield address


async def test_names_are_resolved_through_the_configured_server(nameserver: str) -> None:
    resolver = DnsResolver([nameserver], timeout_s=2)
    assert await resolver.addresses("www.lk-a.example") == [
        ipaddress.ip_address("81.169.0.10"),
        ipaddress.ip_address("2a01:238::10"),
    ]
    assert await resolver.addresses("127.0.0.5") == [ipaddress.ip_address("127.0.0.5")]
    with pytest.raises(HostUnresolvable):
        await resolver.addresses("missing.lk-a.example")


async def test_a_name_that_moved_into_a_private_network_is_a_scope_violation(zone: Zone, nameserver: str) -> None:
    resolver = DnsResolver([nameserver], timeout_s=2)
    zone.ttl = 0  # every resolution asks again (answers are reused for their TTL)
    assert await resolve_and_check("www.lk-a.example", SCOPES, resolver)
    zone.records["www.lk-a.example"] = {"A": ["81.169.0.10", "10.1.2.3"]}  # a DNS change, or a takeover
    with pytest.raises(ScopeViolation) as caught:
        await resolve_and_check("www.lk-a.example", SCOPES, resolver)
    observation = caught.value.observation()
    assert observation.key == SCOPE_VIOLATION_KEY
    assert observation.detail["outside_scope"] == ["10.1.2.3"]
    # loopback is in this scope's CIDRs on purpose, so pointing there is allowed
    zone.records["www.lk-a.example"] = {"A": ["127.0.0.9"]}
    assert await resolve_and_check("www.lk-a.example", SCOPES, resolver) == [ipaddress.ip_address("127.0.0.9")]


async def test_a_host_outside_the_scope_is_refused_before_any_lookup() -> None:
    class NoDns:
        async def addresses(self, host: str) -> list[object]:
            raise AssertionError("must not resolve")

        async def txt(self, name: str) -> list[str]:
            raise AssertionError("must not resolve")

    with pytest.raises(ScopeViolation):
        await resolve_and_check("www.other.example", SCOPES, NoDns())  # type: ignore[arg-type]


async def test_a_proposed_domain_becomes_scope_when_its_txt_record_appears(
    api: Api, zone: Zone, nameserver: str
) -> None:
    api.client.server.app[SERVICES].resolver = DnsResolver([nameserver], timeout_s=2)
    token = api.tokens.agency_b
    status, request = await api.call(
        "POST", "/api/v1/agencies/lk-b/scope-requests", token, {"value": "lk-b-neu.example"}
    )
    assert status == 201 and request["state"] == "pending"
    assert request["txt_record"].startswith("posture-verification=")
    # not verified yet: registering inside it is refused
    zone.records["www.lk-b-neu.example"] = {"A": ["81.169.0.30"]}
    body = {"host": "www.lk-b-neu.example", "port": 443}
    assert (await api.call("POST", "/api/v1/endpoints", token, body))[0] == 400

    status, reply = await api.call("POST", f"/api/v1/scope-requests/{request['id']}/verify", token)
    assert (status, reply["error"]["field"]) == (400, "value")
    zone.records["lk-b-neu.example"] = {"TXT": ["v=spf1 -all", request["txt_record"]]}
    status, verified = await api.call("POST", f"/api/v1/scope-requests/{request['id']}/verify", token)
    assert (status, verified["state"], verified["decided_by"]) == (200, "active", "dns")
    status, scopes = await api.call("GET", "/api/v1/agencies/lk-b/scopes", token)
    assert "lk-b-neu.example" in [scope["value"] for scope in scopes["items"]]
    assert (await api.call("POST", "/api/v1/endpoints", token, body))[0] == 201
    # another agency cannot see or verify it
    assert (await api.call("POST", f"/api/v1/scope-requests/{request['id']}/verify", api.tokens.agency_a))[0] == 404


async def test_an_admin_approves_or_rejects_a_proposed_domain(api: Api) -> None:
    token = api.tokens.agency_a
    _, first = await api.call("POST", "/api/v1/agencies/lk-a/scope-requests", token, {"value": "lk-a-2.example"})
    _, second = await api.call("POST", "/api/v1/agencies/lk-a/scope-requests", token, {"value": "lk-a-3.example"})
    assert (await api.call("POST", f"/api/v1/scope-requests/{first['id']}/decision", token, {"approve": True}))[
        0
    ] == 403
    status, approved = await api.call(
        "POST", f"/api/v1/scope-requests/{first['id']}/decision", api.tokens.admin, {"approve": True}
    )
    assert (status, approved["state"]) == (200, "active")
    status, rejected = await api.call(
        "POST", f"/api/v1/scope-requests/{second['id']}/decision", api.tokens.admin, {"approve": False}
    )
    assert (status, rejected["state"]) == (200, "rejected")
    status, again = await api.call(
        "POST", f"/api/v1/scope-requests/{second['id']}/decision", api.tokens.admin, {"approve": True}
    )
    assert (status, again["error"]["code"]) == (409, "conflict")
    _, pending = await api.call("GET", "/api/v1/scope-requests?state=pending", api.tokens.admin)
    assert pending["items"] == []
    status, cidr = await api.call("POST", "/api/v1/agencies/lk-a/scope-requests", token, {"value": "10.0.0.0/8"})
    assert (status, cidr["error"]["field"]) == (400, "value")


async def test_addresses_are_reused_for_their_ttl_and_txt_records_never(zone: Zone, nameserver: str) -> None:
    resolver = DnsResolver([nameserver], timeout_s=2)
    zone.ttl = 60
    first = await resolver.addresses("neu.lk-a.example")
    zone.records["neu.lk-a.example"] = {"A": ["10.9.9.9"], "TXT": ["proof-2"]}
    assert await resolver.addresses("neu.lk-a.example") == first  # within the record's 60 s
    assert await resolver.txt("neu.lk-a.example") == ["proof-2"]  # a scope proof is read as it is now
    zone.ttl = 1
    zone.records["kurz.lk-a.example"] = {"A": ["10.1.1.1"]}
    assert await resolver.addresses("kurz.lk-a.example") == [ipaddress.ip_address("10.1.1.1")]
    zone.records["kurz.lk-a.example"] = {"A": ["10.2.2.2"]}
    await asyncio.sleep(1.1)  # the record's own TTL, not a fixed cache time
    assert await resolver.addresses("kurz.lk-a.example") == [ipaddress.ip_address("10.2.2.2")]

"""Domains on the command line: `posture domain add|list|remove`, and `posture scan NAME --checks dnssec` against a
real signed zone and a validating resolver on loopback (tests/dns_lab.py)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.conftest import Posture
from tests.dns_lab import Zone, dns_lab, utc_now


@pytest.fixture
def registered(posture: Posture) -> Posture:
    assert posture("db", "upgrade").code == 0
    assert posture("agency", "add", "stadt-a", "--name", "Stadt A").code == 0
    assert posture("scope", "add", "stadt-a", "stadt-a.example").code == 0
    assert posture("scope", "add", "stadt-a", "127.0.0.0/8").code == 0
    return posture


def test_domain_commands_round_trip(registered: Posture) -> None:
    added = registered("domain", "add", "stadt-a", "Rathaus.Stadt-A.example.", "--interval", "1d", "--label", "it=ja")
    assert added.code == 0, added.stderr
    assert added.stdout.strip() == "domain 1 registered: rathaus.stadt-a.example (dnssec, mail, axfr)"
    assert registered("endpoint", "add", "stadt-a", "127.0.0.2:443", "--checks", "tls").code == 0
    domains = registered("domain", "list").stdout
    assert "rathaus.stadt-a.example" in domains and "127.0.0.2" not in domains
    assert "rathaus" not in registered("endpoint", "list").stdout
    refused = registered("endpoint", "remove", "1")  # a domain's id is no endpoint's
    assert refused.code == 2 and "no endpoint with id 1" in refused.stderr
    assert registered("domain", "remove", "1").stdout.strip() == "domain 1 removed"
    assert "rathaus" not in registered("domain", "list").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["stadt-a", "127.0.0.2"], "name: 127.0.0.2 is an IP address"),
        (["stadt-a", "stadt-a.example:53"], "name: only letters"),
        (["stadt-a", "stadt-b.example"], "name: stadt-b.example is outside the domain scope of 'stadt-a'"),
        (["stadt-a", "stadt-a.example", "--checks", "tls"], "checks: tls runs on endpoints, not on domains"),
        (["stadt-a", "stadt-a.example", "--checks", "dnsec"], "checks: unknown check dnsec"),
        (["stadt-a", "stadt-a.example", "--interval", "1s"], "interval: '1s' is shorter than the minimum"),
    ],
)
def test_bad_domains_exit_2_with_one_line_and_write_nothing(registered: Posture, args: list[str], message: str) -> None:
    result = registered("domain", "add", *args)
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"posture: error: {message}"), lines
    assert registered("domain", "list").stdout.strip() == "ID  AGENCY  DOMAIN  CHECKS"


def test_a_domain_check_and_an_endpoint_check_are_not_scanned_together(posture: Posture) -> None:
    result = posture("scan", "stadt-a.example", "--checks", "dnssec,tls")
    assert result.code == 2 and "scan the domain and the endpoint apart" in result.stderr


def test_scan_a_domain_against_a_validating_resolver(posture: Posture) -> None:
    now = utc_now()
    zones = [Zone("good"), Zone("lapsed", inception=now - dt.timedelta(days=20), expiration=now - dt.timedelta(days=1))]
    with dns_lab(zones) as lab:
        posture.env["POSTURE_DNS_SERVERS"] = json.dumps([f"{lab.resolver[0]}:{lab.resolver[1]}"])
        good = posture("scan", lab.domain("good"), "--checks", "dnssec", "--json")
        lapsed = posture("scan", lab.domain("lapsed"), "--checks", "dnssec", "--json")
    assert good.code == 0, good.stderr
    document = json.loads(good.stdout)
    assert document["target"] == {"host": "good.dnssec.test", "port": None, "kind": "domain"}
    [result] = document["results"]
    assert (result["check"], result["status"], result["observations"]) == ("dnssec", "ok", [])
    assert lapsed.code == 1
    keys = {o["key"] for o in json.loads(lapsed.stdout)["results"][0]["observations"]}
    assert {"dns.dnssec.bogus", "dns.dnssec.signature_expired"} <= keys

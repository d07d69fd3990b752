"""Host validation and scope matching: what keeps the scanner pointed at the agency's own systems."""

from __future__ import annotations

import pytest

from monitor.errors import InvalidInput
from monitor.scope import ScopeEntry, in_scope, normalise_host, parse_host_port, validate_agency_slug


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("WWW.Example.DE", "www.example.de"),
        ("www.example.de.", "www.example.de"),
        ("bürgerservice.niedersachsen.de", "xn--brgerservice-dlb.niedersachsen.de"),
        ("127.0.0.2", "127.0.0.2"),
        ("[::1]", "::1"),
        ("0:0:0:0:0:0:0:1", "::1"),
    ],
)
def test_hosts_are_normalised(raw: str, expected: str) -> None:
    assert normalise_host(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("-oX", "must not start with '-'"),
        ("a b.de", "only letters"),
        ("host;rm -rf", "only letters"),
        ("$(id).de", "only letters"),
        ("a/b", "only letters"),
        ("x" * 254, "longer than 253"),
        ("xn--zz.de", "IDNA"),
        ("", "must not be empty"),
        ("1.2.3", "cannot end in a number"),
        ("a..b", "IDNA"),
        ("fe80::1%eth0", "zone identifiers"),
        ("-" + "a" * 10 + ".de", "must not start"),
    ],
)
def test_bad_hosts_are_refused_with_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise_host(raw)
    assert caught.value.field == "host"
    assert reason in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "default", "expected"),
    [
        ("example.de:8443", None, ("example.de", 8443)),
        ("example.de", 443, ("example.de", 443)),
        ("[::1]:22", None, ("::1", 22)),
        ("::1", 443, ("::1", 443)),
    ],
)
def test_host_port_forms(raw: str, default: int | None, expected: tuple[str, int]) -> None:
    assert parse_host_port(raw, default_port=default) == expected


@pytest.mark.parametrize("raw", ["example.de:0", "example.de:65536", "example.de:http", "example.de"])
def test_bad_ports_and_missing_ports_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        parse_host_port(raw)


def test_domain_scope_matches_the_name_and_its_subdomains_only() -> None:
    scope = [ScopeEntry.parse("Stadt-Beispiel.DE")]
    assert in_scope("stadt-beispiel.de", scope)
    assert in_scope("www.stadt-beispiel.de", scope)
    assert not in_scope("evilstadt-beispiel.de", scope)
    assert not in_scope("stadt-beispiel.de.evil.com", scope)
    assert not in_scope("127.0.0.1", scope)


def test_cidr_scope_matches_addresses_inside_only() -> None:
    scope = [ScopeEntry.parse("127.0.0.0/30"), ScopeEntry.parse("::1")]
    assert ScopeEntry.parse("::1").value == "::1/128"
    assert in_scope("127.0.0.3", scope)
    assert not in_scope("127.0.0.4", scope)
    assert in_scope("::1", scope)
    assert not in_scope("localhost", scope)


def test_idna_scope_and_host_meet_in_ascii() -> None:
    scope = [ScopeEntry.parse("münchen.de")]
    assert in_scope(normalise_host("rathaus.MÜNCHEN.de"), scope)


def test_wildcard_prefix_in_a_scope_means_the_suffix() -> None:
    assert ScopeEntry.parse("*.example.de") == ScopeEntry("domain", "example.de")


@pytest.mark.parametrize("raw", ["10.0.0.0/33", "not a domain", "1.2.3.4/x"])
def test_bad_scopes_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        ScopeEntry.parse(raw)


@pytest.mark.parametrize("slug", ["a", "Stadt", "stadt_a", "x" * 41, "a/b", "a+b", "#"])
def test_agency_slugs_are_topic_safe(slug: str) -> None:
    with pytest.raises(InvalidInput):
        validate_agency_slug(slug)
    assert validate_agency_slug("lk-emsland") == "lk-emsland"

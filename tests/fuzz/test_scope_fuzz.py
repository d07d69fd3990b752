"""Fuzzing host normalisation and the scope matcher: the one gate between an agency's input and a scan.

Properties: only InvalidInput is raised; normalising is idempotent and spelling-blind (case, trailing dot,
U-label or A-label); and a host is in a scope iff it is the scope's name or below it, or an address inside one
of its CIDRs (an IPv4-mapped IPv6 address counts as the IPv4 address it reaches).
"""

from __future__ import annotations

import ipaddress

import idna
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from checks.base import is_ip_literal
from monitor.errors import InvalidInput
from monitor.scope import MAX_HOST_CHARS, ScopeEntry, in_scope, normalise_host, parse_host_port
from tests.fuzz.budget import budget

label = st.from_regex(r"\A[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?\Z")
CYRILLIC_EXAMPLE = "\u0435\u0445ample"  # Cyrillic ie and ha: looks like "example"
unicode_label = st.sampled_from(
    ["münchen", "straße", CYRILLIC_EXAMPLE, "bücher", "ÄMT", "\uff46\uff55\uff4c\uff4c", "\u210c", "σς", "x\u200dy"]
)
names = st.lists(label | unicode_label, min_size=1, max_size=4).map(".".join)
addresses = st.ip_addresses().map(str)
special = st.sampled_from(
    [
        "::ffff:10.0.0.1",
        "::ffff:81.169.0.10",
        "fe80::1%eth0",
        "[fe80::1%25eth0]",
        "example.de.",
        "example.de..",
        "example.de\u3002",
        "EXAMPLE.De",
        "xn--mnchen-3ya.de",
        "xn--.de",
        "a" * 64 + ".de",
        ("a" * 63 + ".") * 4 + "de",
        "1.2.3.4.",
        "010.0.0.1",
        "0x7f.1",
        "-rf.example.de",
        "*.example.de",
        "exa mple.de",
        "\ud800.de",
    ]
)
hosts = st.one_of(names, addresses, special, st.text(max_size=40))


def normalised(raw: str) -> str | None:
    try:
        return normalise_host(raw)
    except InvalidInput as err:
        assert err.field == "host" and err.reason
        return None


@budget()
@given(hosts)
@example("example.de\u3002")
@example("::ffff:10.0.0.1")
def test_normalising_is_idempotent_and_gives_a_safe_ascii_host(raw: str) -> None:
    host = normalised(raw)
    if host is None:
        return
    assert normalise_host(host) == host
    assert host.isascii() and host == host.lower() and len(host) <= MAX_HOST_CHARS
    assert not host.startswith("-") and not host.endswith(".")
    assert set(host) <= set("abcdefghijklmnopqrstuvwxyz0123456789.-:")
    address = ipaddress.ip_address(host) if ":" in host or host.replace(".", "").isdigit() else None
    if address is not None:
        assert not (isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped)


@budget()
@given(names)
def test_spelling_does_not_change_the_host(name: str) -> None:
    host = normalised(name)
    if host is None or is_ip_literal(host):
        return
    if name.isascii():
        assert normalised(name.upper()) == host  # (not for Unicode: ß → SS → ss)
    assert normalised(name + ".") == normalised(name + "\u3002") == host
    assert normalised(f"[{name}]") == host
    assert normalised(idna.decode(host)) == host  # the U-label spelling meets the A-label one


@budget()
@given(addresses)
def test_ip_literals_are_canonical(raw: str) -> None:
    address = ipaddress.ip_address(raw)
    host = normalise_host(raw.upper())
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    assert host == (str(mapped) if mapped else address.compressed)


scope_texts = st.one_of(
    names,
    names.map(lambda n: "*." + n),
    st.builds(lambda a, p: f"{a}/{p}", st.ip_addresses(v=4).map(str), st.integers(0, 32)),
    st.builds(lambda a, p: f"{a}/{p}", st.ip_addresses(v=6).map(str), st.integers(0, 128)),
    special,
    st.text(max_size=30),
)


def parsed_scope(raw: str) -> ScopeEntry | None:
    try:
        return ScopeEntry.parse(raw)
    except InvalidInput as err:
        assert err.field == "scope"
        return None


@budget()
@given(scope_texts)
@example("fe80::1%eth0")
@example("fe80::1%eth0/64")
def test_scope_entries_parse_to_their_canonical_value(raw: str) -> None:
    entry = parsed_scope(raw)
    if entry is None:
        return
    assert ScopeEntry.parse(entry.value) == entry
    if entry.kind == "cidr":
        assert "%" not in entry.value  # zone identifiers are refused, as in hosts


@budget()
@given(scope_texts, hosts)
def test_a_host_is_in_scope_iff_it_is_the_name_below_it_or_inside_the_cidr(raw_scope: str, raw_host: str) -> None:
    entry, host = parsed_scope(raw_scope), normalised(raw_host)
    if entry is None or host is None:
        return
    found = in_scope(host, [entry])
    if entry.kind == "domain":
        assert found == (host == entry.value or host.endswith("." + entry.value))
    else:
        address = ipaddress.ip_address(host) if is_ip_literal(host) else None
        assert found == (address is not None and address in ipaddress.ip_network(entry.value))


@budget()
@given(st.ip_addresses(v=4), st.integers(8, 32))
def test_an_ipv4_mapped_address_is_judged_as_the_ipv4_address(address: ipaddress.IPv4Address, prefix: int) -> None:
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    entry = ScopeEntry.parse(str(network))
    mapped = f"::ffff:{address}"
    assert normalise_host(mapped) == str(address)
    assert entry.contains(mapped) and in_scope(str(address), [entry])
    wide = ScopeEntry.parse("::ffff:0:0/96")  # an IPv6 CIDR does not smuggle in every IPv4 address
    assert not wide.contains(normalise_host(mapped))


@budget()
@given(st.one_of(hosts, st.builds(lambda h, p: f"{h}:{p}", hosts, st.integers(-5, 70000) | st.text(max_size=6))))
def test_host_port_forms_give_a_pair_or_invalid_input(raw: str) -> None:
    try:
        host, port = parse_host_port(raw, default_port=443)
    except InvalidInput:
        return
    assert normalise_host(host) == host and 1 <= port <= 65535


def test_a_confusable_name_is_not_the_name_it_looks_like() -> None:
    spoof = normalise_host(CYRILLIC_EXAMPLE + ".de")
    assert spoof.startswith("xn--") and not in_scope(spoof, [ScopeEntry.parse("example.de")])


@pytest.mark.parametrize("raw", ["*.10.0.0.1", ".0.0.0.0", "[::1]", "*.[2001:db8::1]"])
def test_found_by_fuzzing_an_address_with_a_wildcard_is_refused_in_scopes(raw: str) -> None:
    with pytest.raises(InvalidInput, match="written plain or as a CIDR"):
        ScopeEntry.parse(raw)


@pytest.mark.parametrize("raw", ["fe80::1%eth0", "fe80::1%eth0/64", "fe80::%1/10"])
def test_found_by_fuzzing_zone_identifiers_are_refused_in_scopes(raw: str) -> None:
    with pytest.raises(InvalidInput, match="zone"):
        ScopeEntry.parse(raw)

"""Fuzzing the parsers of what servers say about themselves: banners, versions, CPE names, nmap fingerprints.

Everything here is attacker-controlled text. The properties: no exception but the documented ValueError of
`parse_cpe`, bounded output, and the orderings and round trips the modules promise.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from checks.base import CheckContext, PeerDetailsUnreadable, read_peer
from checks.patches.cpe import PRODUCT_NAMES, Cpe, parse_cpe, product_from_name
from checks.patches.fingerprints import MAX_EVIDENCE, from_banner, from_nmap_port, from_ports_details, parse_banner
from checks.patches.snapshot import default_database
from checks.patches.toolkit import lookup
from checks.patches.versions import compare, same_version, version_key
from checks.ports.models import PortsDetails
from tests.fuzz.budget import budget

# text the way banners arrive: mostly printable, with version-like runs, separators and the odd control character
_ALPHABET = st.sampled_from("0123456789abcpAMRC.-_+~/ ():;\\%*?,\t")
versionish = st.text(_ALPHABET, max_size=30)
anytext = st.one_of(versionish, st.text(max_size=200))
KNOWN_NAMES = sorted(PRODUCT_NAMES)


@st.composite
def banners(draw: st.DrawFn) -> str:
    """A known banner shape with fuzzed parts, or plain noise."""
    name = draw(st.sampled_from([*KNOWN_NAMES, "OpenSSH", "Apache", "nginx", "Exim", "vsFTPd"]))
    version = draw(versionish)
    shape = draw(
        st.sampled_from(
            [
                "SSH-2.0-{n}_{v} {x}",
                "220 {n} {v} {x}",
                "Server: {n}/{v} ({x}) PHP/{v}",
                "X-Powered-By: {n}/{v}",
                "{x}{n}/{v}{x}",
            ]
        )
    )
    return shape.format(n=name, v=version, x=draw(anytext))


@budget()
@given(st.one_of(banners(), anytext))
@example("SSH-2.0-" + "a" * 2000)
@example("Server: " + "a/" * 600)
@example("\x1b[31mSSH-2.0-OpenSSH_7.4p1\x00\r\n" * 40)
def test_banners_give_bounded_fingerprints_and_never_raise(text: str) -> None:
    found = from_banner(text, port=22)
    assert len(parse_banner(text)) == len(found)
    for fingerprint in found:
        assert fingerprint.source == "banner" and fingerprint.port == 22
        assert len(fingerprint.evidence) <= MAX_EVIDENCE
        assert len(fingerprint.name) <= 80 and len(fingerprint.version) <= 60
        assert fingerprint.version == "" or fingerprint.version[0].isdigit()
        if fingerprint.vendor:
            assert (fingerprint.vendor, fingerprint.product) in PRODUCT_NAMES.values()


def test_hostile_banners_are_read_in_linear_time() -> None:
    # the regular expressions are anchored and bounded: the worst shapes stay far below a millisecond per byte
    shapes = ["SSH-2.0-" + "a." * 5000, "a " * 5000 + "/", "a/1(" * 2500, "Exim " * 2000, "_1" * 5000]
    started = time.perf_counter()
    for shape in shapes:
        from_banner(shape)
    assert time.perf_counter() - started < 2.0


@budget()
@given(versionish, versionish, versionish)
@example("1.0", "1.0.0", "1")
@example("1.0a", "1.0a0", "1.0.a")
def test_version_order_is_a_total_order(a: str, b: str, c: str) -> None:
    assert compare(a, a) == 0
    assert compare(a, b) == -compare(b, a)
    assert same_version(a, b) == (version_key(a) == version_key(b)) == same_version(b, a)
    ordered = sorted((a, b, c), key=version_key)
    assert compare(ordered[0], ordered[1]) <= 0 and compare(ordered[1], ordered[2]) <= 0
    assert compare(ordered[0], ordered[2]) <= 0


@budget()
@given(anytext)
def test_version_key_accepts_any_text(text: str) -> None:
    key = version_key(text)
    assert key[-1] == (1, 0, "")  # every key ends with the terminator, so prefixes order first
    if text.isascii():
        assert version_key(text.swapcase()) == key  # words compare case-insensitively


@st.composite
def cpe_texts(draw: st.DrawFn) -> str:
    fields = draw(st.lists(st.text(_ALPHABET, max_size=8), min_size=0, max_size=13))
    prefix = draw(st.sampled_from(["cpe:2.3:", "cpe:/", "CPE:2.3:", "cpe:", ""]))
    part = draw(st.sampled_from(["a", "o", "h", "x", ""]))
    return prefix + ":".join([part, *fields])


@budget()
@given(st.one_of(cpe_texts(), anytext))
@example("cpe:2.3:a:v:p:1\\\\:*:*:*:*:*:*:*")
@example("cpe:/a:v:p:1%5c:u")
@example("cpe:/a:vendor:product:1.0::~~~~~")
def test_cpe_names_parse_or_raise_value_error_and_round_trip(text: str) -> None:
    try:
        cpe = parse_cpe(text)
    except ValueError:
        return
    assert cpe.part in ("a", "o", "h") and cpe.vendor and cpe.product
    assert parse_cpe(cpe.uri23()) == cpe


@budget()
@given(st.builds(Cpe, st.sampled_from("aoh"), *[st.text(min_size=1, max_size=10)] * 2, *[st.text(max_size=10)] * 8))
def test_cpe_formatted_strings_round_trip(cpe: Cpe) -> None:
    text = cpe.uri23()
    again = parse_cpe(text)
    assert (again.part, again.vendor, again.product) == (cpe.part, cpe.vendor.lower(), cpe.product.lower())
    assert again.uri23() == parse_cpe(again.uri23()).uri23()


@budget()
@given(st.one_of(st.sampled_from(KNOWN_NAMES).map(lambda n: f"  {n.upper()}   httpd server  "), anytext))
def test_product_names_map_into_the_alias_table_or_to_none(name: str) -> None:
    found = product_from_name(name)
    assert found is None or found in PRODUCT_NAMES.values()


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


sound_ports = st.fixed_dictionaries(
    {
        "port": st.integers(1, 65535),
        "protocol": st.sampled_from(["tcp", "udp", "sctp"]),
        "product": st.sampled_from(["OpenSSH", "Apache httpd", "nginx", "", "Exim smtpd", "Microsoft IIS httpd"]),
        "version": versionish,
        "extrainfo": anytext,
        "cpes": st.lists(st.one_of(cpe_texts(), anytext), max_size=3),
    }
)


@st.composite
def stored_ports(draw: st.DrawFn) -> dict[str, Any]:
    """A ports-check `OpenPort` as stored JSON, with some fields of a wrong type or value (older schema, damage)."""
    port = draw(sound_ports)
    for key in draw(st.lists(st.sampled_from([*port, "other"]), max_size=2)):
        port[key] = draw(json_values)
    return port


def stored(open_ports: Any) -> dict[str, Any]:
    return {"address": "192.0.2.1", "scanned": "1-65535", "version_scan": "done", "open_ports": open_ports}


@budget()
@given(st.one_of(st.lists(stored_ports(), max_size=4), json_values))
def test_stored_ports_details_give_fingerprints_or_a_clear_error(open_ports: Any) -> None:
    """Damaged or older stored ports details are read as the ports check's model or refused, never as "no ports"."""
    ctx = CheckContext(peer_details={"ports": stored(open_ports)})
    try:
        details = read_peer(ctx, "ports", PortsDetails)
    except PeerDetailsUnreadable as err:
        assert str(err).startswith("stored ports details do not parse")
        return
    assert details is not None
    for fingerprint in from_ports_details(details):
        assert fingerprint.source == "nmap" and len(fingerprint.evidence) <= MAX_EVIDENCE


@budget()
@given(st.lists(sound_ports, max_size=4))
def test_every_sound_port_with_a_product_gives_its_fingerprint(open_ports: list[dict[str, Any]]) -> None:
    found = from_ports_details(PortsDetails.model_validate(stored(open_ports)))
    expected = [from_nmap_port(p) for p in open_ports]  # a sound port never raises
    assert found == [f for f in expected if f is not None]
    assert {f.port for f in found} >= {p["port"] for p in open_ports if p["product"]}


@budget(0.5)
@given(st.one_of(cpe_texts(), banners(), anytext))
def test_vulndb_match_refuses_with_value_error_only(text: str) -> None:
    try:
        documents = lookup(default_database(), text, date(2025, 1, 1))
    except ValueError:
        return
    assert documents and all(isinstance(d["matches"], list) for d in documents)

"""Fuzzing the reader of nmap's XML report: what nmap wrote is read back exactly; anything else is NmapFailed.

The report is built from generated ports whose product, version and CPE text is arbitrary (nmap copies what
the target sent into it, escaped); then attributes are damaged, the text is cut short, or entities are declared.
"""

from __future__ import annotations

import time
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checks.ports.scanner import NmapFailed, NmapReport, parse_nmap_xml
from tests.fuzz.budget import budget

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n'
RUN = '<nmaprun scanner="nmap" args="nmap -sT" version="7.93" xmloutputversion="1.05">\n'
SCANINFO = '<scaninfo type="connect" protocol="tcp" numservices="3" services="{services}"/>\n'
END = '<runstats><finished time="1" exit="success"/><hosts up="1" down="0" total="1"/></runstats>\n</nmaprun>\n'

# what XML 1.0 can carry (nmap escapes the rest of a banner before it reaches the report)
xml_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\t<>&\"'"), max_size=40)


@st.composite
def services(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "name": draw(st.sampled_from(["ssh", "http", "smtp", "ssl/http", ""])),
        "product": draw(xml_text),
        "version": draw(xml_text),
        "extrainfo": draw(xml_text),
        "tunnel": draw(st.sampled_from(["", "ssl"])),
        "method": draw(st.sampled_from(["probed", "table"])),
        "conf": draw(st.sampled_from(["10", "3", "0"])),
        "cpes": draw(st.lists(xml_text.filter(str.strip), max_size=3)),
    }


@st.composite
def reports(draw: st.DrawFn) -> tuple[str, dict[str, dict[int, dict[str, Any]]]]:
    """(XML text, {address: {port: service}}) of a plausible nmap report."""
    addresses = draw(st.lists(st.ip_addresses(v=4).map(str), min_size=1, max_size=3, unique=True))
    hosts = {a: draw(st.dictionaries(st.integers(1, 65535), services(), max_size=4)) for a in addresses}
    body = []
    for address, ports in hosts.items():
        port_xml = "".join(
            f'<port protocol="tcp" portid="{number}"><state state="open" reason="syn-ack"/>'
            f"<service name={quoteattr(s['name'])} product={quoteattr(s['product'])} "
            f"version={quoteattr(s['version'])} extrainfo={quoteattr(s['extrainfo'])} method={quoteattr(s['method'])} "
            f"conf={quoteattr(s['conf'])}" + (f" tunnel={quoteattr(s['tunnel'])}" if s["tunnel"] else "") + ">"
            + "".join(f"<cpe>{escape(c)}</cpe>" for c in s["cpes"])
            + "</service></port>\n"
            for number, s in ports.items()
        )  # fmt: skip
        body.append(
            f'<host><status state="up"/><address addr="{address}" addrtype="ipv4"/><ports>{port_xml}</ports></host>\n'
        )
    services_attr = ",".join(str(p) for p in sorted({p for ports in hosts.values() for p in ports})) or "1"
    return HEAD + RUN + SCANINFO.format(services=services_attr) + "".join(body) + END, hosts


def read(text: str) -> NmapReport | None:
    """The report, or None when it is refused with NmapFailed (a one-line reason); nothing else may escape."""
    try:
        return parse_nmap_xml(text)
    except NmapFailed as err:
        assert "\n" not in str(err) and len(str(err)) < 300
        return None


@budget(0.5)
@given(reports())
def test_a_report_is_read_back_exactly(generated: tuple[str, dict[str, dict[int, dict[str, Any]]]]) -> None:
    text, hosts = generated
    report = parse_nmap_xml(text)
    assert report.nmap_version == "7.93"
    assert set(report.hosts) == set(hosts)
    for address, scan in report.hosts.items():
        assert [p.port for p in scan.open_ports] == sorted(hosts[address])
        for port in scan.open_ports:
            sent = hosts[address][port.port]
            assert (port.product, port.version, port.extrainfo) == (sent["product"], sent["version"], sent["extrainfo"])
            assert port.cpes == tuple(c.strip() for c in sent["cpes"])
            assert port.tunnel == sent["tunnel"] and port.method == sent["method"]


@budget(0.5)
@given(reports(), st.data())
def test_a_report_cut_short_is_refused(generated: tuple[str, Any], data: st.DataObject) -> None:
    text, _ = generated
    cut = data.draw(st.integers(0, len(text) - len("</nmaprun>\n")))
    assert read(text[:cut]) is None


hostile_values = st.one_of(
    st.sampled_from(
        ["", "-1", "0", "65536", "99999999999999999999", "1e3", "abc", "::1", "300.1.1.1", "udp", "x" * 500]
    ),
    xml_text,
)


@budget()
@given(
    reports(),
    st.sampled_from(["portid", "addr", "protocol", "conf", "state", "addrtype", "services", "exit"]),
    hostile_values,
)
def test_damaged_attributes_give_a_report_or_nmap_failed(
    generated: tuple[str, Any], attribute: str, value: str
) -> None:
    text, _ = generated
    damaged = text.replace(f'{attribute}="', f'{attribute}={quoteattr(value)} _{attribute}="', 1)
    report = read(damaged)
    if report is not None:
        assert all(1 <= p.port <= 65535 for scan in report.hosts.values() for p in scan.open_ports)


SAMPLE = (
    HEAD
    + RUN
    + SCANINFO.format(services="1,18081")
    + '<host><status state="up"/><address addr="127.0.0.2" addrtype="ipv4"/><ports>'
    '<port protocol="tcp" portid="18081"><state state="open" reason="syn-ack"/><service name="http" '
    'product="SimpleHTTPServer" version="0.6" method="probed" conf="10"><cpe>cpe:/a:python:simplehttpserver:0.6</cpe>'
    "</service></port></ports></host>\n" + END
)


@pytest.mark.parametrize(
    ("original", "damaged"),
    [('portid="18081"', 'portid="0"'), ('services="1,18081"', 'services="1-99999"'), ('addr="127.0.0.2"', 'addr="x"')],
)
def test_found_by_fuzzing_out_of_range_values_are_nmap_failed(original: str, damaged: str) -> None:
    assert parse_nmap_xml(SAMPLE).hosts["127.0.0.2"].open_ports[0].port == 18081
    with pytest.raises(NmapFailed, match="unreadable nmap XML output"):
        parse_nmap_xml(SAMPLE.replace(original, damaged))


@budget()
@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_any_text_gives_a_report_or_nmap_failed(text: str) -> None:
    read(text)
    read(HEAD + RUN + text + END)


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE nmaprun [\n<!ENTITY a0 "lol">\n'
    + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">\n' for i in range(1, 10))
    + ']>\n<nmaprun version="&a9;"><runstats><finished exit="success"/></runstats></nmaprun>\n'
)
QUADRATIC = (
    f'<?xml version="1.0"?>\n<!DOCTYPE nmaprun [<!ENTITY big "{"x" * 100_000}">]>\n'
    f'<nmaprun version="{"&big;" * 2000}"><runstats><finished exit="success"/></runstats></nmaprun>\n'
)
EXTERNAL = (
    '<?xml version="1.0"?>\n<!DOCTYPE nmaprun [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
    '<nmaprun version="1">&secret;<runstats><finished exit="success"/></runstats></nmaprun>\n'
)
EXTERNAL_DTD = (
    '<?xml version="1.0"?>\n<!DOCTYPE nmaprun SYSTEM "file:///etc/passwd">\n'
    '<nmaprun version="1"><runstats><finished exit="success"/></runstats></nmaprun>\n'
)
PARAMETER = (
    '<?xml version="1.0"?>\n<!DOCTYPE nmaprun [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>\n'
    '<nmaprun version="1"><runstats><finished exit="success"/></runstats></nmaprun>\n'
)


@pytest.mark.parametrize(
    "xml", [BILLION_LAUGHS, QUADRATIC, EXTERNAL, PARAMETER], ids=["billion", "quadratic", "external", "parameter"]
)
def test_entity_declarations_are_refused_before_anything_expands(xml: str) -> None:
    started = time.perf_counter()
    with pytest.raises(NmapFailed, match="entit"):
        parse_nmap_xml(xml)
    assert time.perf_counter() - started < 1.0


def test_an_external_dtd_is_not_fetched() -> None:
    report = read(EXTERNAL_DTD)
    assert report is None or report.nmap_version == "1"

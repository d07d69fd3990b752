"""Judgement and parsing without a network: classification, evaluate() and nmap's XML read from saved text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from checks.base import CheckContext
from checks.ports import OpenPort, PortsCheck, PortsConfig, PortsDetails
from checks.ports.catalogue import SERVICE_CLASSES
from checks.ports.scanner import NmapFailed, parse_nmap_xml
from checks.ports.services import classify
from monitor.models import Severity

CHECK = PortsCheck()


def port(number: int, service: str = "", method: str = "probed", **fields: object) -> OpenPort:
    return OpenPort.model_validate({"port": number, "service": service, "method": method, **fields})


def details(*ports: OpenPort, scanned: str = "1-65535") -> PortsDetails:
    return PortsDetails(address="192.0.2.7", scanned=scanned, open_ports=ports, version_scan="done")


@pytest.mark.parametrize(
    ("open_port", "slug"),
    [
        (port(6379, "redis"), "redis"),
        (port(7000, "redis"), "redis"),  # identified by nmap on a non-standard port
        (port(6379, "redis", method="table"), "redis"),
        (port(2375, "docker"), "docker_api"),
        (port(2376, "docker", tunnel="ssl"), "docker_api_tls"),
        (port(2376, "docker", method="table"), "docker_api_tls"),  # port table guess: the TLS port
        (port(2375, "http"), "docker_api"),  # a bare HTTP answer on the Docker port is the Docker API
        (port(9200, "http", product="Elasticsearch REST API"), "elasticsearch"),
        (port(9200, "wap-wsp", method="table"), "elasticsearch"),
        (port(27017, "mongod", method="table"), "mongodb"),
        (port(11211, "memcache", method="table"), "memcached"),
        (port(3389, "ms-wbt-server"), "rdp"),
        (port(445, "microsoft-ds"), "smb"),
        (port(139, "netbios-ssn"), "smb"),
        (port(23, "telnet"), "telnet"),
        (port(3306, "mysql", product="MariaDB"), "mysql"),
        (port(1433, "ms-sql-s"), "mssql"),
        (port(5432, "postgresql"), "postgresql"),
        (port(5900, "vnc"), "vnc"),
        (port(5985, "http", product="Microsoft HTTPAPI httpd"), "winrm"),
        (port(5986, "http", tunnel="ssl"), "winrm"),
        (port(21, "ftp"), "ftp"),
        (port(110, "pop3"), "mail_plaintext"),
        (port(143, "imap"), "mail_plaintext"),
        (port(389, "ldap"), "ldap"),
        (port(636, "ldap", tunnel="ssl"), "ldaps"),
        (port(22, "ssh"), "ssh"),
        (port(80, "http"), "http"),
        (port(443, "http", tunnel="ssl"), "https"),
        (port(8443, "https-alt", method="table"), "https"),
        (port(25, "smtp"), "smtp"),
        (port(502, "mbap", method="table"), "ics"),
        (port(4786, "smart-install", method="table"), "cisco_smart_install"),
        (port(6379, "http"), "http"),  # nmap identified plain HTTP: the port number does not make it Redis
    ],
)
def test_classification(open_port: OpenPort, slug: str | None) -> None:
    found = classify(open_port)
    assert (found.slug if found else None) == slug


@pytest.mark.parametrize(
    "open_port", [port(993, "imap", tunnel="ssl"), port(31337, "unknown"), port(12345, "tcpwrapped")]
)
def test_unremarkable_ports_make_no_exposure(open_port: OpenPort) -> None:
    assert classify(open_port) is None


def test_catalogue_is_complete_and_unique() -> None:
    keys = [spec.key for spec in CHECK.findings]
    assert len(keys) == len(set(keys))
    assert {"ports.unexpected", "ports.new_open", "ports.exposed.redis"} <= set(keys)
    for spec in CHECK.findings:
        assert spec.key.startswith("ports.")
        assert spec.meaning.endswith(".") and spec.remediation.endswith(".")
        assert CHECK.spec(spec.key) is spec
    severities = {c.slug: c.spec.severity for c in SERVICE_CLASSES}
    assert severities["docker_api"] == severities["mongodb"] == severities["memcached"] == Severity.CRITICAL
    assert severities["rdp"] == severities["smb"] == severities["winrm"] == severities["mssql"] == Severity.HIGH
    assert severities["ftp"] == severities["ldap"] == severities["mail_plaintext"] == Severity.MEDIUM
    assert severities["http"] == severities["https"] == Severity.INFO


def test_two_ports_of_one_class_make_one_observation() -> None:
    found = CHECK.evaluate(details(port(80, "http"), port(8080, "http")), PortsConfig(), CheckContext())
    assert [(o.key, [p["port"] for p in o.detail["ports"]]) for o in found] == [("ports.exposed.http", [80, 8080])]


def test_no_baseline_no_unexpected_but_an_empty_baseline_flags_everything() -> None:
    facts = details(port(22, "ssh"))
    assert "ports.unexpected" not in [o.key for o in CHECK.evaluate(facts, PortsConfig(), CheckContext())]
    found = CHECK.evaluate(facts, PortsConfig(expected_ports=""), CheckContext())
    assert [o.key for o in found] == ["ports.exposed.ssh", "ports.unexpected"]


def test_drift_counts_only_ports_the_previous_scan_covered() -> None:
    previous = details(port(22, "ssh"), scanned="22,80")
    now = details(port(22, "ssh"), port(80, "http"), port(8080, "http"), scanned="22,80,8080")
    found = CHECK.evaluate(now, PortsConfig(), CheckContext(peer_details={"ports": previous}))
    drift = [o for o in found if o.key == "ports.new_open"]
    assert [[p["port"] for p in o.detail["ports"]] for o in drift] == [[80]]


@pytest.mark.parametrize(
    "stored", [None, {"address": "192.0.2.7"}, "garbage", {"address": "x", "scanned": "22,,", "version_scan": "done"}]
)
def test_unreadable_or_absent_previous_details_mean_no_drift(stored: object) -> None:
    ctx = CheckContext(peer_details={} if stored is None else {"ports": stored})
    found = CHECK.evaluate(details(port(22, "ssh")), PortsConfig(), ctx)
    assert "ports.new_open" not in [o.key for o in found]


SAVED_XML = """<?xml version="1.0" encoding="UTF-8"?>
<nmaprun scanner="nmap" args="nmap -sT -sV" start="1795757947" version="7.93" xmloutputversion="1.05">
<scaninfo type="connect" protocol="tcp" numservices="4" services="22,443,445,8443"/>
<host starttime="1" endtime="2"><status state="up" reason="user-set" reason_ttl="0"/>
<address addr="192.0.2.7" addrtype="ipv4"/><hostnames></hostnames>
<ports>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="0"/>
<service name="ssh" product="OpenSSH" version="9.2p1 Debian 2+deb12u3" extrainfo="protocol 2.0" ostype="Linux"
 method="probed" conf="10"><cpe>cpe:/a:openbsd:openssh:9.2p1</cpe><cpe>cpe:/o:linux:linux_kernel</cpe></service></port>
<port protocol="tcp" portid="443"><state state="open" reason="syn-ack" reason_ttl="0"/>
<service name="http" product="Apache httpd" version="2.4.57" extrainfo="(Debian)" tunnel="ssl" method="probed"
 conf="10"><cpe>cpe:/a:apache:http_server:2.4.57</cpe></service></port>
<port protocol="tcp" portid="445"><state state="closed" reason="conn-refused" reason_ttl="0"/>
<service name="microsoft-ds" method="table" conf="3"/></port>
</ports></host>
<host starttime="1" endtime="9" timedout="true"><status state="up" reason="user-set" reason_ttl="0"/>
<address addr="2001:0db8:0000:0000:0000:0000:0000:0009" addrtype="ipv6"/><hostnames></hostnames></host>
<runstats><finished time="2" timestr="x" elapsed="1.00" exit="success"/><hosts up="2" down="0" total="2"/></runstats>
</nmaprun>
"""


def test_saved_xml_keeps_every_cpe_the_tunnel_and_the_timed_out_host() -> None:
    report = parse_nmap_xml(SAVED_XML)
    assert report.nmap_version == "7.93"
    assert report.scanned == "22,443,445,8443"
    host = report.hosts["192.0.2.7"]
    assert not host.timed_out
    ssh, https = host.open_ports  # the closed port is not an open port
    assert ssh.cpes == ("cpe:/a:openbsd:openssh:9.2p1", "cpe:/o:linux:linux_kernel")
    assert (ssh.product, ssh.version, ssh.extrainfo, ssh.confidence) == (
        "OpenSSH", "9.2p1 Debian 2+deb12u3", "protocol 2.0", 10,
    )  # fmt: skip
    assert (https.service, https.tunnel, https.cpes) == ("http", "ssl", ("cpe:/a:apache:http_server:2.4.57",))
    assert classify(https) is not None and classify(https).slug == "https"  # type: ignore[union-attr]
    assert report.hosts["2001:db8::9"].timed_out


def test_nmap_error_exit_in_xml_is_a_failure() -> None:
    broken = SAVED_XML.replace('exit="success"', 'exit="error" errormsg="Failed to open device"')
    with pytest.raises(NmapFailed, match="nmap reported an error: Failed to open device"):
        parse_nmap_xml(broken)


def test_each_open_port_is_exported_with_its_exposure_class_and_that_class_severity() -> None:
    """posture_port_open carries the class evaluate() reports as ports.exposed.<class>, so that a dashboard can
    count risky exposures without counting the expected web ports; an unclassified port says "none"."""
    scanned = details(port(6379, "redis"), port(22, "ssh"), port(443, "https"), port(40000, "unknown"))
    samples = {s.labels[0]: s.labels[1:] for s in CHECK.metrics(scanned, datetime.now(UTC))}
    assert samples["6379"] == ("redis", "redis", "critical")
    assert samples["22"][1:] == ("ssh", "low")
    assert samples["443"][2] == "info"  # the expected public web port: exposed, but not a risk
    assert samples["40000"][1:] == ("none", "none")
    [family] = PortsCheck.metric_families
    assert family.labels == ("port", "service", "exposure", "risk")

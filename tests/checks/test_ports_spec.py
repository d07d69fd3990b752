"""Port SPECs and the ports check's configuration: what is accepted, what is refused and with which message."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from checks.base import CheckMisconfigured
from checks.ports import DEFAULT_PORTS, PortsConfig, parse_port_spec, validate_host
from checks.ports.portspec import format_ports


@pytest.mark.parametrize(
    ("spec", "canonical", "args"),
    [
        ("default", "default", ["-p", format_ports(DEFAULT_PORTS)]),
        (" DEFAULT ", "default", ["-p", format_ports(DEFAULT_PORTS)]),
        ("top:100", "top:100", ["--top-ports", "100"]),
        ("top:65535", "top:65535", ["--top-ports", "65535"]),
        ("22", "22", ["-p", "22"]),
        ("80, 22,8000-8002,8001", "22,80,8000-8002", ["-p", "22,80,8000-8002"]),
        ("1-65535", "1-65535", ["-p", "1-65535"]),
        ("443-443", "443", ["-p", "443"]),
    ],
)
def test_valid_specs_normalise(spec: str, canonical: str, args: list[str]) -> None:
    selection = parse_port_spec(spec)
    assert selection.canonical == canonical
    assert selection.nmap_args() == args


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty port spec"),
        ("top:", "'top:N' needs a whole number N from 1 to 65535"),
        ("top:0", "'top:N' needs a whole number N from 1 to 65535"),
        ("top:70000", "'top:N' needs a whole number N from 1 to 65535"),
        ("top:-5", "'top:N' needs a whole number N from 1 to 65535"),
        ("22,,80", "empty item between commas"),
        ("22,", "empty item between commas"),
        ("0", "port 0 is outside 1-65535"),
        ("65536", "port 65536 is outside 1-65535"),
        ("100-90", "range '100-90' runs backwards"),
        ("ssh", "'ssh' is not a port number"),
        ("-22", "'' is not a port number"),
        ("22-", "'' is not a port number"),
        ("T:22", "'T:22' is not a port number"),
        ("2²", "'2²' is not a port number"),
        ("--script=vuln", "is not a port number"),
    ],
)
def test_invalid_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match="port spec") as caught:
        parse_port_spec(spec)
    assert message in str(caught.value)


def test_default_list_covers_the_ports_the_issue_names() -> None:
    named = {21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 389, 443, 445, 465, 587, 636, 873, 993, 995}
    named |= {1433, 1521, 2049, 2375, 2376, 3306, 3389, 5432, 5900, 5985, 5986, 6379, 8080, 8443, 9200, 11211, 27017}
    assert named <= set(DEFAULT_PORTS)
    assert list(DEFAULT_PORTS) == sorted(set(DEFAULT_PORTS))


def test_config_normalises_ports_and_baseline() -> None:
    cfg = PortsConfig(ports=[443, 80, 81, 82], expected_ports="443, 80")
    assert cfg.ports == "80-82,443"
    assert cfg.expected_ports == frozenset({80, 443})
    assert PortsConfig(expected_ports="").expected_ports == frozenset()
    assert PortsConfig().expected_ports is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"ports": "top:0"}, "'top:N' needs a whole number"),
        ({"nmap_args": "-sS"}, "Extra inputs are not permitted"),
        ({"expected_ports": [0]}, "expected_ports outside 1-65535"),
        ({"timing": 6}, "less than or equal to 5"),
        ({"ports": "1-65535"}, "65535 ports at max_rate 300/s need at least 218 s, more than host_timeout_s (90)"),
        ({"timeout_s": 30}, "timeout_s (30) must be at least host_timeout_s + version_host_timeout_s (150)"),
    ],
)
def test_invalid_config_is_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        PortsConfig.model_validate(fields)
    assert message in str(caught.value)


def test_short_deadline_is_fine_when_nmap_limits_are_shorter() -> None:
    cfg = PortsConfig(timeout_s=20, host_timeout_s=10, version_host_timeout_s=10)
    assert cfg.timeout_s == 20


def test_a_full_port_range_needs_a_matching_rate_or_time() -> None:
    cfg = PortsConfig(ports="1-65535", max_rate=2000, host_timeout_s=120, timeout_s=300)
    assert cfg.selection.nmap_args() == ["-p", "1-65535"]


@pytest.mark.parametrize("host", ["127.0.0.5", "::1", "2001:db8::1", "example.org", "www.example.org.", "a_b.example"])
def test_plain_hosts_pass_validation(host: str) -> None:
    assert validate_host(host) == host


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("", "empty host"),
        ("-sS", "nmap option"),
        ("--script=vuln", "nmap option"),
        ("127.0.0.1 127.0.0.2", "several targets"),
        ("example.org\tevil.org", "several targets"),
        ("a.example,b.example", "several targets"),
        ("10.0.0.0/8", "CIDR block"),
        ("fe80::1%eth0", "zone identifiers"),
        ("10.0.0.1-5", "address range"),
        ("10.0.0.*", "not an IP address or a DNS name"),
        ("exa mple", "several targets"),
        ("example..org", "not an IP address or a DNS name"),
        ("[::1]", "not an IP address or a DNS name"),
        ("x" * 254, "not an IP address or a DNS name"),
    ],
)
def test_hosts_nmap_could_misread_are_refused(host: str, reason: str) -> None:
    with pytest.raises(CheckMisconfigured, match="refusing to scan host") as caught:
        validate_host(host)
    assert reason in str(caught.value)

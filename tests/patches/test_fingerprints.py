"""Banners and nmap fingerprints → NVD vendor:product:version; the CPE parser and the alias table."""

from __future__ import annotations

import pytest

from checks.patches.cpe import ALIASES, PRODUCT_NAMES, canonical, parse_cpe, product_from_name
from checks.patches.fingerprints import from_banner, from_nmap_port, from_ports_details
from checks.ports.models import OpenPort, PortsDetails


@pytest.mark.parametrize(
    ("banner", "expected"),
    [
        ("SSH-2.0-OpenSSH_7.4", [("openbsd", "openssh", "7.4", "-", None)]),
        ("SSH-2.0-OpenSSH_9.3p1", [("openbsd", "openssh", "9.3", "p1", None)]),
        ("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10", [("openbsd", "openssh", "8.9", "p1", "ubuntu")]),
        ("Server: nginx/1.20.0", [("f5", "nginx", "1.20.0", "-", None)]),
        ("Server: Apache/2.4.49 (Unix)", [("apache", "http_server", "2.4.49", "-", None)]),
        ("Apache/2.4.38 (Debian)", [("apache", "http_server", "2.4.38", "-", "debian")]),
        ("220 (vsFTPd 2.3.4)", [("vsftpd_project", "vsftpd", "2.3.4", "-", None)]),
        ("220 ProFTPD 1.3.5b Server (Debian) [::ffff:10.0.0.1]", [("proftpd", "proftpd", "1.3.5b", "-", "debian")]),
        ("220 mx.example.org ESMTP Exim 4.92 Mon, 01 Jan 2024 00:00:00 +0000", [("exim", "exim", "4.92", "-", None)]),
        ("X-Powered-By: PHP/8.1.2", [("php", "php", "8.1.2", "-", None)]),
        ("Server: Microsoft-IIS/10.0", [("microsoft", "internet_information_services", "10.0", "-", None)]),
        (
            "Server: Apache/2.4.41 (Ubuntu) PHP/7.4.3",
            [("apache", "http_server", "2.4.41", "-", "ubuntu"), ("php", "php", "7.4.3", "-", "ubuntu")],
        ),
        ("Server: SomethingElse/1.0", [("", "", "1.0", "-", None)]),
        ("Server: nginx", []),
    ],
)
def test_banners(banner: str, expected: list[tuple[str, str, str, str, str | None]]) -> None:
    found = [(f.vendor, f.product, f.version, f.update, f.distribution) for f in from_banner(banner)]
    assert found == expected


def test_banner_text_stays_data_and_is_cut() -> None:
    [fingerprint] = from_banner("SSH-2.0-OpenSSH_7.4 \x1b[31m" + "x" * 5000)
    assert len(fingerprint.evidence) <= 300 and fingerprint.version == "7.4"


def test_nmap_fingerprints_use_the_cpe_and_strip_distribution_suffixes() -> None:
    port = {
        "port": 22,
        "protocol": "tcp",
        "service": "ssh",
        "product": "OpenSSH",
        "version": "8.9p1 Ubuntu 3ubuntu0.6",
        "extrainfo": "Ubuntu Linux; protocol 2.0",
        "cpes": ["cpe:/a:openbsd:openssh:8.9p1", "cpe:/o:linux:linux_kernel"],
    }
    fingerprint = from_nmap_port(port)
    assert fingerprint is not None
    assert (fingerprint.vendor, fingerprint.product, fingerprint.version, fingerprint.update) == (
        "openbsd",
        "openssh",
        "8.9",
        "p1",
    )
    assert fingerprint.distribution == "ubuntu" and fingerprint.source == "nmap"
    nginx = from_nmap_port(
        {"port": 80, "product": "nginx", "version": "1.18.0", "cpes": ["cpe:/a:igor_sysoev:nginx:1.18.0"]}
    )
    assert nginx is not None and canonical(nginx.vendor, nginx.product) == (("f5", "nginx"),)
    assert from_nmap_port({"port": 9, "service": "discard"}) is None
    details = PortsDetails(address="192.0.2.1", scanned="1-1024", version_scan="done",
                           open_ports=(OpenPort(**port), OpenPort(port=9)))  # fmt: skip
    assert [f.port for f in from_ports_details(details)] == [22]
    assert from_ports_details(None) == []


def test_cpe_22_and_23_parse_to_the_same_name() -> None:
    uri = parse_cpe("cpe:/a:apache:http_server:2.4.50")
    formatted = parse_cpe("cpe:2.3:a:apache:http_server:2.4.50:*:*:*:*:*:*:*")
    assert uri == formatted
    packed = parse_cpe("cpe:/a:gitlab:gitlab:13.8.0::~~community~~~")
    assert packed.sw_edition == "community" and packed.version == "13.8.0"
    escaped = parse_cpe(r"cpe:2.3:a:vendor:prod\:uct:1.0:*:*:*:*:*:*:*")
    assert escaped.product == "prod:uct"
    for bad in ("cpe:2.3:a:too:short", "cpe:/x:vendor:product", "openssh 7.4", "cpe:/a::product"):
        with pytest.raises(ValueError):
            parse_cpe(bad)


@pytest.mark.parametrize(("alias", "targets"), list(ALIASES.items()))
def test_every_alias_points_at_a_different_current_name(
    alias: tuple[str, str], targets: tuple[tuple[str, str], ...]
) -> None:
    assert targets and alias not in targets
    assert canonical(*alias) == targets
    assert canonical(*targets[0]) == (targets[0],)  # current names are not aliased again


def test_nginx_vendor_renames_all_reach_f5() -> None:
    for vendor in ("igor_sysoev", "nginx", "f5"):
        assert canonical(vendor, "nginx") == (("f5", "nginx"),)


@pytest.mark.parametrize("name", sorted(PRODUCT_NAMES))
def test_every_product_name_maps_to_an_nvd_name(name: str) -> None:
    vendor, product = PRODUCT_NAMES[name]
    assert vendor and product and vendor == vendor.lower()
    assert product_from_name(name.upper()) == (vendor, product)


def test_nmap_daemon_words_are_dropped() -> None:
    assert product_from_name("Exim smtpd") == ("exim", "exim")
    assert product_from_name("Dovecot imapd") == ("dovecot", "dovecot")
    assert product_from_name("Microsoft IIS httpd") == ("microsoft", "internet_information_services")
    assert product_from_name("Unknown thing") is None

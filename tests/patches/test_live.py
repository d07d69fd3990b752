"""Fake services with real banners on 127.0.0.70+, scanned by the real ports check (nmap -sV) and the patch check."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import trustme

from checks.base import CheckConfig, CheckContext
from checks.patches import MemoryVulnDb, PatchCheck, PatchConfig, PatchDetails
from checks.ports import PortsCheck, PortsConfig
from monitor.models import CheckResult, CheckStatus, Severity, Target
from monitor.oneoff import scan
from monitor.runner import execute
from tests.patches import services as fake

REGISTRY: dict[str, Any] = {PortsCheck.name: PortsCheck, PatchCheck.name: PatchCheck}


def ports_config(ports: str) -> PortsConfig:
    return PortsConfig(ports=ports, timeout_s=60, host_timeout_s=30, version_host_timeout_s=30)


async def scan_one(target: Target, ports: str, db: MemoryVulnDb) -> list[CheckResult[Any]]:
    """`posture scan HOST:PORT --checks patch` in one-off mode: ports runs first, its details reach the patch check."""
    configs: dict[str, CheckConfig] = {"ports": ports_config(ports), "patch": PatchConfig(banner_reads=False)}
    return await scan(target, ["patch"], REGISTRY, configs, resources={"vulndb": db})


def findings(result: CheckResult[Any]) -> dict[str, tuple[Severity, bool]]:
    return {
        o.key: (o.severity, bool(o.detail.get("kev"))) for o in result.observations if o.key.startswith("patch.cve.")
    }


async def test_real_banners_through_nmap_and_the_patch_check(seed_db: MemoryVulnDb) -> None:
    services = [
        ("127.0.0.70", 22, fake.SSH_OPENSSH_74),
        ("127.0.0.71", 21, fake.FTP_VSFTPD_234),
        ("127.0.0.72", 80, fake.HTTP_APACHE_2449),
        ("127.0.0.73", 22, fake.SSH_OPENSSH_98),
    ]
    async with fake.listening(services):
        ssh, ftp, http, patched = [await scan_one(Target(host, port), str(port), seed_db) for host, port, _ in services]
    for ports_result, patch_result in (ssh, ftp, http, patched):
        assert (ports_result.check, patch_result.check) == ("ports", "patch")  # dependency order
        assert patch_result.status is CheckStatus.OK, patch_result.error
    # Then: exact CVE ids and KEV flags from the shared NVD and KEV data
    assert findings(ssh[1]) == {
        "patch.cve.CVE-2018-15473": (Severity.MEDIUM, False),
        "patch.cve.CVE-2021-41617": (Severity.HIGH, False),
        "patch.cve.CVE-2023-38408": (Severity.CRITICAL, False),
    }
    assert findings(ftp[1]) == {"patch.cve.CVE-2011-2523": (Severity.CRITICAL, False)}
    assert findings(http[1]) == {
        "patch.cve.CVE-2021-41773": (Severity.CRITICAL, True),
        "patch.cve.CVE-2021-42013": (Severity.CRITICAL, True),
    }
    assert findings(patched[1]) == {}  # OpenSSH 9.8p1: the fixed release matches nothing
    assert isinstance(patched[1].details, PatchDetails)
    [fingerprint] = patched[1].details.fingerprints
    assert (fingerprint.source, fingerprint.version, fingerprint.update) == ("nmap", "9.8", "p1")
    traversal = next(o for o in http[1].observations if o.key == "patch.cve.CVE-2021-41773")
    assert traversal.detail["due_date"] == "2021-11-17" and traversal.detail["evidence"]["source"] == "nmap"
    assert "cpe:/a:apache:http_server:2.4.49" in traversal.detail["evidence"]["evidence"]


async def test_own_banner_reads_where_nmap_gave_no_version(seed_db: MemoryVulnDb) -> None:
    """Without ports facts the check reads the target's own port; an HTTP port nmap left blank is asked HEAD /."""
    services = [
        ("127.0.0.74", 2222, fake.SSH_UBUNTU),
        ("127.0.0.75", 8081, fake.http(b"nginx/1.20.0", b"PHP/8.1.28")),
    ]
    ctx = CheckContext(resources={"vulndb": seed_db})
    async with fake.listening(services):
        alone = await execute(PatchCheck(), Target("127.0.0.74", 2222), PatchConfig(), ctx)
        blank = {"address": "127.0.0.1", "scanned": "8081", "version_scan": "done",
                 "open_ports": [{"port": 8081, "service": "http", "product": "", "version": ""}]}  # fmt: skip
        with_ports = CheckContext(peer_details={"ports": blank}, resources={"vulndb": seed_db})
        web = await execute(PatchCheck(), Target("127.0.0.75", 8081), PatchConfig(), with_ports)
    assert alone.status is CheckStatus.OK and isinstance(alone.details, PatchDetails)
    [ssh] = alone.details.fingerprints
    assert (ssh.source, ssh.version, ssh.update, ssh.distribution) == ("banner", "8.9", "p1", "ubuntu")
    regression = next(o for o in alone.observations if o.key == "patch.cve.CVE-2023-38408")
    assert regression.detail["confidence"] == "low" and regression.severity is Severity.HIGH
    assert web.status is CheckStatus.OK and isinstance(web.details, PatchDetails)
    assert {f.product for f in web.details.fingerprints} == {"nginx", "php"}
    assert {"patch.cve.CVE-2021-23017", "patch.cve.CVE-2024-4577", "patch.eol"} <= {o.key for o in web.observations}


async def test_a_closed_port_gives_no_fingerprint_and_no_error(seed_db: MemoryVulnDb) -> None:
    ctx = CheckContext(resources={"vulndb": seed_db})
    result = await execute(PatchCheck(), Target("127.0.0.76", 2222), PatchConfig(banner_timeout_s=1), ctx)
    assert result.status is CheckStatus.OK and result.observations == ()


async def test_https_server_header_is_read_over_tls(seed_db: MemoryVulnDb) -> None:
    """A TLS port (nmap: service https, no version): HEAD / over TLS, certificate not judged here."""
    authority = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("127.0.0.77").configure_cert(context)
    fake.check_address("127.0.0.77")
    server = await asyncio.start_server(fake.http(b"Apache/2.4.50 (Unix)"), "127.0.0.77", 8443, ssl=context)
    tls_port = {"port": 8443, "service": "https", "tunnel": "ssl", "product": "", "version": ""}
    blank = {"address": "127.0.0.1", "scanned": "8443", "version_scan": "done", "open_ports": [tls_port]}
    ctx = CheckContext(peer_details={"ports": blank}, resources={"vulndb": seed_db})
    try:
        result = await execute(PatchCheck(), Target("127.0.0.77", 8443), PatchConfig(), ctx)
    finally:
        server.close()
        await server.wait_closed()
    assert result.status is CheckStatus.OK
    assert findings(result) == {"patch.cve.CVE-2021-42013": (Severity.CRITICAL, True)}

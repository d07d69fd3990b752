"""Matching against the bundled NVD/KEV/EOL seed: exact CVE ids, KEV flags, boundaries exactly as NVD states them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from checks.base import CheckContext
from checks.patches import MemoryVulnDb, PatchCheck, PatchConfig, PatchDetails
from checks.patches.check import judge
from checks.patches.fingerprints import from_banner, from_nmap_port
from monitor.models import CheckStatus, Severity, Target
from monitor.runner import execute

TODAY = date(2026, 11, 27)


def cves(db: MemoryVulnDb, vendor: str, product: str, version: str, update: str = "-") -> list[str]:
    return [m.cve.cve for m in db.match(vendor, product, version, update)]


@pytest.mark.parametrize(
    ("vendor", "product", "version", "update", "expected"),
    [
        # Given a version inside one or more ranges, Then exactly those CVEs match
        ("openbsd", "openssh", "7.4", "-", ["CVE-2018-15473", "CVE-2021-41617", "CVE-2023-38408"]),
        ("openbsd", "openssh", "7.2", "p2", ["CVE-2016-6210", "CVE-2018-15473", "CVE-2021-41617", "CVE-2023-38408"]),
        ("openbsd", "openssh", "7.2", "p1", ["CVE-2018-15473", "CVE-2021-41617", "CVE-2023-38408"]),  # only p2
        ("openbsd", "openssh", "9.3", "p1", ["CVE-2023-38408", "CVE-2024-6387"]),  # exact 9.3:p1
        ("openbsd", "openssh", "9.3", "p2", ["CVE-2024-6387"]),  # 9.3p2 fixed CVE-2023-38408
        ("openbsd", "openssh", "8.5", "p1", ["CVE-2021-41617", "CVE-2023-38408", "CVE-2024-6387"]),
        ("openbsd", "openssh", "9.8", "p1", []),  # the regreSSHion fix: a patched current version matches nothing
        ("openbsd", "openssh", "9.8", "-", ["CVE-2024-6387"]),  # NVD lists OpenBSD's own 9.8 exactly
        ("apache", "http_server", "2.4.49", "-", ["CVE-2021-41773", "CVE-2021-42013"]),
        ("apache", "http_server", "2.4.50", "-", ["CVE-2021-42013"]),
        ("apache", "http_server", "2.4.48", "-", []),  # just outside both exact versions
        ("apache", "http_server", "2.4.51", "-", []),
        ("vsftpd_project", "vsftpd", "2.3.4", "-", ["CVE-2011-2523"]),
        ("vsftpd", "vsftpd", "2.3.5", "-", []),
        ("exim", "exim", "4.87", "-", ["CVE-2019-10149", "CVE-2020-28017"]),  # startIncluding 4.87
        ("exim", "exim", "4.86", "-", ["CVE-2020-28017"]),
        ("exim", "exim", "4.91", "-", ["CVE-2019-10149", "CVE-2020-28017"]),  # endIncluding 4.91
        ("exim", "exim", "4.92", "-", ["CVE-2020-28017"]),
        ("exim", "exim", "4.94.1", "-", []),  # endExcluding 4.94.1, as NVD states it (the text says 4.94.2)
        ("f5", "nginx", "1.20.0", "-", ["CVE-2021-23017"]),
        ("f5", "nginx", "1.20.1", "-", []),  # endExcluding
        ("nginx", "nginx", "1.4.0", "-", ["CVE-2013-2028", "CVE-2019-20372", "CVE-2021-23017"]),  # endIncluding
        ("igor_sysoev", "nginx", "1.3.8", "-", ["CVE-2019-20372", "CVE-2021-23017"]),  # before startIncluding
        ("nginx", "nginx", "1.18.0", "-", ["CVE-2021-23017"]),
        ("proftpd", "proftpd", "1.3.5", "-", ["CVE-2015-3306", "CVE-2019-12815"]),
        ("proftpd", "proftpd", "1.3.5b", "-", ["CVE-2019-12815"]),
        ("proftpd", "proftpd", "1.3.5c", "-", []),
        ("dovecot", "dovecot", "2.2.36.3", "-", ["CVE-2019-11500"]),
        ("dovecot", "dovecot", "2.2.36.4", "-", []),
        ("samba", "samba", "4.4.13", "-", ["CVE-2017-7494"]),
        ("samba", "samba", "4.4.14", "-", []),
        ("samba", "samba", "3.4.9", "-", []),
        ("php", "php", "8.1.28", "-", ["CVE-2024-4577"]),
        ("php", "php", "8.1.29", "-", []),
        ("apache", "tomcat", "9.0.98", "-", ["CVE-2025-24813"]),
        ("apache", "tomcat", "9.0.0", "milestone3", ["CVE-2025-24813"]),
        ("apache", "tomcat", "9.0.0", "-", []),  # 9.0.1 starts the range; only milestones of 9.0.0 are listed
        ("apache", "tomcat", "9.0.99", "-", []),
        ("citrix", "netscaler_gateway", "13.1-49.12", "-", ["CVE-2023-3519", "CVE-2023-4966"]),
        ("citrix", "netscaler_gateway", "13.1-49.13", "-", ["CVE-2023-4966"]),
        ("citrix", "netscaler_gateway", "13.1-49.15", "-", []),
        ("fortinet", "fortios", "7.2.2", "-", ["CVE-2022-42475"]),
        ("fortinet", "fortios", "7.2.3", "-", []),
        ("jenkins", "jenkins", "2.441", "-", ["CVE-2024-23897"]),
        ("jenkins", "jenkins", "2.442", "-", []),
        ("roundcube", "webmail", "1.6.3", "-", ["CVE-2023-5631"]),
        ("roundcube", "webmail", "1.6.4", "-", []),
        ("atlassian", "confluence", "7.18.0", "-", ["CVE-2022-26134"]),  # alias to server and data center
        (
            "microsoft",
            "exchange_server",
            "2019",
            "cumulative_update_8",
            ["CVE-2021-26855", "CVE-2021-34473", "CVE-2021-34523"],
        ),
    ],
)
def test_exact_cve_ids_and_boundaries(
    seed_db: MemoryVulnDb, vendor: str, product: str, version: str, update: str, expected: list[str]
) -> None:
    assert cves(seed_db, vendor, product, version, update) == expected


@pytest.mark.parametrize(
    ("cve", "kev", "due"),
    [
        ("CVE-2021-41773", True, "2021-11-17"),
        ("CVE-2021-42013", True, "2021-11-17"),
        ("CVE-2019-10149", True, None),
        ("CVE-2011-2523", False, None),
        ("CVE-2023-38408", False, None),
        ("CVE-2015-3306", False, None),  # NVD's record says cisaExploitAdd, the KEV snapshot does not: KEV wins
        ("CVE-2024-38475", True, None),  # in KEV, but no configurations: never matched by CPE
    ],
)
def test_kev_flags_come_from_the_kev_catalog(seed_db: MemoryVulnDb, cve: str, kev: bool, due: str | None) -> None:
    entry = seed_db.kev(cve)
    assert (entry is not None) == kev
    if due:
        assert entry is not None and entry.due_date == due


def test_a_record_without_configurations_is_loaded_but_matches_nothing(seed_db: MemoryVulnDb) -> None:
    assert "CVE-2024-38475" in seed_db.cves
    for version in ("2.4.49", "2.4.59", "2.4.60"):
        assert "CVE-2024-38475" not in cves(seed_db, "apache", "http_server", version)


def test_and_configurations_match_with_medium_confidence(seed_db: MemoryVulnDb) -> None:
    [match] = seed_db.match("microsoft", "iis", "6.0")
    assert match.cve.cve == "CVE-2017-7269" and match.criterion.platform and match.kev is not None
    [observation] = [o for o in judge(_fp("Microsoft-IIS/6.0"), seed_db, PatchConfig(), TODAY) if "cve" in o.key]
    assert observation.detail["confidence"] == "medium"


def _fp(banner: str) -> list:  # type: ignore[type-arg]
    return from_banner(banner, 80)


def test_kev_raises_to_critical_with_deadline_keys(seed_db: MemoryVulnDb) -> None:
    observations = {o.key: o for o in judge(_fp("Server: Apache/2.4.49 (Unix)"), seed_db, PatchConfig(), TODAY)}
    traversal = observations["patch.cve.CVE-2021-41773"]
    assert traversal.severity is Severity.CRITICAL  # CVSS says high (7.5); KEV raises it
    assert traversal.detail["cvss_severity"] == "high"
    assert traversal.detail["kev"] is True and traversal.detail["due_date"] == "2021-11-17"
    assert traversal.detail["required_action"] and traversal.detail["known_ransomware"] is True
    assert traversal.detail["matched_range"] == "= 2.4.49" and traversal.detail["confidence"] == "high"
    assert observations["patch.version_disclosed"].severity is Severity.INFO


def test_a_distribution_build_lowers_confidence_and_severity_one_step(seed_db: MemoryVulnDb) -> None:
    upstream = {o.key: o for o in judge(_fp("Apache/2.4.49"), seed_db, PatchConfig(), TODAY)}
    debian = {o.key: o for o in judge(_fp("Apache/2.4.49 (Debian)"), seed_db, PatchConfig(), TODAY)}
    for key in ("patch.cve.CVE-2021-41773", "patch.cve.CVE-2021-42013"):
        assert upstream[key].severity is Severity.CRITICAL and upstream[key].detail["confidence"] == "high"
        assert debian[key].severity is Severity.HIGH and debian[key].detail["confidence"] == "low"
        assert "backported" in debian[key].detail["confidence_reason"]
    ubuntu = {o.key: o for o in judge(_fp("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10"), seed_db, PatchConfig(), TODAY)}
    assert ubuntu["patch.cve.CVE-2023-38408"].severity is Severity.HIGH  # critical 9.8 → one step less


def test_end_of_life_cycles_against_today(seed_db: MemoryVulnDb) -> None:
    eol = {o.key: o for o in judge(_fp("Server: nginx/1.20.0"), seed_db, PatchConfig(), TODAY)}["patch.eol"]
    [service] = eol.detail["services"]
    assert (service["cycle"], service["eol"], service["latest"]) == ("1.20", "2022-05-24", "1.20.2")
    before = judge(_fp("Server: nginx/1.20.0"), seed_db, PatchConfig(), date(2022, 5, 23))
    assert "patch.eol" not in {o.key for o in before}  # the day before the EOL date it is still supported
    assert "patch.eol" not in {o.key for o in judge(_fp("Apache/2.4.68"), seed_db, PatchConfig(), TODAY)}
    exim = seed_db.eol("exim", "exim", "4.86_2")
    assert exim is not None and exim.cycle == "4.86"


def test_a_patched_current_version_matches_nothing(seed_db: MemoryVulnDb) -> None:
    for banner in ("SSH-2.0-OpenSSH_9.9p1", "Server: Apache/2.4.68", "Server: nginx/1.30.4", "220 (vsFTPd 3.0.5)"):
        keys = {o.key for o in judge(_fp(banner), seed_db, PatchConfig(), TODAY)}
        assert keys == {"patch.version_disclosed"}, banner


def test_evaluate_prefers_the_freshest_ports_details_and_keeps_its_own_banners(seed_db: MemoryVulnDb) -> None:
    """Re-judgement: stored ports facts in the context replace the nmap fingerprints in the stored details."""
    stale = from_nmap_port({"port": 22, "product": "OpenSSH", "version": "9.8p1", "cpes": []})
    assert stale is not None
    details = PatchDetails(fingerprints=(stale, *from_banner("Server: nginx/1.20.0", 8080)))
    ports = {  # as the store holds them
        "address": "192.0.2.1", "scanned": "22", "version_scan": "done",
        "open_ports": [{"port": 22, "product": "OpenSSH", "version": "7.4", "cpes": ["cpe:/a:openbsd:openssh:7.4"]}],
    }  # fmt: skip
    ctx = CheckContext(
        now=datetime(2026, 11, 27, tzinfo=UTC), peer_details={"ports": ports}, resources={"vulndb": seed_db}
    )
    keys = {o.key for o in PatchCheck().evaluate(details, PatchConfig(), ctx)}
    assert {"patch.cve.CVE-2018-15473", "patch.cve.CVE-2021-23017", "patch.eol"} <= keys


async def test_a_run_on_unreadable_ports_facts_is_a_crash_with_the_reason(seed_db: MemoryVulnDb) -> None:
    """A renamed field in the ports facts must not read as "no open ports": that would resolve every CVE finding."""
    older_schema = {"open_ports": [{"port": 22, "product": "OpenSSH", "version": "7.4"}]}  # no address, no scanned
    ctx = CheckContext(peer_details={"ports": older_schema}, resources={"vulndb": seed_db})
    result = await execute(PatchCheck(), Target("127.0.0.1", 22), PatchConfig(banner_reads=False), ctx)
    assert result.status is CheckStatus.CRASHED
    assert result.error == "stored ports details do not parse (address: Field required)"

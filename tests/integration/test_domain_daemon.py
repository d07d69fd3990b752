"""Domains in the running daemon: registered on the command line, checked through the scheduler against a validating
resolver on loopback (POSTURE_DNS_SERVERS), recorded as findings of the domain, exported to /metrics by name."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.conftest import POSTURE, Posture, free_port, posture_env
from tests.dns_lab import Zone, dns_lab


def _metrics(port: int, token: str) -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read().decode()


def _open_findings(database: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(database) as conn:
        rows = conn.execute(
            "SELECT endpoint.host, finding.key FROM finding JOIN endpoint ON endpoint.id = finding.endpoint_id "
            "WHERE finding.state = 'open'"
        ).fetchall()
    return {(host, key) for host, key in rows}


def test_the_daemon_checks_registered_domains_and_exports_them_by_name(
    tmp_path: Path, sqlite_url: str, posture_subprocess: Posture
) -> None:
    with dns_lab([Zone("good"), Zone("plain", signed=False)]) as lab:
        resolver = json.dumps([f"{lab.resolver[0]}:{lab.resolver[1]}"])
        for args in (
            ["db", "upgrade"],
            ["agency", "add", "lk-dns", "--name", "Landkreis DNS"],
            ["scope", "add", "lk-dns", "dnssec.test"],
            ["domain", "add", "lk-dns", lab.domain("good")],
            ["domain", "add", "lk-dns", lab.domain("plain")],
        ):
            assert posture_subprocess(*args).code == 0
        token = posture_subprocess("token", "create", "--role", "metrics").stdout.strip().splitlines()[-1]
        http_port = free_port()
        env = posture_env(sqlite_url, POSTURE_JITTER="0", POSTURE_DNS_SERVERS=resolver)
        env["POSTURE_HTTP_ADDR"] = f"127.0.0.1:{http_port}"
        env["POSTURE_METRICS_REFRESH_S"] = "1"
        daemon = subprocess.Popen([*POSTURE, "run"], env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
        wanted = {
            'posture_dnssec_secure{agency="lk-dns",endpoint="good.dnssec.test"} 1.0',
            'posture_dnssec_secure{agency="lk-dns",endpoint="plain.dnssec.test"} 0.0',
            'posture_mail_spf_policy{agency="lk-dns",endpoint="good.dnssec.test",policy="missing"} 1.0',
            'posture_mail_receives_mail{agency="lk-dns",endpoint="plain.dnssec.test"} 1.0',
        }
        try:
            deadline = time.monotonic() + 30
            text = ""
            while time.monotonic() < deadline:
                assert daemon.poll() is None, "daemon died"
                try:
                    text = _metrics(http_port, token)
                except OSError:
                    text = ""
                if all(line in text for line in wanted):
                    break
                time.sleep(0.3)
            assert all(line in text for line in wanted), text[-3000:]
            assert (
                'posture_dnssec_signature_expiry_timestamp_seconds{agency="lk-dns",endpoint="good.dnssec.test"}' in text
            )
            assert 'kind="domain"' in text and 'port=""' in text  # posture_endpoint_info of the domains
            found = _open_findings(tmp_path / "posture.db")
            assert {f for f in found if f[1].startswith("dns.")} == {("plain.dnssec.test", "dns.dnssec.unsigned")}
            for domain in ("good.dnssec.test", "plain.dnssec.test"):
                assert {(domain, "mail.spf.missing"), (domain, "mail.dmarc.missing")} <= found
                # the lab's MX has a documentation address, which the scope (names only) does not hold: not contacted
                assert (domain, "mail.mx.third_party") in found
        finally:
            daemon.terminate()
            _, stderr = daemon.communicate(timeout=15)
    assert "Traceback" not in stderr

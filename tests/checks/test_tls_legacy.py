"""The TLS check on legacy servers that OpenSSL 3 cannot be, served by tlslite-ng on loopback (legacy_servers.py).

Each legacy key is raised from a real server; servers that take one connection at a time, reset some tests, or
offer only a DH group sslyze's clients refuse still give their findings instead of "unreachable".
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import legacy_servers as ls
import pytest
import tls_servers as ts

from checks.base import CheckContext
from checks.tls import TlsCheck, TlsConfig, TlsDetails
from monitor.findings import Policy, reconcile
from monitor.models import CheckResult, CheckStatus, EventType, Observation, Severity, Target
from monitor.runner import execute

pytestmark = pytest.mark.timeout(300)


@dataclass
class Legacy:
    pki: ts.Pki
    servers: dict[str, ls.RunningLegacy]
    workdir: Path

    def server(self, label: str) -> ls.RunningLegacy:
        return self.servers[f"{label}.posture.test"]

    def config(self, **overrides: Any) -> TlsConfig:
        values: dict[str, Any] = {"address": ip_address(ls.LOOPBACK), "ca_file": self.pki.ca_file, "timeout_s": 90}
        values.update(overrides)
        return TlsConfig.model_validate(values)


def legacy_specs(pki: ts.Pki) -> list[ls.LegacySpec]:
    """One server per legacy case; the name's first label is the case (the benchmark starts the first five)."""

    def spec(label: str, leaf: ts.Issued | None = None, chain: tuple[ts.Issued, ...] | None = None,
             **kwargs: Any) -> ls.LegacySpec:  # fmt: skip
        name = f"{label}.posture.test"
        leaf = leaf or pki.leaf(name, key=ts.rsa_key())
        chain = (pki.intermediate,) if chain is None else chain
        return ls.LegacySpec(name=name, chain_pem=ts.chain_pem(leaf, *chain), key_pem=leaf.key_pem().decode(), **kwargs)

    rsa_issuer = ts.issue("Posture Test RSA Issuing CA", ts.rsa_key(), pki.root, ca=True)  # MD5 needs an RSA signer
    md5_leaf = ts.legacy_signed_leaf(rsa_issuer, "md5.posture.test", "md5", key=ts.rsa_key())
    bare_leaf = ts.issue("leafonly.posture.test", ts.rsa_key(), pki.intermediate, sans=["leafonly.posture.test"])

    return [
        spec("sslv3", min_version=(3, 0), max_version=(3, 0)),
        spec("rc4", ciphers=["rc4"], macs=["sha", "md5"]),
        spec("tdes", ciphers=["3des"]),
        spec("null", ciphers=["null"]),
        spec("anon", anonymous=True, key_exchanges=["dh_anon", "ecdh_anon"]),
        spec("dh512", key_exchanges=["dhe_rsa"], dh_prime=ls.WEAK_DH_PRIME_512),
        spec("dh512mixed", key_exchanges=["ecdhe_rsa", "dhe_rsa"], dh_prime=ls.WEAK_DH_PRIME_512),
        spec("nosni", ciphers=["rc4", "aes128"], reset_without_sni=True),
        spec("md5", leaf=md5_leaf, chain=(rsa_issuer,)),
        spec("leafonly", leaf=bare_leaf, chain=()),  # no intermediate, and no AIA URL to find it
    ]


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Legacy]:
    workdir = tmp_path_factory.mktemp("legacy")
    pki = ts.make_pki(workdir)
    with ls.running(legacy_specs(pki), workdir) as servers:
        yield Legacy(pki, servers, workdir)


def scan(target: Target, cfg: TlsConfig, previous: TlsDetails | None = None) -> CheckResult[Any]:
    context = CheckContext(peer_details={"tls": previous} if previous is not None else {})
    return asyncio.run(execute(TlsCheck(), target, cfg, context))


def scan_label(legacy: Legacy, label: str, **overrides: Any) -> CheckResult[Any]:
    server = legacy.server(label)
    return scan(Target(server.hostname, server.port), legacy.config(**overrides))


def keys(result: CheckResult[Any]) -> set[str]:
    return {o.key for o in result.observations}


def observation(result: CheckResult[Any], key: str) -> Observation:
    return next(o for o in result.observations if o.key == key)


@pytest.mark.parametrize(
    ("label", "key", "suite_word"),
    [
        ("sslv3", "tls.protocol.sslv3", None),
        ("rc4", "tls.cipher.rc4", "RC4_128"),
        ("tdes", "tls.cipher.3des", "3DES_EDE_CBC"),
        ("null", "tls.cipher.null", "NULL"),
        ("anon", "tls.cipher.anonymous", "anon"),
    ],
)
def test_each_legacy_server_gives_its_finding(legacy: Legacy, label: str, key: str, suite_word: str | None) -> None:
    result = scan_label(legacy, label)
    assert result.status is CheckStatus.OK, result.error
    assert key in keys(result)
    if suite_word is not None:
        assert any(suite_word in suite for suite in observation(result, key).detail["suites"])
    assert "tls.compliance.bsi_tr_02102_2" in keys(result)


def test_an_ssl3_only_server_is_judged_without_the_tests_sslyze_cannot_make_there(legacy: Legacy) -> None:
    result = scan_label(legacy, "sslv3")
    assert {"tls.protocol.sslv3", "tls.protocol.no_tls1_2"} <= keys(result)
    untested = observation(result, "tls.scan.incomplete").detail["untested"]
    assert untested == {"elliptic_curves": "NOT_APPLICABLE", "tls_extended_master_secret": "NOT_APPLICABLE"}


def test_a_512_bit_dh_group_that_sslyze_cannot_connect_with_is_reported(legacy: Legacy) -> None:
    result = scan_label(legacy, "dh512")
    assert result.status is CheckStatus.OK, result.error
    weak = observation(result, "tls.dh.weak")
    assert weak.detail["bits"] == 512 and weak.severity is Severity.HIGH
    # read from our own ClientHellos: the certificate is judged, sslyze's tests are untested
    assert result.details.certificate is not None and result.details.certificate.trust == "trusted"
    untested = observation(result, "tls.scan.incomplete").detail["untested"]
    assert untested["heartbleed"] == "NO_SSLYZE_CONNECTIVITY" and "certificate_info" not in untested


def test_a_512_bit_dh_group_next_to_ecdhe_is_reported(legacy: Legacy) -> None:
    result = scan_label(legacy, "dh512mixed")
    assert result.status is CheckStatus.OK, result.error
    assert observation(result, "tls.dh.weak").detail["bits"] == 512
    assert "tls.scan.incomplete" not in keys(result) or "dh_groups" not in result.details.scan_errors


def test_a_server_that_resets_some_tests_still_reports_the_rest_and_keeps_their_findings(legacy: Legacy) -> None:
    result = scan_label(legacy, "nosni")
    assert result.status is CheckStatus.OK, result.error
    assert {"tls.cipher.rc4", "tls.protocol.tls1_0"} <= keys(result)
    untested = observation(result, "tls.scan.incomplete").detail["untested"]
    assert untested.get("ssl_3_0_cipher_suites") == "CONNECTIVITY_ISSUE"
    assert "tls.protocol.sslv3" in result.untested
    # an SSL 3.0 finding an earlier run raised stays open: this run could not test SSL 3.0
    earlier = Observation("tls.protocol.sslv3", Severity.HIGH, "SSL 3.0 is enabled")
    opened = reconcile({}, CheckResult("tls", 1, CheckStatus.OK, result.started_at, 0.0, None, (earlier,)), 0,
                       Policy(), result.started_at)  # fmt: skip
    known = {state.key: state for state in opened.states}
    after = reconcile(known, dataclasses.replace(result, endpoint_id=1), 0, Policy(), result.started_at)
    assert (EventType.FINDING_RESOLVED, "tls.protocol.sslv3") not in [(e.type, e.key) for e in after.events]


def test_an_md5_signed_leaf_from_a_trusted_ca_is_weak_but_trusted(legacy: Legacy) -> None:
    result = scan_label(legacy, "md5")
    assert result.status is CheckStatus.OK, result.error
    weak = observation(result, "tls.cert.weak_signature")
    assert weak.detail["hash"] == "md5" and weak.severity is Severity.HIGH and "md5.posture.test" in weak.detail[
        "certificate"]  # fmt: skip
    assert not keys(result) & {"tls.cert.untrusted_root", "tls.cert.incomplete_chain", "tls.cert.self_signed"}
    assert result.details.certificate.trust == "trusted"


def test_a_leaf_sent_without_its_intermediate_is_an_incomplete_chain(legacy: Legacy) -> None:
    result = scan_label(legacy, "leafonly")
    assert result.status is CheckStatus.OK, result.error
    incomplete = observation(result, "tls.cert.incomplete_chain")
    assert "Posture Test Root Issuing CA" in incomplete.detail["reason"]
    assert "tls.cert.untrusted_root" not in keys(result)


def slow_spec(pki: ts.Pki, name: str, ciphers: list[str], busy_after_handshake_s: float) -> ls.LegacySpec:
    """A small appliance: one connection at a time, busy for a while after each successful handshake."""
    leaf = pki.leaf(name, key=ts.rsa_key())
    return ls.LegacySpec(name=name, chain_pem=ts.chain_pem(leaf, pki.intermediate), key_pem=leaf.key_pem().decode(),
                         ciphers=ciphers, busy_after_handshake_s=busy_after_handshake_s)  # fmt: skip


def test_a_server_taking_one_connection_at_a_time_is_scanned_completely_and_remembered(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    workdir = tmp_path_factory.mktemp("one-at-a-time")
    pki = ts.make_pki(workdir)
    spec = slow_spec(pki, "slow.posture.test", ["rc4", "aes128"], busy_after_handshake_s=0.4)
    cfg = TlsConfig(address=ip_address(ls.LOOPBACK), ca_file=pki.ca_file, network_timeout_s=1, timeout_s=120)
    with ls.running([spec], workdir) as servers:
        server = servers["slow.posture.test"]
        target = Target(server.hostname, server.port)
        first = scan(target, cfg)
        assert first.status is CheckStatus.OK, first.error
        assert first.details.connection_limit == 1  # five connections at a time lost handshakes; one by one did not
        assert "tls.scan.incomplete" not in keys(first), first.details.scan_errors
        assert "tls.cipher.rc4" in keys(first)
        started = time.perf_counter()
        second = scan(target, cfg, previous=first.details)
        assert second.status is CheckStatus.OK and second.details.connection_limit == 1
        assert "tls.scan.incomplete" not in keys(second)
    print(f"\none-at-a-time server: first run {first.duration_s:.1f} s, second {time.perf_counter() - started:.1f} s")


def test_posture_scan_keeps_its_deadline_and_prints_the_partial_result(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    workdir = tmp_path_factory.mktemp("deadline")
    pki = ts.make_pki(workdir)
    spec = slow_spec(pki, "late.posture.test", ["rc4", "aes128", "aes256", "3des"], busy_after_handshake_s=0.5)
    deadline_s = 12
    env = {
        **os.environ,
        "POSTURE_CHECKS": json.dumps({"tls": {"timeout_s": deadline_s, "address": ls.LOOPBACK}}),
        "POSTURE_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/unused.db",
    }
    with ls.running([spec], workdir) as servers:
        server = servers["late.posture.test"]
        command = [sys.executable, "-m", "monitor", "scan", f"{server.hostname}:{server.port}", "--checks", "tls",
                   "--json", "--ca-file", str(pki.ca_file)]  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
        elapsed = time.perf_counter() - started
    assert "Traceback" not in done.stderr
    result = json.loads(done.stdout)["results"][0]
    print(f"\nposture scan with a {deadline_s} s deadline exited after {elapsed:.1f} s: {result['status']}")
    assert elapsed <= deadline_s + 5 + 3, done.stderr  # + interpreter start and imports
    if result["status"] == "ok":  # what completed is judged, the rest is named
        untested = next(o for o in result["observations"] if o["key"] == "tls.scan.incomplete")["detail"]["untested"]
        assert "DEADLINE" in untested.values()
    else:
        assert result["status"] == "timed_out" and result["error"]

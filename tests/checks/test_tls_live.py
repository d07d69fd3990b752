"""The TLS check against real TLS servers on loopback, one server per case, each scanned once per module.

Given a server configured with one weakness, when the check runs through the runner, then exactly the expected
finding key appears (and the baseline server yields nothing above info).
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import tls_servers as ts

from checks.base import CheckContext
from checks.tls import TlsCheck, TlsConfig
from monitor.heap import freeze_startup_heap
from monitor.models import CheckResult, CheckStatus, Severity, Target
from monitor.runner import execute

CHECK = TlsCheck()
BOTH_PROFILES = ("bsi_tr_02102_2", "mozilla_intermediate")


def config(server: ts.RunningServer, ca_file: Path, **overrides: object) -> TlsConfig:
    values: dict[str, object] = {
        "address": server.host,
        "ca_file": ca_file,
        "profiles": BOTH_PROFILES,
        "network_timeout_s": 2,
        "network_max_retries": 1,
        "timeout_s": 60,
    }
    values.update(overrides)
    return TlsConfig.model_validate(values)


def target(server: ts.RunningServer) -> Target:
    return Target(host=server.hostname, port=server.port, endpoint_id=1)


class Lab:
    def __init__(self, servers: dict[str, ts.RunningServer], ca_file: Path, results: dict[str, CheckResult[object]]):
        self.servers = servers
        self.ca_file = ca_file
        self.results = results

    def result(self, case: str) -> CheckResult[object]:
        return self.results[f"{case}.posture.test"]

    def keys(self, case: str) -> set[str]:
        return {o.key for o in self.result(case).observations}

    def observation(self, case: str, key: str) -> object:
        return next(o for o in self.result(case).observations if o.key == key)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    workdir = tmp_path_factory.mktemp("tls-lab")
    pki = ts.make_pki(workdir)
    stranger = ts.make_pki(workdir, "Stranger Root")
    with ts.running(ts.standard_specs(pki, stranger), workdir) as servers:

        async def scan_all() -> dict[str, CheckResult[object]]:
            async def one(server: ts.RunningServer) -> tuple[str, CheckResult[object]]:
                cfg = config(server, pki.ca_file)
                return server.hostname, await execute(CHECK, target(server), cfg, CheckContext())

            return dict(await asyncio.gather(*(one(s) for s in servers.values())))

        yield Lab(servers, pki.ca_file, asyncio.run(scan_all()))


def test_good_baseline_has_nothing_above_info_grade_a_and_passes_both_profiles(lab: Lab) -> None:
    result = lab.result("good")
    assert result.status is CheckStatus.OK, result.error
    assert [o for o in result.observations if o.severity > Severity.INFO] == []
    assert result.details.grade in {"A", "A+"}  # type: ignore[union-attr]
    assert result.details.compliance == {"bsi_tr_02102_2": (), "mozilla_intermediate": ()}  # type: ignore[union-attr]
    assert result.details.certificate.trust == "trusted"  # type: ignore[union-attr]
    assert result.details.protocols == ("TLSv1.2", "TLSv1.3")  # type: ignore[union-attr]


def test_good_baseline_with_hsts_gets_a_plus(lab: Lab) -> None:
    assert lab.result("good").details.grade == "A+"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("case", "key"),
    [
        ("expired", "tls.cert.expired"),
        ("future", "tls.cert.not_yet_valid"),
        ("expiring", "tls.cert.expiring"),
        ("wronghost", "tls.cert.hostname_mismatch"),
        ("selfsigned", "tls.cert.self_signed"),
        ("unknownca", "tls.cert.untrusted_root"),
        ("nointermediate", "tls.cert.incomplete_chain"),
        ("sha1", "tls.cert.weak_signature"),
        ("rsa1024", "tls.cert.weak_key"),
        ("legacy", "tls.protocol.tls1_0"),
        ("legacy", "tls.protocol.tls1_1"),
        ("legacy", "tls.protocol.no_tls1_3"),
        ("legacy", "tls.cipher.no_forward_secrecy"),
        ("legacy", "tls.cipher.cbc_only"),
        ("weakdh", "tls.dh.weak"),
        ("nohsts", "tls.hsts.missing"),
        ("shorthsts", "tls.hsts.short_max_age"),
        ("reneg", "tls.vuln.client_renegotiation"),
        ("tls13only", "tls.protocol.no_tls1_2"),
        ("legacy", "tls.compliance.bsi_tr_02102_2"),
        ("legacy", "tls.compliance.mozilla_intermediate"),
    ],
)
def test_each_weakness_yields_its_exact_key(lab: Lab, case: str, key: str) -> None:
    result = lab.result(case)
    assert result.status is CheckStatus.OK, result.error
    assert key in lab.keys(case)


CERT_KEYS = {
    "tls.cert.expired",
    "tls.cert.not_yet_valid",
    "tls.cert.expiring",
    "tls.cert.hostname_mismatch",
    "tls.cert.self_signed",
    "tls.cert.untrusted_root",
    "tls.cert.incomplete_chain",
    "tls.cert.weak_signature",
    "tls.cert.weak_key",
}


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("expired", {"tls.cert.expired"}),
        ("future", {"tls.cert.not_yet_valid"}),
        ("expiring", {"tls.cert.expiring"}),
        ("wronghost", {"tls.cert.hostname_mismatch"}),
        ("selfsigned", {"tls.cert.self_signed"}),
        ("unknownca", {"tls.cert.untrusted_root"}),
        ("nointermediate", {"tls.cert.incomplete_chain"}),
        ("sha1", {"tls.cert.weak_signature"}),
        ("rsa1024", {"tls.cert.weak_key"}),
        ("legacy", set()),
    ],
)
def test_one_certificate_weakness_is_reported_once_and_alone(lab: Lab, case: str, expected: set[str]) -> None:
    assert lab.keys(case) & CERT_KEYS == expected


def test_expiring_in_five_days_is_high_with_days_left(lab: Lab) -> None:
    observation = lab.observation("expiring", "tls.cert.expiring")
    assert observation.severity is Severity.HIGH  # type: ignore[attr-defined]
    assert observation.detail["days_left"] == 5  # type: ignore[attr-defined]


def test_certificate_facts_are_recorded_even_when_verification_fails(lab: Lab) -> None:
    details = lab.result("expired").details
    leaf = details.certificate.leaf  # type: ignore[union-attr]
    assert leaf.not_after < leaf.not_before.replace(year=leaf.not_before.year + 1)
    assert details.certificate.dns_names == ("expired.posture.test",)  # type: ignore[union-attr]
    assert lab.result("selfsigned").details.certificate.trust == "self_signed"  # type: ignore[union-attr]


def test_weak_key_detail_names_type_and_bits(lab: Lab) -> None:
    detail = lab.observation("rsa1024", "tls.cert.weak_key").detail  # type: ignore[attr-defined]
    assert (detail["type"], detail["bits"]) == ("RSA", 1024)


def test_weak_dh_detail_has_group_bits(lab: Lab) -> None:
    assert lab.observation("weakdh", "tls.dh.weak").detail["dh_bits"] == 1024  # type: ignore[attr-defined]


def test_bsi_reports_what_it_demands_beyond_the_generic_floor(lab: Lab) -> None:
    # RSA 2048 passes the generic floor, fails BSI's 3000 bits: reported under the compliance key only
    assert "tls.cert.weak_key" not in lab.keys("legacy")
    failed = lab.observation("legacy", "tls.compliance.bsi_tr_02102_2").detail["failed"]  # type: ignore[attr-defined]
    assert {f["requirement"] for f in failed} == {"protocols.allowed", "suites.tls12", "certificate.key_bits"}
    assert all(f["section"].startswith("TR-02102-2") for f in failed)


def test_rsa_3072_with_ecdhe_passes_bsi(lab: Lab) -> None:
    assert lab.result("rsagood").details.compliance["bsi_tr_02102_2"] == ()  # type: ignore[union-attr]


def test_legacy_server_is_graded_b_and_expired_f(lab: Lab) -> None:
    assert lab.result("legacy").details.grade == "B"  # type: ignore[union-attr]
    assert lab.result("expired").details.grade == "F"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("plain", "does not speak TLS"),
        ("closer", "closed the connection during the TLS handshake"),
        ("silent", "does not answer a ClientHello"),
    ],
)
def test_a_server_without_usable_tls_is_unreachable_with_a_clear_reason(lab: Lab, case: str, reason: str) -> None:
    result = lab.result(case)
    assert result.status is CheckStatus.UNREACHABLE
    assert reason in (result.error or "")


async def test_refused_port_is_unreachable(lab: Lab) -> None:
    good = lab.servers["good.posture.test"]
    closed = Target(host="good.posture.test", port=1)  # nothing listens on port 1 of 127.0.0.2
    result = await execute(CHECK, closed, config(good, lab.ca_file), CheckContext())
    assert result.status is CheckStatus.UNREACHABLE
    assert "TCP connect failed" in (result.error or "")


async def test_event_loop_keeps_ticking_during_a_scan(lab: Lab) -> None:
    server = lab.servers["good.posture.test"]
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    # as the daemon does at start-up (monitor/heap.py): a full collection of this test session's large heap would
    # pause every thread for a few hundred ms, which says nothing about the check
    freeze_startup_heap()
    task = asyncio.create_task(ticker())
    try:
        result = await execute(CHECK, target(server), config(server, lab.ca_file), CheckContext())
    finally:
        done.set()
        await task
        gc.unfreeze()
    assert result.status is CheckStatus.OK
    assert result.duration_s > 0.1  # a real scan (hundreds of handshakes), long enough to matter
    assert len(gaps) > result.duration_s / 0.01 / 3
    print(f"\nlongest gap between ticks {max(gaps) * 1000:.0f} ms over {result.duration_s:.1f} s")
    assert max(gaps) < 0.25, f"event loop blocked for {max(gaps):.3f} s"


async def test_a_deadline_ends_the_run_without_blocking_and_names_what_it_cut(lab: Lab) -> None:
    server = lab.servers["rsagood.posture.test"]
    started = time.perf_counter()
    result = await execute(CHECK, target(server), config(server, lab.ca_file, timeout_s=0.3), CheckContext())
    assert time.perf_counter() - started < 1.0
    if result.status is CheckStatus.OK:  # the certificate or a protocol came in time: judged, the rest named
        assert "DEADLINE" in result.details.scan_errors.values()
        assert "tls.scan.incomplete" in {o.key for o in result.observations}
    else:
        assert result.status is CheckStatus.TIMED_OUT


async def test_missing_ca_file_is_our_misconfiguration(lab: Lab, tmp_path: Path) -> None:
    good = lab.servers["good.posture.test"]
    result = await execute(CHECK, target(good), config(good, tmp_path / "absent.pem"), CheckContext())
    assert result.status is CheckStatus.MISCONFIGURED


async def test_without_a_pinned_address_the_host_name_is_resolved_off_the_loop(lab: Lab) -> None:
    # "localhost" resolves through /etc/hosts to 127.0.0.1, where nothing listens on the lab's port
    good = lab.servers["good.posture.test"]
    cfg = config(good, lab.ca_file, address=None)
    result = await execute(CHECK, Target(host="localhost", port=good.port), cfg, CheckContext())
    assert result.status is CheckStatus.UNREACHABLE
    assert "TCP connect failed" in (result.error or "")

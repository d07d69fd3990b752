"""Every check that would touch a hostile endpoint, through the real runner: it ends by its deadline with a clear
status (never `crashed`), reads bounded amounts, and leaves no thread or child process behind.

All (kind, check) cases run at once against one child process of hostile servers (one listener per case, so that
the shape-shifter's connection counter and s_server's single connection slot belong to one case); the nmap runs are
limited to a few at a time.
"""

from __future__ import annotations

import asyncio
import re
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from checks.base import Check, CheckConfig, CheckContext
from checks.patches import PatchCheck, PatchConfig
from checks.patches.snapshot import default_database
from checks.ports import PortsCheck, PortsConfig
from checks.reachability import ReachabilityCheck, ReachabilityConfig
from checks.shared.certs import prime_trust_stores
from checks.tls import TlsCheck, TlsConfig
from checks.tls.http_cap import MAX_HTTP_HEAD_BYTES
from monitor.models import CheckResult, CheckStatus, Target
from monitor.runner import execute
from tests.hostile import hostile_servers as hs
from tests.hostile.conftest import busy_threads, child_cmdlines, children, thread_ids

CHECKS = ("reachability", "tls", "ports", "patch")
NETWORK_TIMEOUT_S, RETRIES = 3, 1
# sslyze threads cannot be stopped; each connection of theirs is bounded by its socket timeout and retries
SSLYZE_SETTLE_S = NETWORK_TIMEOUT_S * (RETRIES + 1) * 2 + 10
DEADLINE_MARGIN_S = 4.0  # the runner's cancellation, the checks' cleanup (nmap killed and reaped), a loaded machine
NMAP_AT_ONCE = 6


def check_and_config(name: str, port: int) -> tuple[Check[Any, Any], CheckConfig]:
    if name == "reachability":
        return ReachabilityCheck(), ReachabilityConfig(timeout_s=8, connect_timeout_s=3)
    if name == "tls":
        return TlsCheck(), TlsConfig(
            timeout_s=12, network_timeout_s=NETWORK_TIMEOUT_S, network_max_retries=RETRIES, address=hs.HOST
        )
    if name == "ports":
        return PortsCheck(), PortsConfig(ports=str(port), timeout_s=8, host_timeout_s=2, version_host_timeout_s=4)
    return PatchCheck(), PatchConfig(timeout_s=10, banner_timeout_s=2)


OK, UNREACHABLE, TIMED_OUT = CheckStatus.OK, CheckStatus.UNREACHABLE, CheckStatus.TIMED_OUT
NO_HANDSHAKE = rf"no TLS handshake within {NETWORK_TIMEOUT_S} s: the port accepts TCP but does not answer"
NOT_TLS = r"the port does not speak TLS \(WRONG_VERSION_NUMBER\)"
LATE = r"no result within 12 s"  # sslyze's scan of a server that answers oddly, on a loaded machine
# (kind, check) → allowed statuses and, for a failed run, the reason it must give. `timed_out` is allowed where the
# case legitimately runs into its deadline (nmap's -sV on a silent port, sslyze's many connections under load).
EXPECTED: dict[tuple[str, str], tuple[set[CheckStatus], str]] = {
    ("tarpit", "tls"): ({UNREACHABLE}, NO_HANDSHAKE),
    ("drip_tls", "tls"): ({UNREACHABLE}, NO_HANDSHAKE),
    ("drip_ssh", "tls"): ({UNREACHABLE}, f"{NO_HANDSHAKE}|{NOT_TLS}"),  # 5 bytes "SSH-2" may make a verdict
    ("headers_10mb", "tls"): ({UNREACHABLE}, NO_HANDSHAKE),
    ("garbage", "tls"): ({UNREACHABLE}, NOT_TLS),
    ("ssh_endless_line", "tls"): ({UNREACHABLE}, NOT_TLS),
    ("ssh_endless_prebanner", "tls"): ({UNREACHABLE}, NOT_TLS),
    ("rst", "tls"): ({UNREACHABLE}, r"closed the connection during the TLS handshake|TCP connect failed"),
    ("huge_chain", "tls"): ({UNREACHABLE, TIMED_OUT}, rf"no TLS handshake possible|{LATE}"),
    ("shapeshift", "tls"): (
        {UNREACHABLE, OK, TIMED_OUT},
        rf"no TLS handshake possible|scan incomplete|not speak|{LATE}",
    ),
    ("reneg", "tls"): ({UNREACHABLE, OK, TIMED_OUT}, rf"TCP connection refused|scan incomplete|{LATE}"),
    # a real TLS server: ok (the HTTP answer's error recorded) unless a starved machine runs out of time
    ("headers_10mb_tls", "tls"): ({OK, TIMED_OUT, UNREACHABLE}, f"{LATE}|{NO_HANDSHAKE}"),
    ("rst", "reachability"): ({OK, UNREACHABLE}, r"TCP connect failed"),
}
# tls_then_tarpit has its own test (concurrent scans, at the end): in this matrix it would hold up the other TLS cases
HOSTILE_KINDS = tuple(kind for kind in hs.KINDS if kind not in {"normal", "normal_tls", "tls_then_tarpit"})
for _kind in HOSTILE_KINDS:
    EXPECTED.setdefault((_kind, "reachability"), ({OK}, ""))
    EXPECTED[(_kind, "ports")] = ({OK, TIMED_OUT}, r"no result within 8 s")
    # the banner reads give up silently (ok, no fingerprint); several slow reads in a row can reach the deadline
    EXPECTED[(_kind, "patch")] = ({OK, TIMED_OUT}, r"no result within 10 s")
CASES = sorted(EXPECTED)


@dataclass
class Outcome:
    result: CheckResult[Any]
    deadline_s: float
    wall_s: float
    nmap_left: list[str]  # nmap processes of this case still alive when the check returned


@dataclass
class Lab:
    outcomes: dict[tuple[str, str], Outcome]
    new_children: list[str]  # child processes of ours after all cases returned
    busy_right_after: list[str]  # threads still working when the last case returned
    busy_after_settle: list[str]
    settle_s: float


def case_name(kind: str, check: str) -> str:
    return f"{kind}-{check}"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[hs.Running]:
    listeners = [hs.Listener(case_name(kind, check), kind) for kind, check in CASES]
    listeners += [hs.Listener(f"{kind}-memory", kind) for kind in MEMORY_CASES]
    with hs.running(listeners, tmp_path_factory.mktemp("hostile")) as running:
        yield running


@pytest.fixture(scope="module")
def lab(servers: hs.Running) -> Lab:
    before_threads = thread_ids()
    before_children = {child.pid for child in children()}

    async def one(kind: str, check_name: str, nmap_slots: asyncio.Semaphore) -> tuple[tuple[str, str], Outcome]:
        port = servers.port(case_name(kind, check_name))
        check, cfg = check_and_config(check_name, port)
        if check_name == "ports":
            await nmap_slots.acquire()
        try:
            started = time.perf_counter()
            result = await execute(check, Target(hs.HOST, port, endpoint_id=1), cfg, CheckContext())
            wall = time.perf_counter() - started
        finally:
            if check_name == "ports":
                nmap_slots.release()
        left = [c for c in child_cmdlines(before_children) if f" -p {port} " in f" {c} "]
        return (kind, check_name), Outcome(result, cfg.timeout_s, wall, left)

    async def run_all() -> Lab:
        nmap_slots = asyncio.Semaphore(NMAP_AT_ONCE)
        lags: list[float] = []

        async def measure_lag() -> None:
            while True:
                tick = time.perf_counter()
                await asyncio.sleep(0.1)
                lags.append(time.perf_counter() - tick - 0.1)

        ticker = asyncio.create_task(measure_lag())
        # nmap phase after the others: a dozen nmap starts (fork, probe file parsing) next to sslyze's threads
        # starve this one event loop on a small machine, and then no deadline can fire on time
        first = [case for case in CASES if case[1] != "ports"]
        outcomes = dict(await asyncio.gather(*(one(kind, check, nmap_slots) for kind, check in first)))
        nmap = [case for case in CASES if case[1] == "ports"]
        outcomes.update(await asyncio.gather(*(one(kind, check, nmap_slots) for kind, check in nmap)))
        ticker.cancel()
        print(f"\nevent loop lag: max {max(lags):.2f} s")
        busy_now = busy_threads(before_threads)
        settled_at = time.perf_counter()
        busy = busy_now
        while busy and time.perf_counter() - settled_at < SSLYZE_SETTLE_S:
            await asyncio.sleep(0.2)
            busy = busy_threads(before_threads)
        return Lab(
            outcomes,
            child_cmdlines(before_children),
            busy_now,
            busy,
            time.perf_counter() - settled_at,
        )

    lab = asyncio.run(run_all())
    print(f"\nhostile matrix: {len(lab.outcomes)} runs; busy threads right after: {len(lab.busy_right_after)}, "
          f"settled after {lab.settle_s:.1f} s")  # fmt: skip
    for (kind, check), outcome in sorted(lab.outcomes.items()):
        r = outcome.result
        print(f"  {kind:22} {check:12} {r.status.value:11} {outcome.wall_s:5.1f} s  {r.error or ''}")
    return lab


@pytest.mark.parametrize(("kind", "check"), CASES, ids=[case_name(*c) for c in CASES])
def test_ends_by_its_deadline_with_a_clear_status(lab: Lab, kind: str, check: str) -> None:
    outcome = lab.outcomes[(kind, check)]
    result = outcome.result
    allowed, reason = EXPECTED[(kind, check)]
    assert result.status is not CheckStatus.CRASHED, result.error
    assert result.status in allowed, (result.status, result.error)
    assert outcome.wall_s <= outcome.deadline_s + DEADLINE_MARGIN_S, outcome.wall_s
    if result.status is OK:
        assert result.details is not None and result.error is None
    else:
        assert result.error and re.search(reason, result.error), result.error
        assert "Traceback" not in result.error and len(result.error) <= 300


@pytest.mark.parametrize("kind", HOSTILE_KINDS)
def test_nmap_is_reaped_when_the_ports_check_returns(lab: Lab, kind: str) -> None:
    assert lab.outcomes[(kind, "ports")].nmap_left == []


def test_no_child_process_is_left_after_the_checks(lab: Lab) -> None:
    assert lab.new_children == []


def test_sslyze_threads_end_within_their_network_timeouts(lab: Lab) -> None:
    """Idle pool workers may stay; threads still working (sslyze's) must end within timeout x tries + margin."""
    assert lab.busy_after_settle == [], f"still busy after {lab.settle_s:.1f} s: {lab.busy_after_settle}"


def test_odd_but_answering_servers_give_sensible_details(lab: Lab) -> None:
    reneg = lab.outcomes[("reneg", "reachability")].result
    assert reneg.details is None or reneg.details.speaks_tls is True
    for kind in ("garbage", "ssh_endless_line", "ssh_endless_prebanner", "huge_chain"):
        details = lab.outcomes[(kind, "reachability")].result.details
        assert details is None or details.speaks_tls is False, kind
    for kind in HOSTILE_KINDS:
        ports = lab.outcomes[(kind, "ports")].result
        if ports.status is OK:
            port = lab.outcomes[(kind, "ports")].result.details.open_ports  # type: ignore[union-attr]
            assert [p.port for p in port] == [int(ports.details.scanned)], kind  # type: ignore[union-attr]
    tls = lab.outcomes[("headers_10mb_tls", "tls")].result
    if tls.status is OK:
        http = tls.details.http  # type: ignore[union-attr]
        assert http is not None and http.answered is False
        assert f"HTTP response head larger than {MAX_HTTP_HEAD_BYTES} bytes" in http.error


# ------------------------------------------------------------------------------------------------ memory

MEMORY_CASES = ("headers_10mb", "ssh_endless_line", "ssh_endless_prebanner", "headers_10mb_tls")
# aiohttp keeps at most MAX_HEADERS header lines of 8 KiB; banners are read 512 bytes at a time; sslyze's HTTP read
# is capped at MAX_HTTP_HEAD_BYTES. Reading the 10 MB (or the endless stream) would pass this bound.
PEAK_BOUND_BYTES = 4 * 1024 * 1024


@pytest.mark.parametrize("kind", MEMORY_CASES)
def test_reads_of_huge_or_endless_answers_are_capped(servers: hs.Running, kind: str) -> None:
    check_name = "tls" if kind.endswith("_tls") else "patch"
    port = servers.port(f"{kind}-memory")
    check, cfg = check_and_config(check_name, port)

    default_database()  # loaded once per process: not part of a read
    prime_trust_stores()

    async def measured() -> tuple[CheckResult[Any], int]:
        tracemalloc.start()
        try:
            result = await execute(check, Target(hs.HOST, port, endpoint_id=1), cfg, CheckContext())
            return result, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    result, peak = asyncio.run(measured())
    print(f"\n{kind} via {check_name}: {result.status.value}, tracemalloc peak {peak / 1e6:.2f} MB")
    assert result.status in {OK, TIMED_OUT}, result.error
    assert peak < PEAK_BOUND_BYTES
    if check_name == "tls" and result.status is OK:
        http = result.details.http  # type: ignore[union-attr]
        assert http.answered is False and f"larger than {MAX_HTTP_HEAD_BYTES} bytes" in http.error


def test_the_http_cap_is_well_below_the_bound() -> None:
    assert MAX_HTTP_HEAD_BYTES * 4 < PEAK_BOUND_BYTES


# ------------------------------------------------------------------------------------ concurrent scans

HOL_CONFIG = {"timeout_s": 30, "network_timeout_s": 1, "network_max_retries": 0, "address": hs.HOST}


def test_a_normal_tls_scan_is_not_held_up_by_a_stalling_target_scanned_at_the_same_time(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    listeners = [hs.Listener("alone", "normal_tls"), hs.Listener("batched", "normal_tls")]
    listeners.append(hs.Listener("stalling", "tls_then_tarpit"))
    cfg = TlsConfig.model_validate(HOL_CONFIG)

    async def scan(servers: hs.Running, name: str) -> tuple[CheckResult[Any], float]:
        started = time.perf_counter()
        result = await execute(TlsCheck(), Target(hs.HOST, servers.port(name)), cfg, CheckContext())
        return result, time.perf_counter() - started

    async def both(servers: hs.Running) -> tuple[float, float, CheckResult[Any]]:
        alone, alone_s = await scan(servers, "alone")
        (batched, batched_s), (stalling, _) = await asyncio.gather(scan(servers, "batched"), scan(servers, "stalling"))
        assert alone.status is OK and batched.status is OK, (alone.error, batched.error)
        return alone_s, batched_s, stalling

    with hs.running(listeners, tmp_path_factory.mktemp("batch")) as servers:
        alone_s, batched_s, stalling = asyncio.run(both(servers))
    print(f"\nnormal TLS scan alone {alone_s:.1f} s, batched with a stalling target {batched_s:.1f} s")
    assert stalling.status is UNREACHABLE, stalling.error
    assert batched_s <= alone_s + 3.0


def test_the_http_cap_stops_a_head_that_never_ends() -> None:
    """sslyze's parser through the cap, fed by an endless header stream (deterministic, no network)."""
    from sslyze.connection_helpers.http_response_parser import NotAValidHttpResponseError

    from checks.tls.http_cap import parse_capped

    class EndlessHead:
        sent = 0
        line = b"X-Pad: aaaaaaaaaa\r\n"

        def read(self, size: int) -> bytes:
            stream = b"HTTP/1.1 200 OK\r\n" + self.line * (1 + (self.sent + size) // len(self.line))
            chunk = stream[self.sent : self.sent + size]
            self.sent += len(chunk)
            return chunk

    peer = EndlessHead()
    with pytest.raises(NotAValidHttpResponseError, match=f"larger than {MAX_HTTP_HEAD_BYTES} bytes"):
        parse_capped(peer)
    assert peer.sent <= MAX_HTTP_HEAD_BYTES

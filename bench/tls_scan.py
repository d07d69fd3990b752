"""Benchmark: the monitor's TLS check vs sslyze's command line vs testssl.sh on 20 local TLS servers, and on 5 legacy
servers (tlslite-ng: SSL 3.0, RC4, 3DES, NULL, anonymous suites).

    .venv/bin/python bench/tls_scan.py [--concurrency 10] [--testssl full|quick|skip]

All servers listen on loopback (127.0.0.2, the legacy ones on 127.0.0.5) with certificates made here. In the same run:
  1. the monitor: TlsCheck on all 20 through `run_monitor` (monitor.runner.execute under a semaphore; the
     scheduler takes its place when it lands),
  2. `python -m sslyze` with the same scan commands on the same 20, one invocation (sslyze's own batching),
  3. testssl.sh on the same 20, one after another as a user would (`full`: default checks; `quick`: -p -S -f -h).
Monitor and CLI alternate for --rounds rounds and the best of each counts; then the same for the 5 legacy servers.
The last lines are `ratio_vs_sslyze_cli=R`, `legacy_ratio_vs_sslyze_cli=L` and `ratio_vs_testssl=T` (monitor time /
peer time; below 1 is faster).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "checks")]

import legacy_servers as ls  # noqa: E402
import tls_servers as ts  # noqa: E402
from sqlalchemy import update  # noqa: E402
from test_tls_legacy import legacy_specs  # noqa: E402

from checks.base import Check  # noqa: E402
from checks.tls import TlsCheck, TlsConfig, TlsDetails  # noqa: E402
from checks.tls.scan import scan_commands  # noqa: E402
from monitor.cadence import Cadence  # noqa: E402
from monitor.models import CheckResult, CheckStatus, Target  # noqa: E402
from monitor.scheduler import Limits, Scheduler  # noqa: E402
from monitor.store.audit import Actor  # noqa: E402
from monitor.store.engine import make_engine  # noqa: E402
from monitor.store.registry import Registry  # noqa: E402
from monitor.store.schema import upgrade  # noqa: E402
from monitor.store.tables import CHECK_STATE  # noqa: E402
from monitor.store.work import WorkQueue  # noqa: E402


class _BenchDns:
    """The benchmark's DNS: its server names resolve to their loopback addresses, nothing else resolves."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = {name: [ip_address(address)] for name, address in names.items()}

    async def addresses(self, host: str) -> list[Any]:
        return self.names[host]

    async def txt(self, name: str) -> list[str]:
        return []


async def run_monitor(targets: Sequence[tuple[Target, TlsConfig]], concurrency: int = 10) -> list[CheckResult[Any]]:
    """The monitor's way: the servers registered as endpoints in a fresh store, all due now, and the real scheduler
    running the TLS check on them (global cap `concurrency`, one per host); results read back from the store."""
    with tempfile.TemporaryDirectory(prefix="posture-bench-") as workdir:
        engine = make_engine(f"sqlite+aiosqlite:///{workdir}/tls.db")
        await upgrade(engine)
        registry, actor, cadence = Registry(engine), Actor("bench"), Cadence(86_400)
        await registry.add_agency("bench", "Bench", actor)
        await registry.add_scope("bench", "posture.test", actor)
        await registry.add_scope("bench", "127.0.0.0/8", actor)  # the names resolve to loopback
        hosts = {}
        for target, cfg in targets:
            settings = {"tls": cfg.model_dump(mode="json", exclude_defaults=True)}
            record = await registry.add_endpoint(
                "bench", target.host, target.port, ["tls"], cadence, actor, check_settings=settings
            )
            hosts[record.id] = target.host
        async with engine.begin() as conn:
            await conn.execute(update(CHECK_STATE).values(next_due=datetime.now(UTC) - timedelta(seconds=1)))
        queue = WorkQueue(engine, "bench", cadence, lease_s=600)
        checks: dict[str, Check[Any, Any]] = {"tls": TlsCheck()}
        dns = _BenchDns({t.host: str(c.address) for t, c in targets})
        scheduler = Scheduler(queue, checks, {"tls": TlsConfig()}, Limits(concurrency=concurrency), resolver=dns)
        stop = asyncio.Event()
        task = asyncio.create_task(scheduler.run(stop))
        while scheduler.recorded < len(targets):
            await asyncio.sleep(0.05)
        stop.set()
        await task
        details = await queue.latest_details([(endpoint_id, "tls") for endpoint_id in hosts])
        await engine.dispose()
    return [
        CheckResult("tls", endpoint_id, CheckStatus.OK, datetime.now(UTC), 0.0, TlsDetails.model_validate(raw))
        for (endpoint_id, _), raw in details.items()
    ]


def bench_specs(pki: ts.Pki, stranger: ts.Pki) -> list[ts.ServerSpec]:
    specs = [s for s in ts.standard_specs(pki, stranger) if s.mode == "tls"]
    extra = [
        ts.spec_for("good2.posture.test", pki.leaf("good2.posture.test"), pki.intermediate, hsts=None),
        ts.spec_for(
            "legacy2.posture.test",
            pki.leaf("legacy2.posture.test", key=ts.rsa_key(2048)),
            pki.intermediate,
            min_version="TLSv1",
            max_version="TLSv1_1",
            ciphers=ts.LEGACY_CIPHERS,
        ),
    ]
    return (specs + extra)[:20]


Server = ts.RunningServer | ls.RunningLegacy


def sslyze_cli(servers: Sequence[Server], cfg: TlsConfig, ca_file: Path, out: Path) -> float:
    flags = sorted(f"--{c.value}" for c in scan_commands(cfg, port=443))  # the servers speak TLS from the first byte
    flags = [_CLI_FLAG.get(f, f) for f in flags]
    args = [sys.executable, "-m", "sslyze", "--quiet", "--json_out", str(out), "--certinfo_ca_file", str(ca_file)]
    args += flags + [f"{s.hostname}:{s.port}{{{s.host}}}" for s in servers]
    started = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    elapsed = time.perf_counter() - started
    results = json.loads(out.read_text())["server_scan_results"]
    completed = sum(r["scan_status"] == "COMPLETED" for r in results)
    if completed != len(servers):
        raise SystemExit(f"sslyze CLI completed only {completed} of {len(servers)} servers")
    return elapsed


# scan command value → CLI option, where they differ
_CLI_FLAG = {
    "--certificate_info": "--certinfo",
    "--ssl_2_0_cipher_suites": "--sslv2",
    "--ssl_3_0_cipher_suites": "--sslv3",
    "--tls_1_0_cipher_suites": "--tlsv1",
    "--tls_1_1_cipher_suites": "--tlsv1_1",
    "--tls_1_2_cipher_suites": "--tlsv1_2",
    "--tls_1_3_cipher_suites": "--tlsv1_3",
    "--openssl_ccs_injection": "--openssl_ccs",
    "--tls_compression": "--compression",
    "--session_renegotiation": "--reneg",
    "--tls_fallback_scsv": "--fallback",
    "--tls_extended_master_secret": "--ems",
}


def testssl_sequential(servers: Sequence[ts.RunningServer], ca_file: Path, mode: str, workdir: Path) -> float:
    binary = shutil.which("testssl") or shutil.which("testssl.sh")
    if binary is None:
        raise SystemExit("testssl.sh is not installed (Debian package testssl.sh)")
    options = [] if mode == "full" else ["-p", "-S", "-f", "-h"]
    started = time.perf_counter()
    for server in servers:
        assert server.host.startswith("127.")
        subprocess.run(
            [binary, "--quiet", "--color", "0", "--warnings", "off", "--nodns", "none", "--ip", server.host,
             "--add-ca", str(ca_file), *options, "--jsonfile", str(workdir / f"testssl-{server.hostname}.json"),
             f"{server.hostname}:{server.port}"],
            check=False, capture_output=True,
        )  # fmt: skip
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--testssl", choices=("full", "quick", "skip"), default="full")
    parser.add_argument("--rounds", type=int, default=3, help="monitor and sslyze CLI alternate; best round counts")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tls-bench-") as tmp:
        _bench(Path(tmp), args)


@dataclass
class Rounds:
    monitor_s: list[float]
    cli_s: list[float]
    monitor_cpu_s: list[float]
    cli_cpu_s: list[float]
    results: list[CheckResult[Any]]

    @property
    def ratio(self) -> float:
        return min(self.monitor_s) / min(self.cli_s)


def measure(
    servers: Sequence[Server], cfg: TlsConfig, ca_file: Path, workdir: Path, args: argparse.Namespace
) -> Rounds:
    """The monitor and sslyze's CLI in turn on the same servers, `args.rounds` times each."""
    targets = [(Target(s.hostname, s.port), cfg.model_copy(update={"address": _ip(s.host)})) for s in servers]
    rounds = Rounds([], [], [], [], [])
    for _ in range(args.rounds):
        started, cpu = time.perf_counter(), _cpu(resource.RUSAGE_SELF)
        rounds.results = asyncio.run(run_monitor(targets, args.concurrency))
        rounds.monitor_s.append(time.perf_counter() - started)
        rounds.monitor_cpu_s.append(_cpu(resource.RUSAGE_SELF) - cpu)
        cpu = _cpu(resource.RUSAGE_CHILDREN)  # the servers keep running: only the finished CLI counts
        rounds.cli_s.append(sslyze_cli(servers, cfg, ca_file, workdir / "sslyze.json"))
        rounds.cli_cpu_s.append(_cpu(resource.RUSAGE_CHILDREN) - cpu)
    ok = sum(r.status is CheckStatus.OK for r in rounds.results)
    if ok != len(servers):
        raise SystemExit(f"only {ok} of {len(servers)} servers were scanned: the figures would mean nothing")
    return rounds


def _bench(workdir: Path, args: argparse.Namespace) -> None:
    pki = ts.make_pki(workdir)
    stranger = ts.make_pki(workdir, "Stranger Root")
    cfg = TlsConfig(ca_file=pki.ca_file, profiles=("bsi_tr_02102_2", "mozilla_intermediate"))
    with ts.running(bench_specs(pki, stranger), workdir) as running:
        servers = list(running.values())
        standard = measure(servers, cfg, pki.ca_file, workdir, args)
        testssl_s = testssl_sequential(servers, pki.ca_file, args.testssl, workdir) if args.testssl != "skip" else 0.0
    with ls.running(legacy_specs(pki)[:5], workdir) as running_legacy:
        legacy_servers = list(running_legacy.values())
        legacy = measure(legacy_servers, cfg, pki.ca_file, workdir, args)

    def figures(rounds: list[float]) -> str:
        return ",".join(f"{t:.2f}" for t in rounds)

    print(f"servers={len(servers)}")
    print(f"monitor_ok={len(standard.results)}")
    print(f"grades={','.join(sorted(r.details.grade for r in standard.results if r.details is not None))}")
    print(f"monitor_runs_s={figures(standard.monitor_s)}")
    print(f"sslyze_cli_runs_s={figures(standard.cli_s)}")
    # CPU seconds (user + system) tell the work apart from the waiting on a shared machine; the CLI's include
    # its interpreter start and imports
    print(f"monitor_cpu_s={figures(standard.monitor_cpu_s)}")
    print(f"sslyze_cli_cpu_s={figures(standard.cli_cpu_s)}")
    print(f"legacy_servers={len(legacy_servers)}")
    print(f"legacy_findings={';'.join(sorted(_legacy_keys(r) for r in legacy.results))}")
    print(f"legacy_monitor_runs_s={figures(legacy.monitor_s)}")
    print(f"legacy_sslyze_cli_runs_s={figures(legacy.cli_s)}")
    print(f"monitor_s={min(standard.monitor_s):.2f}")
    print(f"sslyze_cli_s={min(standard.cli_s):.2f}")
    print(f"legacy_monitor_s={min(legacy.monitor_s):.2f}")
    print(f"legacy_sslyze_cli_s={min(legacy.cli_s):.2f}")
    print(f"testssl_mode={args.testssl}")
    print(f"testssl_s={testssl_s:.2f}")
    print(f"ratio_vs_sslyze_cli={standard.ratio:.3f}")
    print(f"legacy_ratio_vs_sslyze_cli={legacy.ratio:.3f}")
    print(f"ratio_vs_testssl={(min(standard.monitor_s) / testssl_s) if testssl_s else float('nan'):.3f}")


def _legacy_keys(result: CheckResult[Any]) -> str:
    legacy = ("tls.protocol.sslv3", "tls.cipher.rc4", "tls.cipher.3des", "tls.cipher.null", "tls.cipher.anonymous")
    details = result.details
    assert isinstance(details, TlsDetails)
    return ",".join(sorted(k for k in legacy if _raises(details, k)))


def _raises(details: TlsDetails, key: str) -> bool:
    from checks.tls.evaluate import evaluate

    return any(o.key == key for o in evaluate(details, TlsConfig(profiles=()), datetime.now(UTC)))


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _ip(host: str) -> Any:
    return ip_address(host)


if __name__ == "__main__":
    main()

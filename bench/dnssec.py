"""Benchmark: the dnssec check on 1,000 signed domains through the scheduler, against BIND's delv.

A private DNSSEC lab on loopback (tests/dns_lab.py): knotd serves `dnssec.test.` and N signed child zones, an unbound
validates with a trust anchor for `dnssec.test.` only. The domains are registered in a SQLite store, all due now, and
the scheduler runs the real `dnssec` check on every one through the real store (claims, leases, results, findings),
asking the validating unbound; then `delv +vtrace` (Debian's bind9-dnsutils) validates each name's SOA itself with
the same trust anchor, 8 at a time, against a second unbound of the same lab started cold (no answer cached by the
first run). Both runs start with an empty resolver cache.

Prints `dnssec_domains_per_s` (≥ 200 is the target), `delv_domains_per_s` and `ratio_vs_delv` (our time over
delv's; ≤ 0.5 is the target) last.
Usage: python bench/dnssec.py [--domains N] [--concurrency C] [--delv-workers W]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seeding import run_scheduled

from checks import REGISTRY
from checks.base import DNS_NAMESERVERS
from monitor.models import DOMAIN_PORT
from tests.dns_lab import PARENT, DnsLab, binary, dns_lab, signed_zones

CHECK = "dnssec"


async def ours(lab: DnsLab, names: list[str], concurrency: int) -> tuple[float, Counter[str]]:
    """The scheduler's time to run and record the check on every domain, and the verdicts it recorded."""
    config = REGISTRY[CHECK].config_model()
    scopes = [("domain", PARENT.rstrip("."))]
    resources = {DNS_NAMESERVERS: (lab.resolver,)}
    run = await run_scheduled(CHECK, config, scopes, names, DOMAIN_PORT, concurrency=concurrency, resources=resources)
    elapsed, rows = run.elapsed_s, run.rows
    verdicts: Counter[str] = Counter(
        row.status if row.status != "ok" else str((row.details or {}).get("verdict", "ok")) for row in rows
    )
    return elapsed, verdicts


async def delv(lab: DnsLab, names: list[str], workers: int) -> tuple[float, int]:
    """delv's time to validate every name's SOA from a cold resolver, `workers` at a time; how many validated."""
    address, port = lab.start_resolver()
    key_tag, algorithm, digest_type, digest = lab.trust_anchor.split(" DS ", 1)[1].split()
    anchors = Path(lab.folder) / "delv-anchors.conf"
    anchors.write_text(f'trust-anchors {{ "{PARENT}" static-ds {key_tag} {algorithm} {digest_type} "{digest}"; }};\n')
    program = binary("delv")
    if program is None:
        raise SystemExit("delv not found: install Debian's bind9-dnsutils (`make deps`)")
    gate = asyncio.Semaphore(workers)
    validated = 0

    async def one(name: str) -> None:
        nonlocal validated
        async with gate:
            process = await asyncio.create_subprocess_exec(
                program, f"@{address}", "-p", str(port), "-a", str(anchors), f"+root={PARENT}", "+vtrace",
                name, "SOA",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            output, _ = await process.communicate()
            if b"; fully validated" in output:
                validated += 1

    started = time.perf_counter()
    await asyncio.gather(*(one(name) for name in names))
    return time.perf_counter() - started, validated


async def main(domains: int, concurrency: int, workers: int) -> None:
    started = time.perf_counter()
    with dns_lab(signed_zones(domains)) as lab:
        print(f"lab of {domains} signed zones ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        names = lab.domains()
        elapsed, verdicts = await ours(lab, names, concurrency)
        print(f"ours: {elapsed:.2f} s, {dict(verdicts)}", file=sys.stderr)
        delv_elapsed, validated = await delv(lab, names, workers)
        print(f"delv: {delv_elapsed:.2f} s, {validated} fully validated", file=sys.stderr)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"domains={domains}")
    print(f"concurrency={concurrency}")
    print(f"secure={verdicts.get('secure', 0)}")
    print(f"delv_fully_validated={validated}")
    print(f"elapsed_s={elapsed:.2f}")
    print(f"delv_elapsed_s={delv_elapsed:.2f}")
    print(f"rss_mb={rss_mb:.0f}")
    print(f"delv_domains_per_s={domains / delv_elapsed:.0f}")
    print(f"dnssec_domains_per_s={domains / elapsed:.0f}")
    print(f"ratio_vs_delv={elapsed / delv_elapsed:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--domains", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--delv-workers", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(main(args.domains, args.concurrency, args.delv_workers))

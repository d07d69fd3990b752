"""Benchmark: the web check on 50 local sites through the scheduler, against the MDN HTTP Observatory CLI.

A web lab on loopback (tests/web_lab.py): one nginx serves 50 sites, each on its own 127.0.1.x address with HTTPS on
443 (a certificate from the lab's CA) and a redirect on port 80; the sites vary their headers, cookies and
security.txt like the test sites. The endpoints are registered in a SQLite store, all due now, and the scheduler runs
the real `web` check on every one through the real store (claims, leases, results, findings). Then the Observatory
CLI (`.ci/install-observatory`) scans the same 50 sites one after another, as a user would, with the lab's CA.

Prints `web_sites_per_s`, `observatory_sites_per_s` and `ratio_vs_observatory` (our time over the Observatory's;
≤ 0.5 is the target) last.
Usage: python bench/web.py [--sites N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seeding import run_scheduled

from checks import REGISTRY
from tests.checks.web_sites import sites as test_sites
from tests.observatory_peer import observatory_argv, observatory_env, parse
from tests.web_lab import Site, WebLab, web_lab

CHECK = "web"
FIRST = (127, 0, 1, 150)


def bench_sites(count: int) -> list[Site]:
    """`count` sites cycling through the test sites' variants; a redirect to another host becomes a plain redirect
    (the Observatory would follow it to an address where nothing answers, and the grades would differ)."""
    variants = [replace(site, http="redirect") if site.http.startswith("https://") else site for site in test_sites()]
    return [replace(variants[i % len(variants)], name=f"site{i}") for i in range(count)]


async def ours(lab: WebLab, addresses: list[str], concurrency: int) -> tuple[float, Counter[str]]:
    """The scheduler's time to run and record the check on every site, and the grades it recorded."""
    config = REGISTRY[CHECK].config_model.model_validate({"ca_file": str(lab.ca_file)})
    scopes = [("cidr", "127.0.1.0/24")]
    run = await run_scheduled(CHECK, config, scopes, addresses, 443, concurrency=concurrency, flush_size=25)
    elapsed, rows = run.elapsed_s, run.rows
    grades: Counter[str] = Counter(
        row.status if row.status != "ok" else str((row.details or {}).get("grade")) for row in rows
    )
    return elapsed, grades


def observatory_run(lab: WebLab, addresses: list[str]) -> tuple[float, Counter[str]]:
    """The Observatory CLI on every site, one after another."""
    grades: Counter[str] = Counter()
    started = time.perf_counter()
    for address in addresses:
        done = subprocess.run(
            observatory_argv(address), capture_output=True, text=True, timeout=60,
            env=observatory_env(lab.ca_file), check=False,
        )  # fmt: skip
        grades[parse(done.stdout).grade] += 1
    return time.perf_counter() - started, grades


async def main(count: int, concurrency: int) -> None:
    with web_lab(bench_sites(count), first=FIRST) as lab:
        addresses = list(lab.addresses.values())
        elapsed, grades = await ours(lab, addresses, concurrency)
        print(f"ours: {elapsed:.2f} s, {dict(grades)}", file=sys.stderr)
        peer_elapsed, peer_grades = observatory_run(lab, addresses)
        print(f"observatory: {peer_elapsed:.2f} s, {dict(peer_grades)}", file=sys.stderr)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"sites={count}")
    print(f"concurrency={concurrency}")
    print(f"grades_equal={int(grades == peer_grades)}")
    print(f"elapsed_s={elapsed:.2f}")
    print(f"observatory_elapsed_s={peer_elapsed:.2f}")
    print(f"rss_mb={rss_mb:.0f}")
    print(f"observatory_sites_per_s={count / peer_elapsed:.1f}")
    print(f"web_sites_per_s={count / elapsed:.1f}")
    print(f"ratio_vs_observatory={elapsed / peer_elapsed:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(main(args.sites, args.concurrency))

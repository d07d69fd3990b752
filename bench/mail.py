"""Benchmark: the mail check on 500 domains through the scheduler, against checkdmarc's CLI on the same domains.

A DNS lab on loopback (tests/dns_lab.py) serves 500 unsigned child zones of `dnssec.test.` (checkdmarc 5.17 cannot
validate DNSSEC next to cryptography < 50, docs/mail-vs-checkdmarc.md), each with an MX, an SPF record with two
includes (one of its own, one shared), DMARC `p=reject` with `rua`, and TLS-RPT; and a zone `mailhosts` that names
20 SMTP servers (aiosmtpd with STARTTLS, a certificate for all 20 names from a private CA, in a process of their own) on
127.0.2.10-29 port 25, shared by the domains (25 each). Then:

- ours: the domains are registered in a SQLite store (scope: `dnssec.test` and 127.0.2.0/24), all due now, and the
  real scheduler runs the real `mail` check on every one (DNS policy, STARTTLS on every MX, the CA as the agency's
  bundle) through the real store, asking one lab unbound (cold);
- checkdmarc: its CLI once with all 500 domains (a file of names), STARTTLS testing on, the same CA
  (`SSL_CERT_FILE`), against a second lab unbound on port 53 (cold; it cannot ask another port), in the mount
  namespace and under the loopback guard of `tests/checkdmarc_peer.py`.

Prints `mail_domains_per_s`, `checkdmarc_domains_per_s` and `ratio_vs_checkdmarc` (our time over checkdmarc's;
≤ 0.25 is the target) last.
Usage: python bench/mail.py [--domains N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import resource
import ssl
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import trustme
from aiosmtpd.controller import Controller
from seeding import cpu_s, run_scheduled

from checks import REGISTRY
from checks.base import DNS_NAMESERVERS
from monitor.models import DOMAIN_PORT
from tests.checkdmarc_peer import PeerRun, run_checkdmarc
from tests.dns_lab import PARENT, DnsLab, Zone, dns_lab

CHECK = "mail"
SMTP_SERVERS = 20
MAILHOSTS = "mailhosts"
SMTP_NET = "127.0.2.0/24"


def mx_name(index: int) -> str:
    return f"mx{index:02d}.{MAILHOSTS}.{PARENT}".rstrip(".")


def mx_address(index: int) -> str:
    return f"127.0.2.{10 + index}"


def zones(count: int) -> list[Zone]:
    """`count` mail domains (m0000, m0001, ...) and the zone of their MX hosts."""
    shared = f"_spf.{MAILHOSTS}.{PARENT}"
    hosts = [f"mx{i:02d} A {mx_address(i)}" for i in range(SMTP_SERVERS)]
    out = [Zone(MAILHOSTS, signed=False, records=(*hosts, f'_spf TXT "v=spf1 ip4:{SMTP_NET} -all"'))]
    for i in range(count):
        label = f"m{i:04d}"
        name = f"{label}.{PARENT}".rstrip(".")
        records = (
            f"@ MX 10 {mx_name(i % SMTP_SERVERS)}.",
            f'@ TXT "v=spf1 mx include:_spf.{name} include:{shared} -all"',
            '_spf TXT "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"',
            f'_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@{name}"',
            f'_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@{name}"',
        )
        out.append(Zone(label, signed=False, records=records))
    return out


class _Sink:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


def _serve_smtp(chain_and_key: bytes, ready: Any, stop: Any) -> None:
    """In a process of its own: the 20 MX hosts until `stop` is set."""
    with tempfile.TemporaryDirectory(prefix="bench-smtp-") as folder:
        pem = Path(folder) / "mx.pem"
        pem.write_bytes(chain_and_key)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(pem)
    with contextlib.ExitStack() as stack:
        for i in range(SMTP_SERVERS):
            controller = Controller(
                _Sink(), hostname=mx_address(i), port=25, tls_context=context, server_hostname=mx_name(i)
            )
            controller.start()
            stack.callback(controller.stop)
        ready.set()
        stop.wait()


@contextlib.contextmanager
def smtp_servers(ca: trustme.CA) -> Iterator[None]:
    """The 20 MX hosts: aiosmtpd offering STARTTLS with one certificate for every MX name, in a separate process,
    so that the servers' side of each handshake does not compete with the scheduler for this process's GIL."""
    leaf = ca.issue_cert(*(mx_name(i) for i in range(SMTP_SERVERS)))
    spawn = multiprocessing.get_context("spawn")
    ready, stop = spawn.Event(), spawn.Event()
    process = spawn.Process(target=_serve_smtp, args=(leaf.private_key_and_cert_chain_pem.bytes(), ready, stop))
    process.start()
    try:
        if not ready.wait(60):
            raise RuntimeError("the SMTP servers did not start")
        yield
    finally:
        stop.set()
        process.join(30)
        if process.is_alive():
            process.kill()


def peer_counts(run: PeerRun) -> Counter[str]:
    """How many domains checkdmarc found with valid SPF and DMARC, and with STARTTLS on every MX."""
    counts: Counter[str] = Counter()
    for result in run.results.values():
        counts["spf_valid"] += bool(result["spf"].get("valid"))
        counts["dmarc_valid"] += bool(result["dmarc"].get("valid"))
        hosts = result["mx"].get("hosts", [])
        counts["starttls"] += bool(hosts) and all(host.get("starttls") for host in hosts)
    return counts


def checkdmarc(lab: DnsLab, names: list[str], ca_file: Path) -> tuple[float, Counter[str]]:
    resolver = lab.start_resolver(port=53)
    before = cpu_s(resource.RUSAGE_CHILDREN)
    run = run_checkdmarc(names, resolver, skip_tls=False, ca_file=ca_file, deadline_s=3600)
    cpu = cpu_s(resource.RUSAGE_CHILDREN) - before
    if run.blocked:
        raise SystemExit(f"checkdmarc tried to leave loopback: {run.blocked[:5]}")
    if len(run.results) != len(names):
        raise SystemExit(f"checkdmarc returned {len(run.results)} results for {len(names)} domains")
    counts = peer_counts(run)
    counts["cpu_ms"] = round(cpu * 1000)
    return run.elapsed_s, counts


def verdict(status: str, details: dict[str, Any] | None) -> list[str]:
    """What one stored result says: its status, SPF and DMARC valid, a verified STARTTLS on every MX."""
    if status != "ok" or not details:
        return [status]
    policy = details["policy"]
    out = ["ok"]
    spf, dmarc = policy["spf"], policy["dmarc"]
    out += ["spf_valid"] if spf["status"] == "found" and not spf["problems"] else []
    out += ["dmarc_valid"] if dmarc["status"] == "found" and not dmarc["problems"] else []
    # as checkdmarc's test: the handshake completed with a chain to the CA and the MX name in the certificate
    probes = [probe.get("starttls") or {} for probe in details.get("mx") or []]
    verified = [tls.get("upgraded") and tls.get("trusted") and tls.get("name_matches") for tls in probes]
    out += ["starttls"] if verified and all(verified) else []
    return out


async def ours(lab: DnsLab, names: list[str], concurrency: int, ca_file: Path) -> tuple[float, Counter[str]]:
    """The scheduler's time to run and record the mail check on every domain, and the verdicts it recorded."""
    config = REGISTRY[CHECK].config_model(ca_file=ca_file)
    scopes = [("domain", PARENT.rstrip(".")), ("cidr", SMTP_NET)]
    resources = {DNS_NAMESERVERS: (lab.resolver,)}
    run = await run_scheduled(CHECK, config, scopes, names, DOMAIN_PORT, concurrency=concurrency, resources=resources)
    elapsed, rows, cpu = run.elapsed_s, run.rows, run.cpu_s
    verdicts = Counter(key for row in rows for key in verdict(row.status, row.details))
    verdicts["cpu_ms"] = round(cpu * 1000)
    return elapsed, verdicts


async def main(domains: int, concurrency: int) -> None:
    started = time.perf_counter()
    ca = trustme.CA()
    with tempfile.TemporaryDirectory(prefix="posture-bench-mail-") as folder:
        ca_file = Path(folder) / "agency-ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        with dns_lab(zones(domains)) as lab, smtp_servers(ca):
            print(f"lab of {domains} mail domains ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
            names = [name for name in lab.domains() if not name.startswith(MAILHOSTS)]
            elapsed, verdicts = await ours(lab, names, concurrency, ca_file)
            print(f"ours: {elapsed:.2f} s, {dict(verdicts)}", file=sys.stderr)
            peer_elapsed, counts = checkdmarc(lab, names, ca_file)
            print(f"checkdmarc: {peer_elapsed:.2f} s, {dict(counts)}", file=sys.stderr)
    report(domains, concurrency, elapsed, verdicts, peer_elapsed, counts)


def report(
    domains: int, concurrency: int, elapsed: float, verdicts: Counter[str], peer_elapsed: float, counts: Counter[str]
) -> None:
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"domains={domains}")
    print(f"concurrency={concurrency}")
    print(f"smtp_servers={SMTP_SERVERS}")
    for key, value in sorted(verdicts.items()):
        print(f"ours_{key}={value}")
    for key, value in sorted(counts.items()):
        print(f"checkdmarc_{key}={value}")
    # CPU per domain: ours is this process (scheduler, store, check, its threads), checkdmarc's its process;
    # the servers (unbound, knotd, the SMTP servers) are neither's
    print(f"ours_cpu_ms_per_domain={verdicts['cpu_ms'] / domains:.2f}")
    print(f"checkdmarc_cpu_ms_per_domain={counts['cpu_ms'] / domains:.2f}")
    print(f"elapsed_s={elapsed:.2f}")
    print(f"checkdmarc_elapsed_s={peer_elapsed:.2f}")
    print(f"rss_mb={rss_mb:.0f}")
    print(f"checkdmarc_domains_per_s={domains / peer_elapsed:.1f}")
    print(f"mail_domains_per_s={domains / elapsed:.0f}")
    print(f"ratio_vs_checkdmarc={elapsed / peer_elapsed:.3f}")


def _args() -> Any:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--domains", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=64)
    return parser.parse_args()


if __name__ == "__main__":
    args = _args()
    asyncio.run(main(args.domains, args.concurrency))

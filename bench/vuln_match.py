"""Benchmark of the patch check's matching, re-judgement and feed loading (issue 5: Speed and memory).

1. match_per_s: 10,000 service fingerprints judged against the full KEV catalog and every bundled NVD record
   (CVE ranges, KEV flags, EOL cycles: the check's whole `judge`), one fingerprint at a time.
2. reeval_s: 10,000 endpoints with stored ports details in SQLite; after a KEV update is stored, the time to load
   the database from the tables and re-judge every stored fingerprint (`rejudge_stored`).
3. load_rss_mb: a 50 MB NVD API 2.0 file (generated in a temporary directory from the bundled records, with new
   CVE ids) parsed and stored by a fresh process; its peak RSS.

Run: .venv/bin/python bench/vuln_match.py   (last lines: match_per_s=N, reeval_s=S, load_rss_mb=M)
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from checks.patches import PatchCheck, PatchConfig
from checks.patches.check import judge
from checks.patches.fingerprints import Fingerprint, from_nmap_port
from checks.patches.snapshot import SEED_DIR, Snapshot, load_dir, to_memory
from monitor.store.engine import make_engine
from monitor.store.schema import upgrade
from monitor.store.store import Store
from monitor.store.vulndb import VulnStore
from monitor.usecases.rejudging import Rejudging
from monitor.vulndb import load_database, toolkit_of
from tests.patches.stored import ports_details, store_endpoints

COUNT = 10_000
NVD_BYTES = 50 * 1024 * 1024
PRODUCTS = [
    ("OpenSSH", "cpe:/a:openbsd:openssh", ["7.4", "7.9p1", "8.2p1", "8.9p1", "9.3p1", "9.6p1", "9.8p1", "6.6.1p1"]),
    ("Apache httpd", "cpe:/a:apache:http_server", ["2.4.49", "2.4.50", "2.4.41", "2.4.62", "2.2.34"]),
    ("nginx", "cpe:/a:igor_sysoev:nginx", ["1.18.0", "1.20.0", "1.20.1", "1.24.0", "1.4.0"]),
    ("Exim smtpd", "cpe:/a:exim:exim", ["4.87", "4.92", "4.94.2", "4.96"]),
    ("vsftpd", "cpe:/a:vsftpd:vsftpd", ["2.3.4", "3.0.3", "3.0.5"]),
    ("ProFTPD", "cpe:/a:proftpd:proftpd", ["1.3.5", "1.3.5b", "1.3.6"]),
    ("Dovecot imapd", "cpe:/a:dovecot:dovecot", ["2.2.36", "2.3.4", "2.3.21"]),
    ("Apache Tomcat", "cpe:/a:apache:tomcat", ["9.0.50", "10.1.20", "11.0.2"]),
    ("Microsoft IIS httpd", "cpe:/a:microsoft:internet_information_services", ["6.0", "10.0"]),
    ("Postfix smtpd", "cpe:/a:postfix:postfix", ["3.4.14"]),
]


def random_port(rng: random.Random) -> dict[str, object]:
    name, cpe, versions = rng.choice(PRODUCTS)
    version = rng.choice(versions)
    extra = rng.choice(["", "", "", "Debian", "Ubuntu"])
    return {
        "port": rng.choice([21, 22, 25, 80, 443, 993, 8080]),
        "service": "x",
        "product": name,
        "version": version,
        "extrainfo": extra,
        "cpes": [f"{cpe}:{version}"],
    }


def bench_match(rng: random.Random) -> float:
    db = to_memory(load_dir(SEED_DIR))
    fingerprints: list[Fingerprint] = []
    for _ in range(COUNT):
        fingerprint = from_nmap_port(random_port(rng))
        assert fingerprint is not None
        fingerprints.append(fingerprint)
    cfg, today = PatchConfig(), date(2026, 11, 27)
    started = time.perf_counter()
    found = 0
    for fingerprint in fingerprints:
        found += len(judge([fingerprint], db, cfg, today))
    elapsed = time.perf_counter() - started
    print(f"matched {COUNT} fingerprints in {elapsed:.3f} s ({found} observations)")
    return COUNT / elapsed


async def bench_reeval(rng: random.Random, workdir: Path) -> tuple[float, float]:
    engine = make_engine(f"sqlite+aiosqlite:///{workdir}/bench.db")
    try:
        await upgrade(engine)
        store = VulnStore(engine)
        seed = load_dir(SEED_DIR)
        await store.save(seed)
        details = [ports_details(*(random_port(rng) for _ in range(rng.randint(1, 3)))) for _ in range(COUNT)]
        await store_endpoints(engine, details)
        toolkit = toolkit_of({"patch": PatchCheck})
        assert toolkit is not None
        started = time.perf_counter()
        await store.save(Snapshot(kev=seed.kev, origin="bench KEV update"))  # a KEV-only update
        stored = time.perf_counter()
        db = await load_database(store, toolkit)
        check = PatchCheck()
        rejudging = Rejudging(Store(engine), None, {check.name: check}, {check.name: PatchConfig()}, {"vulndb": db})
        results = await rejudging.results(check.name)
        done = time.perf_counter()
        kev = sum(1 for r in results for o in r.observations if o.detail.get("kev"))
        print(f"KEV update stored in {stored - started:.3f} s; re-judged {len(results)} endpoints ({kev} KEV findings)")
        assert len(results) == COUNT
        return done - stored, stored - started
    finally:
        await engine.dispose()


def write_big_nvd(folder: Path) -> int:
    records = [json.loads(p.read_bytes()) for p in sorted((SEED_DIR / "nvd").glob("*.json"))]
    nvd = folder / "nvd"
    nvd.mkdir(parents=True)
    path = nvd / "api-page.json"
    written = count = 0
    with path.open("w", encoding="utf-8") as out:
        out.write('{"resultsPerPage": 0, "startIndex": 0, "totalResults": 0, "format": "NVD_CVE", "version": "2.0", ')
        out.write('"vulnerabilities": [')
        while written < NVD_BYTES:
            record = dict(records[count % len(records)])
            record["id"] = f"CVE-2099-{100000 + count}"
            text = json.dumps({"cve": record}, indent=2)
            out.write(("," if count else "") + text)
            written += len(text)
            count += 1
        out.write("]}")
    return count


def child_load(folder: str) -> None:
    """In a fresh process: parse the big file and store it; print the peak RSS."""

    async def run() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{folder}/load.db")
        try:
            await upgrade(engine)
            snapshot = load_dir(Path(folder))
            await VulnStore(engine).save(snapshot)
            assert snapshot.nvd is not None
            print(f"loaded {len(snapshot.nvd)} records", file=sys.stderr)
        finally:
            await engine.dispose()

    asyncio.run(run())
    # VmHWM: this process image's peak RSS (ru_maxrss would also count the parent's pages from before exec)
    status = Path("/proc/self/status").read_text()
    peak_kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), None)
    print((peak_kb or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024)


def bench_load(workdir: Path) -> float:
    folder = workdir / "big"
    records = write_big_nvd(folder)
    size = (folder / "nvd" / "api-page.json").stat().st_size
    print(f"generated NVD file: {size / 1e6:.1f} MB, {records} records")
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child-load", str(folder)], capture_output=True, text=True, check=True
    )
    print(done.stderr.strip() + f" in {time.perf_counter() - started:.1f} s")
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child-load":
        child_load(sys.argv[2])
        return
    rng = random.Random(5)
    with tempfile.TemporaryDirectory(prefix="posture-vuln-bench-") as tmp:
        workdir = Path(tmp)
        match_per_s = bench_match(rng)
        reeval_s, _ = asyncio.run(bench_reeval(rng, workdir))
        rss = bench_load(workdir)
    print(f"match_per_s={match_per_s:.0f}")
    print(f"reeval_s={reeval_s:.2f}")
    print(f"load_rss_mb={rss:.0f}")


if __name__ == "__main__":
    main()

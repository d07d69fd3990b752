"""checkdmarc's CLI as a peer: run on lab domains, pointed at the lab's resolver, never beyond loopback.

checkdmarc takes `--nameserver ADDRESS` but no port: dnspython's resolver asks port 53, and its DNSSEC and TLSA
questions (`dns.query.tcp`) too. So the lab starts one more unbound on port 53 of a random 127.x address
(`DnsLab.start_resolver(port=53)`). checkdmarc also resolves names through the system (smtplib for STARTTLS,
requests for MTA-STS policies): the run happens in a private mount namespace (`unshare --mount`, we run as root)
where /etc/resolv.conf names that same unbound, so those questions stay on loopback too; and
`tests/checkdmarc_guard.py` refuses and records any socket to an address outside loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GUARD = Path(__file__).with_name("checkdmarc_guard.py")


@dataclass(frozen=True)
class PeerRun:
    """checkdmarc's result per domain (its JSON, one object each), its wall-clock time, and blocked sockets."""

    results: dict[str, dict[str, Any]]
    elapsed_s: float
    blocked: tuple[str, ...]
    stderr: str


def _tool(name: str) -> str:
    found = shutil.which(name) or next(
        (str(Path(d) / name) for d in ("/usr/bin", "/bin", "/usr/sbin") if (Path(d) / name).exists()), None
    )
    if found is None:
        raise RuntimeError(f"{name} not found: the checkdmarc peer runs in a mount namespace (util-linux)")
    return found


def run_checkdmarc(
    domains: list[str],
    resolver: tuple[str, int],
    *,
    skip_tls: bool = True,
    ca_file: Path | None = None,
    timeout_s: float = 2.0,
    deadline_s: float = 600.0,
    nameserver: str | None = None,
) -> PeerRun:
    """One checkdmarc CLI invocation on every domain (a file of names, as a user would pass many), JSON output.

    `ca_file`: the CA checkdmarc's STARTTLS test trusts (`SSL_CERT_FILE`, read by Python's default SSL context).
    `nameserver`: what `--nameserver` says, when not the resolver's address (the guard's own test only).
    """
    address, port = resolver
    if port != 53:
        raise ValueError(f"checkdmarc asks port 53 only; start the lab resolver with port=53, not {port}")
    try:
        import checkdmarc
    except ImportError as err:
        raise RuntimeError("checkdmarc is not installed: pip install -e '.[dev]'") from err
    with tempfile.TemporaryDirectory(prefix="checkdmarc-peer-") as folder:
        work = Path(folder)
        (work / "resolv.conf").write_text(f"nameserver {address}\noptions timeout:2 attempts:1\n")
        (work / "domains.txt").write_text("".join(f"{name}\n" for name in domains))
        blocked_log = work / "blocked.log"
        blocked_log.touch()
        arguments = ["--nameserver", nameserver or address, "--timeout", str(timeout_s), "--format", "json"]
        if skip_tls:
            arguments.append("--skip-tls")
        names = [str(work / "domains.txt")] if len(domains) > 1 else list(domains)
        argv = [
            _tool("unshare"), "--mount", "--propagation", "private",
            "sh", "-c", 'mount --bind "$0" /etc/resolv.conf && exec "$@"', str(work / "resolv.conf"),
            sys.executable, str(GUARD), str(blocked_log), *arguments, *names,
        ]  # fmt: skip
        env = {key: value for key, value in os.environ.items() if not key.startswith(("SSL_CERT", "REQUESTS_CA"))}
        if ca_file is not None:
            env["SSL_CERT_FILE"] = str(ca_file)
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=deadline_s, check=False)
        elapsed = time.perf_counter() - started
        blocked = tuple(line for line in blocked_log.read_text().splitlines() if line)
    if done.returncode != 0 and not (nameserver and blocked):
        raise RuntimeError(f"checkdmarc {checkdmarc.__version__} failed ({done.returncode}): {done.stderr[-2000:]}")
    parsed = json.loads(done.stdout)
    items = parsed if isinstance(parsed, list) else [parsed]
    return PeerRun({item["domain"]: item for item in items}, elapsed, blocked, done.stderr)


@dataclass(frozen=True)
class PeerVerdict:
    """checkdmarc's verdict on one domain in our finding keys where one fits, and its other messages verbatim."""

    keys: frozenset[str]
    messages: tuple[str, ...]  # warnings (and errors) no key of ours names, prefixed with the section
    spf_all: str | None  # its parsed `all` result: pass, neutral, softfail, fail (None without a valid record)
    dmarc_location: str | None  # where it found the DMARC record


def _missing_or_invalid(section: dict[str, Any], key: str, missing: str) -> set[str]:
    if section.get("valid"):
        return set()
    return {f"{key}.missing" if missing in str(section.get("error", "")) else f"{key}.invalid"}


def peer_verdict(result: dict[str, Any]) -> PeerVerdict:
    """Translate checkdmarc's JSON for one domain: its errors become our keys (missing or invalid, too many
    lookups), and the two DMARC warnings with an equivalent (p=none, no rua) too. The `mx` section (reverse DNS,
    STARTTLS) and BIMI are not compared. Matching its English messages is all its output allows."""
    keys: set[str] = set()
    messages: list[str] = []
    spf = result["spf"]
    if not spf.get("valid") and "maximum DNS lookups" in str(spf.get("error", "")):
        keys.add("mail.spf.too_many_lookups")
    else:
        keys |= _missing_or_invalid(spf, "mail.spf", "does not exist")
    messages += [f"spf: {warning}" for warning in spf.get("warnings", [])]
    dmarc = result["dmarc"]
    keys |= _missing_or_invalid(dmarc, "mail.dmarc", "does not exist")
    for warning in dmarc.get("warnings", []):
        inherited = dmarc.get("location") not in (None, result["domain"])
        if warning.startswith("A p tag value of none") or (inherited and warning.startswith("An sp tag value of none")):
            keys.add("mail.dmarc.policy_none")  # the policy that applies: sp for a subdomain (RFC 7489 §6.6.3)
        elif warning.startswith("rua tag"):
            keys.add("mail.dmarc.no_rua")
        else:
            messages.append(f"dmarc: {warning}")
    tlsrpt = result["smtp_tls_reporting"]
    keys |= _missing_or_invalid(tlsrpt, "mail.tlsrpt", "does not exist")
    messages += [f"tlsrpt: {warning}" for warning in tlsrpt.get("warnings", [])]
    sts = result["mta_sts"]
    keys |= _missing_or_invalid(sts, "mail.mta_sts", "record does not exist")
    messages += [f"mta_sts: {warning}" for warning in sts.get("warnings", [])]
    parsed = spf.get("parsed") or {}
    return PeerVerdict(frozenset(keys), tuple(messages), parsed.get("all"), dmarc.get("location"))

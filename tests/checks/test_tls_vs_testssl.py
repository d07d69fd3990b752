"""Peer comparison: testssl.sh (Debian package) and the TLS check look at the same loopback servers.

testssl's JSON is translated into our finding keys for the properties both tools judge; the two views must agree
case by case. Every known difference is explained in docs/tls-vs-testssl.md.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import legacy_servers as ls
import pytest
import tls_servers as ts
from test_tls_legacy import legacy_specs

from checks.base import CheckContext
from checks.tls import TlsCheck, TlsConfig
from monitor.models import CheckStatus, Target
from monitor.runner import execute

TESTSSL = shutil.which("testssl") or shutil.which("testssl.sh")
# `make test` installs testssl.sh (.ci/install-deps); the skip only protects a hand-run subset on a bare machine.
# testssl takes a minute for the servers of the first case, which the module fixture starts: a longer deadline.
pytestmark = [
    pytest.mark.skipif(TESTSSL is None, reason="Debian package testssl.sh is not installed"),
    pytest.mark.timeout(400),
]

CASES = ("good", "expired", "selfsigned", "nointermediate", "wronghost", "legacy", "weakdh")
# the keys both tools judge with these testssl options (-p -S -f -h)
COMPARED = {
    "tls.cert.expired", "tls.cert.self_signed", "tls.cert.untrusted_root", "tls.cert.incomplete_chain",
    "tls.cert.hostname_mismatch", "tls.cert.weak_key", "tls.cert.weak_signature",
    "tls.protocol.sslv2", "tls.protocol.sslv3", "tls.protocol.tls1_0", "tls.protocol.tls1_1",
    "tls.dh.weak", "tls.hsts.missing",
}  # fmt: skip


# legacy servers (tlslite-ng): testssl also runs its cipher-category and RC4 tests (-s -4)
LEGACY_CASES = ("sslv3", "rc4", "tdes", "null", "anon", "md5", "leafonly")
LEGACY_COMPARED = {
    "tls.protocol.sslv3", "tls.cipher.rc4", "tls.cipher.3des", "tls.cipher.null", "tls.cipher.anonymous",
    "tls.cert.weak_signature", "tls.cert.untrusted_root", "tls.cert.incomplete_chain",
}  # fmt: skip


def keys_from_testssl(findings: list[dict[str, Any]]) -> set[str]:
    """testssl.sh 3.0 JSON (flat list of {id, severity, finding}) → our keys."""
    by_id = {f["id"]: f for f in findings}
    keys: set[str] = set()

    def finding(id_: str) -> str:
        return str(by_id.get(id_, {}).get("finding", ""))

    def severity(id_: str) -> str:
        return str(by_id.get(id_, {}).get("severity", "OK"))

    chain = finding("cert_chain_of_trust")
    if finding("cert_expirationStatus") == "expired":
        keys.add("tls.cert.expired")
    if "(self signed)" in chain:
        keys.add("tls.cert.self_signed")
    if "self signed CA in chain" in chain or "unable to get local issuer" in chain:
        keys.add("tls.cert.untrusted_root")
    if "chain incomplete" in chain:
        keys.add("tls.cert.incomplete_chain")
    if "does not match" in finding("cert_trust"):
        keys.add("tls.cert.hostname_mismatch")
    if severity("cert_keySize") in {"MEDIUM", "HIGH", "CRITICAL"}:
        keys.add("tls.cert.weak_key")
    if "SHA1" in finding("cert_signatureAlgorithm") or "MD5" in finding("cert_signatureAlgorithm"):
        keys.add("tls.cert.weak_signature")
    for id_, key in (("SSLv2", "sslv2"), ("SSLv3", "sslv3"), ("TLS1", "tls1_0"), ("TLS1_1", "tls1_1")):
        if finding(id_).startswith("offered"):
            keys.add(f"tls.protocol.{key}")
    if severity("DH_groups") in {"MEDIUM", "HIGH", "CRITICAL"} or severity("LOGJAM-common_primes") in {"HIGH"}:
        keys.add("tls.dh.weak")
    if finding("HSTS") == "not offered":
        keys.add("tls.hsts.missing")
    for id_, key in (("cipherlist_NULL", "null"), ("cipherlist_aNULL", "anonymous"), ("cipherlist_3DES_IDEA", "3des")):
        if finding(id_).startswith("offered"):
            keys.add(f"tls.cipher.{key}")
    if finding("RC4").startswith("VULNERABLE"):
        keys.add("tls.cipher.rc4")
    return keys


def run_testssl(
    server: ts.RunningServer | ls.RunningLegacy, ca_file: Path, out: Path, extra: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    assert server.host.startswith("127.")
    assert TESTSSL is not None
    subprocess.run(
        [TESTSSL, "--quiet", "--color", "0", "--warnings", "off", "--nodns", "none", "--ip", server.host,
         "--add-ca", str(ca_file), "-p", "-S", "-f", "-h", *extra, "--jsonfile", str(out),
         f"{server.hostname}:{server.port}"],
        check=False, capture_output=True, timeout=300,  # a loaded machine slows testssl threefold
    )  # fmt: skip
    findings: list[dict[str, Any]] = json.loads(out.read_text())
    return findings


Server = ts.RunningServer | ls.RunningLegacy
Views = dict[str, tuple[set[str], set[str]]]


def both_views(
    servers: dict[str, Server], ca_file: Path, workdir: Path, compared: set[str], extra: tuple[str, ...] = ()
) -> Views:
    """Per server: the check's keys and testssl's, each cut down to the `compared` keys."""

    async def ours() -> dict[str, set[str]]:
        async def one(server: Server) -> tuple[str, set[str]]:
            cfg = TlsConfig(address=server.host, ca_file=ca_file, profiles=())  # type: ignore[arg-type]
            result = await execute(TlsCheck(), Target(server.hostname, server.port), cfg, CheckContext())
            assert result.status is CheckStatus.OK, result.error
            return server.hostname, {o.key for o in result.observations}

        return dict(await asyncio.gather(*(one(s) for s in servers.values())))

    our_view = asyncio.run(ours())
    out_dir = workdir / "testssl"
    out_dir.mkdir()
    with ThreadPoolExecutor(max_workers=max(4, len(servers))) as pool:
        futures = {
            name: pool.submit(run_testssl, server, ca_file, out_dir / f"{name}.json", extra)
            for name, server in servers.items()
        }
        their_view = {name: keys_from_testssl(f.result()) for name, f in futures.items()}
    return {name: (our_view[name] & compared, their_view[name] & compared) for name in servers}


@pytest.fixture(scope="module")
def views(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Views]:
    workdir = tmp_path_factory.mktemp("tls-vs-testssl")
    pki = ts.make_pki(workdir)
    stranger = ts.make_pki(workdir, "Stranger Root")
    specs = [s for s in ts.standard_specs(pki, stranger) if s.name.split(".")[0] in CASES]
    with ts.running(specs, workdir) as servers:
        yield both_views(dict(servers), pki.ca_file, workdir, COMPARED)


@pytest.mark.parametrize("case", CASES)
def test_testssl_and_the_tls_check_agree(views: Views, case: str) -> None:
    ours, theirs = views[f"{case}.posture.test"]
    assert ours == theirs


@pytest.fixture(scope="module")
def legacy_views(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Views]:
    workdir = tmp_path_factory.mktemp("legacy-vs-testssl")
    pki = ts.make_pki(workdir)
    specs = [s for s in legacy_specs(pki) if s.name.split(".")[0] in LEGACY_CASES]
    with ls.running(specs, workdir) as servers:
        yield both_views(dict(servers), pki.ca_file, workdir, LEGACY_COMPARED, ("-s", "-4"))


@pytest.mark.parametrize("case", LEGACY_CASES)
def test_testssl_and_the_tls_check_agree_on_legacy_servers(legacy_views: Views, case: str) -> None:
    ours, theirs = legacy_views[f"{case}.posture.test"]
    assert ours == theirs

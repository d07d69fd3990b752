"""A private DNSSEC lab on loopback: real authoritative and validating servers, for the tests and the benchmark.

knotd serves a signed parent zone under the reserved `.test` TLD (`dnssec.test.`) and its child zones, each signed
at build time with `ldns-signzone` (explicit inception and expiration, NSEC or NSEC3) with keys from `ldns-keygen`.
unbound validates with a trust anchor for the parent zone only and forwards to knotd; everything
outside `dnssec.test.` is answered by unbound itself (a static local zone for the root), so no query ever leaves the
machine and no root hints are used. Every server listens on a random 127.0.0.0/8 address and a free port.

    with dns_lab([Zone("good"), Zone("legacy", algorithm="RSASHA1"), Zone("plain", signed=False)]) as lab:
        lab.resolver            # ("127.83.17.4", 40211): a validating unbound
        lab.domain("good")      # "good.dnssec.test"
        lab.start_resolver(validating=False)  # another unbound that does not validate

    with dns_lab(signed_zones(1000)) as lab:  # the benchmark: 1,000 signed domains, built in about 4 s
        resources = {DNS_NAMESERVERS: (lab.resolver,)}
        targets = [Target(name, DOMAIN_PORT) for name in lab.domains()]

One key pair per algorithm (and one spare, for a DS that matches no key) is generated per lab and shared by every
zone: a DNSKEY's owner name is not part of its key, so the zone file names the key and `ldns-signzone` signs with
the shared private key. Zones are signed in parallel and served from one knot config with a zone template, so a
lab of 1,000 signed zones builds in a few seconds. The context manager kills the servers and removes its directory
however the block ends.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import datetime as dt
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import dns.dnssec
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.DNSKEY

PARENT = "dnssec.test."
_SBIN = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")
READY_TIMEOUT_S = 30.0


def binary(name: str) -> str | None:
    """The path of `name` on PATH or in the system directories (/usr/sbin is not on every user's PATH)."""
    found = shutil.which(name)
    if found:
        return found
    for folder in _SBIN:
        candidate = Path(folder) / name
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _need(name: str) -> str:
    path = binary(name)
    if path is None:
        raise RuntimeError(f"{name} not found: install the Debian packages knot unbound ldnsutils (`make deps`)")
    return path


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


DEFAULT_RECORDS = ("@ A 192.0.2.1", "@ AAAA 2001:db8::1", "@ MX 10 mail", "mail A 192.0.2.25", "www A 192.0.2.1")


@dataclass(frozen=True)
class Zone:
    """A child zone of `dnssec.test.`: how it is signed and what the parent publishes for it."""

    label: str
    signed: bool = True
    algorithm: str = "ECDSAP256SHA256"  # ldns-keygen's names: RSASHA1, RSASHA256, ECDSAP256SHA256, ED25519, ...
    # the DS at the parent: of the key that signs the zone, none (an insecure delegation), or of a key the zone does
    # not publish (a stale DS after a key rollover)
    ds: Literal["match", "none", "other"] = "match"
    nsec3: tuple[int, str] | None = None  # (iterations, salt in hex, "" for none); None: NSEC
    inception: dt.datetime | None = None  # default: a day ago
    expiration: dt.datetime | None = None  # default: in 30 days
    # rrtypes whose signatures are corrupted after signing (e.g. ("SOA",)): they fail to verify
    tampered: tuple[str, ...] = ()
    # the zone's own records, in zone-file syntax relative to its origin (e.g. '@ MX 10 mx1', '_dmarc TXT "v=…"');
    # None: a web and mail domain's usual apex (A, AAAA, MX 10 mail, mail and www A), documentation addresses only
    records: tuple[str, ...] | None = None
    axfr_open: bool = False  # the authoritative server hands the zone to anyone (AXFR); else it refuses

    def name(self) -> str:
        return f"{self.label}.{PARENT}"


def signed_zones(count: int, prefix: str = "d") -> list[Zone]:
    """`count` well-signed child zones (d0000, d0001, ...): the benchmark's domains."""
    width = max(4, len(str(count - 1)))
    return [Zone(f"{prefix}{i:0{width}d}") for i in range(count)]


@dataclass(frozen=True)
class _Key:
    base: Path  # ldns-keygen's K<name>+<alg>+<id>, without .key/.private
    dnskey: dns.rdtypes.ANY.DNSKEY.DNSKEY

    def text(self) -> str:
        return self.dnskey.to_text()


class _Keyring:
    """Key pairs generated on first use, one per (algorithm, slot), shared by every zone of the lab."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir()
        self.keys: dict[tuple[str, str], _Key] = {}

    def key(self, algorithm: str, slot: str = "main") -> _Key:
        found = self.keys.get((algorithm, slot))
        if found is None:
            found = self.keys[(algorithm, slot)] = self._generate(algorithm, slot)
        return found

    def _generate(self, algorithm: str, slot: str) -> _Key:
        where = self.folder / f"{algorithm}-{slot}"
        where.mkdir()
        bits = ["-b", "2048"] if algorithm.startswith("RSA") else []
        done = subprocess.run(
            [_need("ldns-keygen"), "-a", algorithm, *bits, "-k", f"key.{PARENT}"],
            cwd=where,
            capture_output=True,
            text=True,
            check=True,
        )
        base = where / done.stdout.strip()
        record = base.with_suffix(base.suffix + ".key").read_text().split(";", 1)[0].split()
        rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DNSKEY, " ".join(record[3:]))
        assert isinstance(rdata, dns.rdtypes.ANY.DNSKEY.DNSKEY)
        return _Key(base, rdata)


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S")


def _loopback() -> str:
    """A random 127.0.0.0/8 address, away from 127.0.0.1 and 127.0.0.53 (systemd-resolved)."""
    return f"127.{random.randint(16, 250)}.{random.randint(1, 250)}.{random.randint(2, 250)}"


def _free_endpoint(port: int = 0) -> tuple[str, int]:
    """An address and a port free for both UDP and TCP; `port` when given (a fixed port, e.g. 53, on a random
    address: for clients such as checkdmarc that cannot be told another port)."""
    for _ in range(50):
        address = _loopback()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            try:
                tcp.bind((address, port))
            except OSError:
                continue
            port_found = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((address, port_found))
                except OSError:
                    continue
        return address, port_found
    raise RuntimeError("no free loopback address and port")


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}: {tail}")


def _die_with_parent() -> None:
    """In the child before exec: Linux kills it when the test process dies without cleaning up (PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)


def _start(name: str, argv: list[str], log: Path) -> _Process:
    with log.open("ab") as sink:
        popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
            start_new_session=True,  # a Ctrl-C in the terminal reaches the tests, which stop the servers in order
            preexec_fn=_die_with_parent,  # no threads run while the servers start
        )
    return _Process(name, popen, log)


def _ask(where: tuple[str, int], name: str, rdtype: str, *, cd: bool = False) -> dns.message.Message | None:
    query = dns.message.make_query(name, rdtype, want_dnssec=True)
    if cd:
        query.flags |= dns.flags.CD
    try:
        return dns.query.udp(query, where[0], port=where[1], timeout=0.5)
    except (OSError, dns.exception.Timeout):
        return None


@dataclass
class DnsLab:
    """A running lab: `resolver` is the validating unbound's (address, port), `auth` knotd's."""

    folder: Path
    zones: tuple[Zone, ...]
    auth: tuple[str, int]
    trust_anchor: str  # the parent's DS, as unbound's `trust-anchor:` wants it
    resolver: tuple[str, int] = ("", 0)
    processes: list[_Process] = field(default_factory=list)

    def domain(self, label: str) -> str:
        """The name of a child zone, without the final dot: what a registered domain looks like."""
        return f"{label}.{PARENT}".rstrip(".")

    def domains(self) -> list[str]:
        """Every child zone's name, in the order the zones were given."""
        return [self.domain(zone.label) for zone in self.zones]

    def start_resolver(
        self, *, validating: bool = True, refuse: bool = False, verbosity: int = 1, port: int = 0
    ) -> tuple[str, int]:
        """Another unbound in front of the lab's knotd: validating or not, or one that refuses every query; on a
        free port, or on `port` (e.g. 53) of a random loopback address."""
        address, port = _free_endpoint(port)
        folder = Path(tempfile.mkdtemp(prefix="unbound-", dir=self.folder))
        config = folder / "unbound.conf"
        config.write_text(
            _unbound_config(folder, address, port, self.auth, self.trust_anchor, validating, refuse, verbosity)
        )
        checker = binary("unbound-checkconf")
        if checker:
            subprocess.run([checker, str(config)], check=True, capture_output=True)
        process = _start("unbound", [_need("unbound"), "-d", "-c", str(config)], folder / "unbound.log")
        self.processes.append(process)
        expected = dns.rcode.REFUSED if refuse else dns.rcode.NOERROR
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            process.check_alive()
            answer = _ask((address, port), PARENT, "SOA")
            if (
                answer is not None
                and answer.rcode() == expected
                and (refuse or not validating or answer.flags & dns.flags.AD)
            ):
                return address, port
            if time.monotonic() > deadline:
                raise RuntimeError(f"unbound on {address}@{port} not ready in {READY_TIMEOUT_S:g} s")
            time.sleep(0.02)

    def log(self, name: str = "unbound") -> str:
        """The logs of the lab's processes called `name` (for a test's failure message)."""
        return "\n".join(p.log.read_text(errors="replace") for p in self.processes if p.name == name)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()


def _zone_file(zone: Zone, key: _Key | None) -> str:
    origin = zone.name()
    lines = [
        f"$ORIGIN {origin}",
        "$TTL 300",
        f"@ SOA ns1.{PARENT} hostmaster.{PARENT} 1 3600 600 86400 300",
        f"@ NS ns1.{PARENT}",
        *(DEFAULT_RECORDS if zone.records is None else zone.records),
    ]
    if key is not None:
        lines.append(f"@ 300 DNSKEY {key.text()}")
    return "\n".join(lines) + "\n"


def _sign(
    source: Path,
    origin: str,
    key: _Key,
    *,
    inception: dt.datetime,
    expiration: dt.datetime,
    nsec3: tuple[int, str] | None = None,
) -> Path:
    target = source.with_suffix(".zone")
    argv = [_need("ldns-signzone"), "-i", _stamp(inception), "-e", _stamp(expiration), "-o", origin]
    if nsec3 is not None:
        iterations, salt = nsec3
        argv += ["-n", "-t", str(iterations)]
        if salt:
            argv += ["-s", salt]
    argv += ["-f", str(target), str(source), str(key.base)]
    subprocess.run(argv, check=True, capture_output=True, text=True)
    return target


def _tamper(line: str, rrtypes: tuple[str, ...]) -> str:
    """The zone file line with its signature's bytes changed when it is an RRSIG over one of `rrtypes`."""
    fields = line.split()
    if len(fields) < 13 or fields[3] != "RRSIG" or fields[4] not in rrtypes:
        return line
    signature = bytearray(base64.b64decode("".join(fields[12:])))
    signature[len(signature) // 2] ^= 0xFF
    return " ".join([*fields[:12], base64.b64encode(bytes(signature)).decode()]) + "\n"


def _build_child(zone: Zone, keys: _Keyring, folder: Path, now: dt.datetime) -> str | None:
    """Write (and sign) one child zone; the DS record text the parent publishes for it, or None."""
    key = keys.key(zone.algorithm) if zone.signed else None
    name = zone.name().rstrip(".")
    if key is None:
        (folder / f"{name}.zone").write_text(_zone_file(zone, None))
    else:
        source = folder / f"{name}.unsigned"
        source.write_text(_zone_file(zone, key))
        signed = _sign(
            source,
            zone.name(),
            key,
            inception=zone.inception or now - dt.timedelta(days=1),
            expiration=zone.expiration or now + dt.timedelta(days=30),
            nsec3=zone.nsec3,
        )
        if zone.tampered:
            signed.write_text("".join(_tamper(line, zone.tampered) for line in signed.read_text().splitlines(True)))
    if zone.ds == "none" or key is None:
        return None
    ds_key = key if zone.ds == "match" and key is not None else keys.key(zone.algorithm, "other")
    ds = dns.dnssec.make_ds(dns.name.from_text(zone.name()), ds_key.dnskey, "SHA256")
    return f"{zone.label} 300 DS {ds.to_text()}"


def _knot_config(folder: Path, auth: tuple[str, int], names: Sequence[str], open_axfr: Sequence[str] = ()) -> str:
    zones = "\n".join(
        f"  - domain: {name}" + ("\n    acl: anyone-transfers" if name in open_axfr else "") for name in names
    )
    return f"""server:
    rundir: "{folder}/run"
    listen: {auth[0]}@{auth[1]}
    udp-workers: 2
    tcp-workers: 1
    background-workers: 2

log:
  - target: {folder}/knot.log
    any: warning

database:
    storage: "{folder}/db"

acl:
  - id: anyone-transfers
    address: [0.0.0.0/0, ::/0]
    action: transfer

template:
  - id: default
    storage: "{folder}/zones"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off

zone:
{zones}
"""


def _unbound_config(
    folder: Path,
    address: str,
    port: int,
    auth: tuple[str, int],
    trust_anchor: str,
    validating: bool,
    refuse: bool,
    verbosity: int = 1,
) -> str:
    modules = "validator iterator" if validating else "iterator"
    anchor = f'    trust-anchor: "{trust_anchor}"\n' if validating else ""
    return f"""server:
    interface: {address}
    port: {port}
    do-ip6: no
    do-not-query-localhost: no
    chroot: ""
    username: ""
    directory: "{folder}"
    pidfile: "{folder}/unbound.pid"
    logfile: "{folder}/unbound.log"
    use-syslog: no
    verbosity: {verbosity}
    val-log-level: 2
    ede: yes
    module-config: "{modules}"
{anchor}    access-control: 127.0.0.0/8 {"refuse" if refuse else "allow"}
    num-threads: 1
    so-reuseport: no
    qname-minimisation: no
    # nothing outside the lab is ever asked: unbound answers the rest of the name space itself (no root hints)
    local-zone: "." static
    local-zone: "{PARENT}" transparent

# forwarded, not a stub: knotd serves the parent and every child, and a stub would be replaced by the children's
# NS sets once cached (ns1.dnssec.test. on port 53, where nothing listens)
forward-zone:
    name: "{PARENT}"
    forward-addr: {auth[0]}@{auth[1]}

remote-control:
    control-enable: no
"""


@contextlib.contextmanager
def dns_lab(zones: Sequence[Zone], *, validating: bool = True) -> Iterator[DnsLab]:
    """Build, sign and serve `zones` below `dnssec.test.`; start a resolver (validating unless told otherwise)."""
    labels = [zone.label for zone in zones]
    if len(set(labels)) != len(labels):
        raise ValueError("zone labels must be unique")
    folder = Path(tempfile.mkdtemp(prefix="posture-dnslab-"))
    lab: DnsLab | None = None
    try:
        now = utc_now()
        keys = _Keyring(folder / "keys")
        zone_dir = folder / "zones"
        zone_dir.mkdir()
        for algorithm in {zone.algorithm for zone in zones if zone.signed}:
            keys.key(algorithm)  # generated once, before the parallel signing
        for zone in zones:
            if zone.signed and zone.ds == "other":
                keys.key(zone.algorithm, "other")
        with ThreadPoolExecutor(max_workers=2 * (os.cpu_count() or 2)) as pool:
            delegations = list(pool.map(lambda zone: _build_child(zone, keys, zone_dir, now), zones))
        auth = _free_endpoint()
        parent_key = keys.key("ECDSAP256SHA256", "parent")
        parent_lines = [
            f"$ORIGIN {PARENT}",
            "$TTL 300",
            "@ SOA ns1 hostmaster 1 3600 600 86400 300",
            "@ NS ns1",
            f"ns1 A {auth[0]}",
            f"@ 300 DNSKEY {parent_key.text()}",
        ]
        for zone, ds in zip(zones, delegations, strict=True):
            parent_lines.append(f"{zone.label} 300 NS ns1.{PARENT}")
            if ds is not None:
                parent_lines.append(ds)
        source = zone_dir / f"{PARENT.rstrip('.')}.unsigned"
        source.write_text("\n".join(parent_lines) + "\n")
        _sign(
            source,
            PARENT,
            parent_key,
            inception=now - dt.timedelta(days=1),
            expiration=now + dt.timedelta(days=365),
        )
        anchor = dns.dnssec.make_ds(dns.name.from_text(PARENT), parent_key.dnskey, "SHA256")
        lab = DnsLab(folder, tuple(zones), auth, f"{PARENT} DS {anchor.to_text()}")
        (folder / "run").mkdir()
        (folder / "db").mkdir()
        config = folder / "knot.conf"
        open_axfr = [zone.name() for zone in zones if zone.axfr_open]
        config.write_text(_knot_config(folder, auth, [PARENT, *(zone.name() for zone in zones)], open_axfr))
        knot = _start("knotd", [_need("knotd"), "-c", str(config)], folder / "knotd.out")
        lab.processes.append(knot)
        _wait_for_zones(knot, auth, [PARENT, *(zone.name() for zone in zones)])
        lab.resolver = lab.start_resolver(validating=validating)
        yield lab
    finally:
        if lab is not None:
            lab.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for_zones(knot: _Process, auth: tuple[str, int], names: Sequence[str]) -> None:
    """Until knotd answers authoritatively for every zone (it loads them in the background)."""
    pending = list(names)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while pending:
        knot.check_alive()
        answer = _ask(auth, pending[-1], "SOA")
        if answer is not None and answer.rcode() == dns.rcode.NOERROR and answer.flags & dns.flags.AA:
            pending.pop()
            continue
        if time.monotonic() > deadline:
            raise RuntimeError(f"knotd does not serve {pending[-1]} after {READY_TIMEOUT_S:g} s")
        time.sleep(0.02)

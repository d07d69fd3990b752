"""A small but real Certificate Transparency log on loopback (127.0.40.x only), for the CT source's tests and
benchmark.

It serves the same entries two ways: RFC 6962 (`/ct/v1/get-sth` with a real Merkle tree head per RFC 6962 §2.1,
signed with the log's P-256 key; `/ct/v1/get-entries` capped per request like real logs) and the static CT API
(`/checkpoint` as a signed note, `/tile/data/<N>[.p/<W>]`, gzip-compressed). The entries hold real certificates
and precertificates (with the CT poison extension, RFC 6962 §3.1) issued by a test CA. Controls: `append`,
`shrink`, and `garbage` to make one endpoint answer something that is not a CT log's answer.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import gzip
import hashlib
import sys
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.checks.tls_servers import Issued, ec_key, issue

LOOPBACK = "127.0.40.1"
TILE_WIDTH = 256

Garbage = Literal[
    "sth-json", "sth-size", "signature", "entries-json", "leaf-length", "entry-type", "checkpoint", "tile-short"
]


def u8(value: int) -> bytes:
    return value.to_bytes(1, "big")


def u16(value: int) -> bytes:
    return value.to_bytes(2, "big")


def u24(value: int) -> bytes:
    return value.to_bytes(3, "big")


def u64(value: int) -> bytes:
    return value.to_bytes(8, "big")


def opaque24(data: bytes) -> bytes:
    return u24(len(data)) + data


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One log entry in both encodings: RFC 6962 get-entries (leaf_input, extra_data) and a static TileLeaf."""

    leaf_input: bytes
    extra_data: bytes
    tile_leaf: bytes

    def json_item(self) -> dict[str, str]:
        return {
            "leaf_input": base64.b64encode(self.leaf_input).decode(),
            "extra_data": base64.b64encode(self.extra_data).decode(),
        }


def x509_entry(certificate: bytes, chain: Sequence[bytes], timestamp_ms: int) -> LogEntry:
    timestamped = u64(timestamp_ms) + u16(0) + opaque24(certificate) + u16(0)
    chain_list = b"".join(opaque24(c) for c in chain)
    fingerprints = b"".join(hashlib.sha256(c).digest() for c in chain)
    return LogEntry(
        leaf_input=u8(0) + u8(0) + timestamped,
        extra_data=opaque24(chain_list),
        tile_leaf=timestamped + u16(len(fingerprints)) + fingerprints,
    )


def precert_entry(
    precertificate: bytes, tbs_certificate: bytes, issuer_key_hash: bytes, chain: Sequence[bytes], timestamp_ms: int
) -> LogEntry:
    timestamped = u64(timestamp_ms) + u16(1) + issuer_key_hash + opaque24(tbs_certificate) + u16(0)
    chain_list = b"".join(opaque24(c) for c in chain)
    fingerprints = b"".join(hashlib.sha256(c).digest() for c in chain)
    return LogEntry(
        leaf_input=u8(0) + u8(0) + timestamped,
        extra_data=opaque24(precertificate) + opaque24(chain_list),
        tile_leaf=timestamped + opaque24(precertificate) + u16(len(fingerprints)) + fingerprints,
    )


class CtCa:
    """A test CA whose certificates and precertificates become log entries."""

    def __init__(self, name: str = "Posture CT Test CA") -> None:
        self.root: Issued = issue(name, ec_key(), ca=True)
        self.root_der = self.root.cert.public_bytes(serialization.Encoding.DER)
        spki = self.root.cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.issuer_key_hash = hashlib.sha256(spki).digest()
        self.leaf_key = ec_key()  # one key for every leaf: issuing stays fast, the entries stay real
        self.issued = 0

    def _builder(self, sans: Sequence[str], cn: str | None) -> x509.CertificateBuilder:
        now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=self.issued)
        self.issued += 1
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else [])
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.root.cert.subject)
            .public_key(self.leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=90))
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), False)
        return builder

    def certificate(self, sans: Sequence[str], cn: str | None = None) -> x509.Certificate:
        return self._builder(sans, cn).sign(self.root.key, hashes.SHA256())

    def entry(self, sans: Sequence[str], *, precert: bool = False, cn: str | None = None) -> LogEntry:
        """A log entry for a certificate (or, `precert`, a precertificate) naming `sans` (and subject CN `cn`)."""
        timestamp_ms = int(time.time() * 1000)
        builder = self._builder(sans, cn)
        if not precert:
            der = builder.sign(self.root.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
            return x509_entry(der, [self.root_der], timestamp_ms)
        # RFC 6962 §3.2: the leaf holds the TBSCertificate without the poison extension (the final
        # certificate's); the precertificate itself, poisoned, travels in extra_data / the TileLeaf
        poisoned = builder.add_extension(x509.PrecertPoison(), critical=True).sign(self.root.key, hashes.SHA256())
        final_tbs = builder.sign(self.root.key, hashes.SHA256()).tbs_certificate_bytes
        return precert_entry(
            poisoned.public_bytes(serialization.Encoding.DER),
            final_tbs,
            self.issuer_key_hash,
            [self.root_der],
            timestamp_ms,
        )

    def undecodable(self) -> LogEntry:
        """A well-framed entry whose certificate is not DER."""
        return x509_entry(b"\x30\x03\x02\x01\x00not a certificate", [self.root_der], int(time.time() * 1000))


def merkle_tree_hash(leaf_hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    """RFC 6962 §2.1 MTH over D[lo:hi], given the leaf hashes SHA-256(0x00 || leaf)."""
    count = hi - lo
    if count == 0:
        return hashlib.sha256(b"").digest()
    if count == 1:
        return leaf_hashes[lo]
    split = 1 << ((count - 1).bit_length() - 1)  # the largest power of two smaller than count
    left = merkle_tree_hash(leaf_hashes, lo, lo + split)
    right = merkle_tree_hash(leaf_hashes, lo + split, hi)
    return hashlib.sha256(b"\x01" + left + right).digest()


@dataclass
class CtLogServer:
    """The log's state and its HTTP answers; start it with `running_log`."""

    entries: list[LogEntry] = field(default_factory=list)
    max_per_request: int = 256
    gzip_tiles: bool = True
    garbage: Garbage | None = None
    stall_s: float = 0.0  # get-entries and data tiles answer after this long
    stale_checkpoint_size: int | None = None  # the checkpoint and get-sth tell this size instead
    surplus: int = 0  # get-entries answers this many entries more than asked for
    partials_gone: bool = False  # partial data tiles answer 404 (a log may delete them once full tiles exist)
    requests: list[str] = field(default_factory=list)  # paths with query, in order
    url: str = ""
    origin: str = ""
    _leaf_hashes: list[bytes] = field(default_factory=list)
    _items: list[dict[str, str]] = field(default_factory=list)  # get-entries items, encoded once
    _roots: dict[int, bytes] = field(default_factory=dict)
    _key: ec.EllipticCurvePrivateKey = field(default_factory=ec_key)

    def __post_init__(self) -> None:
        entries, self.entries = self.entries, []
        self.append(*entries)

    def append(self, *entries: LogEntry) -> None:
        self.entries.extend(entries)
        self._leaf_hashes.extend(hashlib.sha256(b"\x00" + entry.leaf_input).digest() for entry in entries)
        self._items.extend(entry.json_item() for entry in entries)

    def extend(self, entries: Iterable[LogEntry]) -> None:
        self.append(*entries)

    def shrink(self, size: int) -> None:
        del self.entries[size:]
        del self._leaf_hashes[size:]
        del self._items[size:]
        self._roots = {n: root for n, root in self._roots.items() if n <= size}

    @property
    def published_size(self) -> int:
        return len(self.entries) if self.stale_checkpoint_size is None else self.stale_checkpoint_size

    @property
    def spki(self) -> bytes:
        return self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def key_b64(self) -> str:
        """The log's public key as the CT log lists give it."""
        return base64.b64encode(self.spki).decode()

    @property
    def log_id(self) -> bytes:
        return hashlib.sha256(self.spki).digest()

    def root_hash(self, size: int) -> bytes:
        if size not in self._roots:
            self._roots[size] = merkle_tree_hash(self._leaf_hashes, 0, size)
        return self._roots[size]

    def _tree_head_signature(self, timestamp_ms: int, size: int) -> bytes:
        """RFC 6962 §3.5 TreeHeadSignature as a DigitallySigned (sha256, ecdsa)."""
        signed = u8(0) + u8(1) + u64(timestamp_ms) + u64(size) + self.root_hash(size)
        signature = self._key.sign(signed, ec.ECDSA(hashes.SHA256()))
        if self.garbage == "signature":
            signature = self._key.sign(signed + b"forged", ec.ECDSA(hashes.SHA256()))
        return u8(4) + u8(3) + u16(len(signature)) + signature

    # --- RFC 6962 ---

    async def get_sth(self, request: web.Request) -> web.Response:
        self.requests.append(request.path_qs)
        if self.garbage == "sth-json":
            return web.Response(text="<html>502 Bad Gateway</html>", content_type="text/html")
        size = self.published_size
        timestamp_ms = int(time.time() * 1000)
        head = {
            "tree_size": "many" if self.garbage == "sth-size" else size,
            "timestamp": timestamp_ms,
            "sha256_root_hash": base64.b64encode(self.root_hash(size)).decode(),
            "tree_head_signature": base64.b64encode(self._tree_head_signature(timestamp_ms, size)).decode(),
        }
        return web.json_response(head)

    async def get_entries(self, request: web.Request) -> web.Response:
        self.requests.append(request.path_qs)
        await asyncio.sleep(self.stall_s)
        try:
            start, end = int(request.query["start"]), int(request.query["end"])
        except (KeyError, ValueError):
            return web.json_response({"error": "start and end are required integers"}, status=400)
        size = len(self.entries)
        if start < 0 or end < start or start >= size:
            return web.json_response({"error": f"start {start} end {end} outside the tree of {size}"}, status=400)
        stop = min(end + 1 + self.surplus, start + self.max_per_request, size)
        chosen = self.entries[start:stop]
        if self.garbage == "entries-json":
            return web.Response(text='{"entries": [{"leaf_input": "AAA', content_type="application/json")
        items = [dict(item) for item in self._items[start:stop]]
        if self.garbage == "leaf-length" and items:
            leaf = chosen[-1].leaf_input
            items[-1]["leaf_input"] = base64.b64encode(leaf[:-5]).decode()
        if self.garbage == "entry-type" and items:
            leaf = chosen[0].leaf_input
            items[0]["leaf_input"] = base64.b64encode(leaf[:10] + u16(7) + leaf[12:]).decode()
        return web.json_response({"entries": items})

    # --- static CT API ---

    async def checkpoint(self, request: web.Request) -> web.Response:
        self.requests.append(request.path_qs)
        if self.garbage == "checkpoint":
            return web.Response(text="tree size: 12\n")
        size = self.published_size
        timestamp_ms = int(time.time() * 1000)
        note = f"{self.origin}\n{size}\n{base64.b64encode(self.root_hash(size)).decode()}\n"
        key_id = hashlib.sha256(self.origin.encode() + b"\n\x05" + self.log_id).digest()[:4]
        signature = key_id + u64(timestamp_ms) + self._tree_head_signature(timestamp_ms, size)
        text = f"{note}\n\u2014 {self.origin} {base64.b64encode(signature).decode()}\n"
        return web.Response(text=text, charset="utf-8")

    async def data_tile(self, request: web.Request) -> web.Response:
        self.requests.append(request.path_qs)
        located = parse_tile_path(request.match_info["path"])
        if located is None:
            return web.Response(status=400, text="bad tile path")
        tile, width = located
        await asyncio.sleep(self.stall_s)
        start = tile * TILE_WIDTH
        if start + width > len(self.entries) or (self.partials_gone and width < TILE_WIDTH):
            return web.Response(status=404, text="no such tile")
        body = b"".join(entry.tile_leaf for entry in self.entries[start : start + width])
        if self.garbage == "tile-short":
            body = body[: len(body) // 2]
        if not self.gzip_tiles:
            return web.Response(body=body, content_type="application/octet-stream")
        return web.Response(
            body=gzip.compress(body, compresslevel=1),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/octet-stream"},
        )

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/ct/v1/get-sth", self.get_sth)
        app.router.add_get("/ct/v1/get-entries", self.get_entries)
        app.router.add_get("/checkpoint", self.checkpoint)
        app.router.add_get("/tile/data/{path:.+}", self.data_tile)
        return app


def parse_tile_path(path: str) -> tuple[int, int] | None:
    """`x001/x234/067[.p/W]` → (1234067, W or 256); None for anything else."""
    width = TILE_WIDTH
    if ".p/" in path:
        path, _, width_text = path.partition(".p/")
        if not width_text.isdigit() or width_text.startswith("0") or not 1 <= int(width_text) < TILE_WIDTH:
            return None
        width = int(width_text)
    elements = path.split("/")
    digits = []
    for position, element in enumerate(elements):
        last = position == len(elements) - 1
        group = element if last else element.removeprefix("x")
        if (not last and not element.startswith("x")) or len(group) != 3 or not group.isdigit():
            return None
        digits.append(group)
    return int("".join(digits)), width


@asynccontextmanager
async def running_log(server: CtLogServer, host: str = LOOPBACK) -> AsyncIterator[CtLogServer]:
    """Serve `server` on `host` (a free port); its `url` serves both APIs."""
    runner = web.AppRunner(server.app(), access_log=None, shutdown_timeout=1.0)  # a stalled answer ends the test fast
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = runner.addresses[0][1]
    server.url = f"http://{host}:{port}"
    server.origin = f"{host}:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()


def sample_entries(count: int, suffixes: Sequence[str], ca: CtCa | None = None) -> list[LogEntry]:
    """`count` entries, half certificates and half precertificates, each naming two hosts; one in ten lies
    inside `suffixes` (in turn), the others under unrelated domains."""
    ca = ca or CtCa("Posture Bench CA")
    entries = []
    for n in range(count):
        domain = suffixes[(n // 10) % len(suffixes)] if n % 10 == 0 else f"shop{n % 97}.example"
        entries.append(ca.entry([f"host{n}.{domain}", f"www.host{n}.{domain}"], precert=n % 2 == 1))
    return entries


async def _serve_until_stdin_closes(host: str, count: int, suffixes: Sequence[str]) -> None:
    server = CtLogServer(sample_entries(count, suffixes))
    async with running_log(server, host):
        print(server.url, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    # python -m tests.ct_log HOST COUNT SUFFIX…: serve COUNT sample entries; print the URL; stop when stdin closes
    asyncio.run(_serve_until_stdin_closes(sys.argv[1], int(sys.argv[2]), sys.argv[3:]))

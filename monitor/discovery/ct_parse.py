"""Certificate Transparency entries to host names: RFC 6962 get-entries items and static-ct-api data tiles.

Framing (TLS-encoded lengths, entry types, base64, the JSON shape) is the log's promise: when it is broken the
whole batch is garbage and `CtLogError` says why. A certificate inside a well-framed entry that does not decode
(bad DER, a malformed extension) is one bad entry: it is skipped and counted, the batch goes on.

Framing and certificate parsing are separate steps, pure and synchronous: `ct.read_log` frames a whole answer
(cheap) and parses its certificates in slices, yielding to the event loop between them.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID

X509_ENTRY = 0
PRECERT_ENTRY = 1
TILE_WIDTH = 256
MAX_HOST_CHARS = 253
MAX_ISSUER_CHARS = 200  # the issuer CN is the CA's text, shown (escaped) as evidence
MAX_SKIP_REASONS = 5  # a handful of examples for the log line; the count is exact

_HOST = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

Wanted = Callable[[str], bool]


class CtLogError(Exception):
    """The log answered something that is not a CT log's answer (or nothing usable); the message is one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(" ".join(reason.split()))


@dataclass(frozen=True, slots=True)
class CtName:
    host: str
    wildcard: bool  # the certificate named only `*.host`, not the host itself


@dataclass(frozen=True, slots=True)
class CtEntry:
    """One log entry whose certificate names at least one wanted host."""

    index: int
    precert: bool
    names: tuple[CtName, ...]
    serial: str  # hex, lower case
    issuer_cn: str | None
    not_before: str  # ISO 8601, UTC
    not_after: str


@dataclass(slots=True)
class ParsedBatch:
    entries: list[CtEntry] = field(default_factory=list)  # only entries with a wanted name
    count: int = 0  # entries parsed (the cursor advances by this much)
    skipped: int = 0  # entries whose certificate did not decode
    skip_reasons: list[str] = field(default_factory=list)

    def skip(self, index: int, reason: str) -> None:
        self.skipped += 1
        if len(self.skip_reasons) < MAX_SKIP_REASONS:
            self.skip_reasons.append(" ".join(f"entry {index}: {reason}".split())[:300])  # one line, bounded


# --- host names ---------------------------------------------------------------------------------------------


def host_name(raw: str) -> CtName | None:
    """A certificate's DNS name as a sighting host, or None when it is not a syntactically valid host name.
    `*.x.de` becomes `x.de` (wildcard); IDNA A-labels stay as they are; U-labels, IP literals, blanks, control
    characters and markup are not host names."""
    name = raw.lower()
    if name.endswith("."):
        name = name[:-1]
    wildcard = name.startswith("*.")
    if wildcard:
        name = name[2:]
    if not name.isascii() or not _HOST.match(name) or name.rsplit(".", 1)[-1].isdigit():
        return None
    return CtName(name, wildcard)


def certificate_names(cert: x509.Certificate) -> list[CtName]:
    """subjectAltName dNSNames; the subject CN only when the certificate has no SAN DNS name. Deduplicated: a
    name the certificate also names without the wildcard is not a wildcard sighting. Raises ValueError when an
    extension or the subject does not decode."""
    try:
        san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
        raw: list[str] = san.get_values_for_type(x509.DNSName)  # type: ignore[attr-defined]
    except x509.ExtensionNotFound:
        raw = []
    if not raw:
        raw = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    found: dict[str, bool] = {}
    for value in raw:
        name = host_name(value)
        if name is not None:
            found[name.host] = found.get(name.host, True) and name.wildcard
    return [CtName(host, wildcard) for host, wildcard in found.items()]


@dataclass(frozen=True, slots=True)
class RawEntry:
    """A well-framed log entry: its index and the DER of its certificate or precertificate."""

    index: int
    der: bytes
    precert: bool


def parse_certificates(raw: Sequence[RawEntry], wanted: Wanted) -> ParsedBatch:
    """The wanted names of framed entries; a certificate that does not decode is skipped and counted."""
    batch = ParsedBatch(count=len(raw))
    for entry in raw:
        _entry(entry.index, entry.der, entry.precert, wanted, batch)
    return batch


def _entry(index: int, der: bytes, precert: bool, wanted: Wanted, batch: ParsedBatch) -> None:
    kind = "precertificate" if precert else "certificate"
    try:
        cert = x509.load_der_x509_certificate(der)
        names = certificate_names(cert)
    except Exception as err:  # hostile DER reaches more than ValueError (KeyError, DuplicateExtension, …)
        batch.skip(index, f"{kind} does not decode: {type(err).__name__}: {err}")
        return
    wanted_names = tuple(name for name in names if wanted(name.host))  # the caller's errors are not skips
    if not wanted_names:
        return
    try:
        issuer = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
        entry = CtEntry(
            index=index,
            precert=precert,
            names=wanted_names,
            serial=format(cert.serial_number, "x"),
            issuer_cn=str(issuer[0].value)[:MAX_ISSUER_CHARS] if issuer else None,
            not_before=cert.not_valid_before_utc.isoformat(),
            not_after=cert.not_valid_after_utc.isoformat(),
        )
    except Exception as err:
        batch.skip(index, f"{kind} does not decode: {type(err).__name__}: {err}")
        return
    batch.entries.append(entry)


# --- TLS presentation language ------------------------------------------------------------------------------


class _Reader:
    __slots__ = ("data", "pos", "what")

    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.pos = 0
        self.what = what

    def uint(self, size: int, field_name: str) -> int:
        end = self.pos + size
        if end > len(self.data):
            raise CtLogError(f"{self.what}: truncated at {field_name} (offset {self.pos})")
        value = int.from_bytes(self.data[self.pos : end], "big")
        self.pos = end
        return value

    def skip(self, size: int, field_name: str) -> None:
        if self.pos + size > len(self.data):
            raise CtLogError(f"{self.what}: truncated at {field_name} (offset {self.pos})")
        self.pos += size

    def opaque(self, length_bytes: int, field_name: str, minimum: int = 0) -> bytes:
        length = self.uint(length_bytes, f"{field_name} length")
        if length < minimum:
            raise CtLogError(f"{self.what}: {field_name} is empty")
        end = self.pos + length
        if end > len(self.data):
            raise CtLogError(f"{self.what}: {field_name} length {length} exceeds the data (offset {self.pos})")
        value = self.data[self.pos : end]
        self.pos = end
        return value

    def at_end(self) -> bool:
        return self.pos == len(self.data)


def _timestamped_entry(reader: _Reader) -> tuple[int, bytes | None]:
    """Reads an RFC 6962 TimestampedEntry; returns the entry type and, for an x509_entry, the certificate."""
    reader.skip(8, "timestamp")
    entry_type = reader.uint(2, "entry_type")
    certificate: bytes | None = None
    if entry_type == X509_ENTRY:
        certificate = reader.opaque(3, "ASN.1Cert", minimum=1)
    elif entry_type == PRECERT_ENTRY:
        reader.skip(32, "issuer_key_hash")
        reader.opaque(3, "tbs_certificate", minimum=1)
    else:
        raise CtLogError(f"{reader.what}: unknown entry_type {entry_type}")
    reader.opaque(2, "extensions")
    return entry_type, certificate


def merkle_tree_leaf(leaf_input: bytes, what: str) -> tuple[int, bytes | None]:
    """Entry type and (x509_entry) certificate of an RFC 6962 MerkleTreeLeaf v1 timestamped_entry."""
    reader = _Reader(leaf_input, what)
    version = reader.uint(1, "version")
    leaf_type = reader.uint(1, "leaf_type")
    if version != 0 or leaf_type != 0:
        raise CtLogError(f"{what}: not a v1 timestamped_entry leaf (version {version}, leaf_type {leaf_type})")
    entry_type, certificate = _timestamped_entry(reader)
    if not reader.at_end():
        raise CtLogError(f"{what}: {len(leaf_input) - reader.pos} bytes after the leaf")
    return entry_type, certificate


def precert_chain_entry(extra_data: bytes, what: str) -> bytes:
    """The pre_certificate of an RFC 6962 PrecertChainEntry (the chain after it is not needed)."""
    reader = _Reader(extra_data, what)
    precert = reader.opaque(3, "pre_certificate", minimum=1)
    reader.opaque(3, "precertificate_chain")
    if not reader.at_end():
        raise CtLogError(f"{what}: {len(extra_data) - reader.pos} bytes after the precertificate chain")
    return precert


# --- RFC 6962 get-entries -----------------------------------------------------------------------------------


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise CtLogError(f"{what}: not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise CtLogError(f"{what}: not valid base64") from None


def get_entries_items(body: bytes) -> list[Any]:
    """The `entries` list of a get-entries answer."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise CtLogError("get-entries: the answer is not JSON") from None
    entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise CtLogError("get-entries: the answer has no `entries` list")
    return entries


def frame_get_entries(items: Sequence[Any], first_index: int) -> list[RawEntry]:
    """Items of a get-entries answer, the first being log entry `first_index`: the certificate of an
    x509_entry's leaf, the pre_certificate of a precert_entry's extra_data (PrecertChainEntry)."""
    framed = []
    for offset, item in enumerate(items):
        index = first_index + offset
        what = f"get-entries entry {index}"
        if not isinstance(item, dict):
            raise CtLogError(f"{what}: not an object")
        entry_type, certificate = merkle_tree_leaf(_b64(item.get("leaf_input"), f"{what} leaf_input"), what)
        if entry_type == PRECERT_ENTRY:
            precert = precert_chain_entry(_b64(item.get("extra_data"), f"{what} extra_data"), f"{what} extra_data")
            framed.append(RawEntry(index, precert, True))
        else:
            assert certificate is not None
            framed.append(RawEntry(index, certificate, False))
    return framed


# --- static-ct-api data tiles -------------------------------------------------------------------------------


def frame_data_tile(
    tile: bytes, tile_index: int, width: int, start: int = 0, stop: int | None = None
) -> list[RawEntry]:
    """A data tile of `width` TileLeaf entries (a full tile may hold more than the partial one asked for: only
    the first `width` are read). The entries at offsets `start` ≤ offset < `stop` are returned; the others are
    read for framing only."""
    stop = width if stop is None else stop
    what = f"data tile {tile_index}"
    reader = _Reader(tile, what)
    framed = []
    first = tile_index * TILE_WIDTH
    for offset in range(width):
        if reader.at_end():
            raise CtLogError(f"{what}: {offset} entries, expected {width}")
        entry_type, certificate = _timestamped_entry(reader)
        precert = reader.opaque(3, "pre_certificate", minimum=1) if entry_type == PRECERT_ENTRY else None
        chain = reader.uint(2, "certificate_chain length")
        if chain % 32:
            raise CtLogError(f"{what}: certificate_chain of {chain} bytes is not a list of SHA-256 fingerprints")
        reader.skip(chain, "certificate_chain")
        if start <= offset < stop:
            der = precert if precert is not None else certificate
            assert der is not None
            framed.append(RawEntry(first + offset, der, precert is not None))
    if width == TILE_WIDTH and not reader.at_end():
        raise CtLogError(f"{what}: {len(tile) - reader.pos} bytes after {width} entries")
    return framed


def data_tile_path(tile_index: int, width: int) -> str:
    """`tile/data/<N>[.p/<W>]` with N in 3-digit path elements, all but the last prefixed with `x`."""
    if tile_index < 0 or not 1 <= width <= TILE_WIDTH:
        raise ValueError(f"tile {tile_index} width {width}")
    digits = str(tile_index)
    digits = digits.zfill(-(-len(digits) // 3) * 3)
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    path = "/".join([*(f"x{group}" for group in groups[:-1]), groups[-1]])
    return f"tile/data/{path}" + (f".p/{width}" if width < TILE_WIDTH else "")

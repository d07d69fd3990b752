"""A CT log's tree head: RFC 6962 get-sth JSON or a static-ct-api checkpoint, its signature checked when the
log's public key is configured (RFC 6962 §3.5 TreeHeadSignature; c2sp.org/static-ct-api "Checkpoints")."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from monitor.discovery.ct_parse import CtLogError
from monitor.errors import InvalidInput

_DECIMAL = re.compile(r"^(0|[1-9][0-9]{0,19})$")
_SHA256, _RSA, _ECDSA = 4, 1, 3
_NOTE_RFC6962_SIGNATURE = b"\x05"
LogKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


@dataclass(frozen=True, slots=True)
class TreeHead:
    size: int
    timestamp_ms: int
    root_hash: bytes


@lru_cache(maxsize=64)
def log_key(key_b64: str) -> tuple[LogKey, bytes]:
    """The log's public key (base64 DER SubjectPublicKeyInfo, as in the CT log lists) and its LogID."""
    try:
        der = base64.b64decode(key_b64, validate=True)
        key = serialization.load_der_public_key(der)
    except (binascii.Error, ValueError):
        raise InvalidInput("ct log key", "not a base64 DER SubjectPublicKeyInfo") from None
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise InvalidInput("ct log key", "CT logs sign with ECDSA or RSA keys")
    return key, hashlib.sha256(der).digest()


def parse_sth(body: bytes, what: str, key_b64: str | None = None) -> TreeHead:
    """An RFC 6962 get-sth answer; its signature is verified when `key_b64` is given."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise CtLogError(f"{what}: the answer is not JSON") from None
    if not isinstance(document, dict):
        raise CtLogError(f"{what}: the answer is not a JSON object")
    size, timestamp = document.get("tree_size"), document.get("timestamp")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise CtLogError(f"{what}: tree_size is not a non-negative integer")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp < 0:
        raise CtLogError(f"{what}: timestamp is not a non-negative integer")
    head = TreeHead(size, timestamp, _root_hash(document.get("sha256_root_hash"), what))
    if key_b64 is not None:
        _verify(head, _b64(document.get("tree_head_signature"), f"{what} tree_head_signature"), key_b64, what)
    return head


def parse_checkpoint(body: bytes, what: str, key_b64: str | None = None) -> TreeHead:
    """A static-ct-api checkpoint (c2sp.org/tlog-checkpoint); with `key_b64`, the log's RFC 6962 note
    signature (key name = the origin line) must be there and verify."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise CtLogError(f"{what}: not UTF-8 text") from None
    note, separator, signatures = text.partition("\n\n")
    lines = note.split("\n")
    if not separator or len(lines) < 3 or not signatures.startswith("\u2014 "):
        raise CtLogError(f"{what}: not a signed checkpoint note (origin, size, root hash, blank line, signature)")
    if not _DECIMAL.match(lines[1]):
        raise CtLogError(f"{what}: tree size {lines[1][:40]!r} is not a decimal number")
    root = _root_hash(lines[2], what)
    if key_b64 is None:
        return TreeHead(int(lines[1]), 0, root)
    origin = lines[0]
    _, log_id = log_key(key_b64)
    key_id = hashlib.sha256(origin.encode() + b"\n" + _NOTE_RFC6962_SIGNATURE + log_id).digest()[:4]
    for line in signatures.split("\n"):
        name, _, signature_b64 = line.removeprefix("\u2014 ").partition(" ")
        if not line.startswith("\u2014 ") or name != origin:
            continue  # other keys and witnesses: ignored, as the spec says
        try:
            signature = base64.b64decode(signature_b64, validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(signature) > 12 and signature[:4] == key_id:
            head = TreeHead(int(lines[1]), int.from_bytes(signature[4:12], "big"), root)
            _verify(head, signature[12:], key_b64, what)
            return head
    raise CtLogError(f"{what}: no signature by the configured log key")


def _verify(head: TreeHead, digitally_signed: bytes, key_b64: str, what: str) -> None:
    key, _ = log_key(key_b64)
    if len(digitally_signed) < 4 or digitally_signed[0] != _SHA256:
        raise CtLogError(f"{what}: the tree head signature is not a SHA-256 DigitallySigned")
    algorithm = digitally_signed[1]
    length = int.from_bytes(digitally_signed[2:4], "big")
    signature = digitally_signed[4:]
    if len(signature) != length:
        raise CtLogError(f"{what}: the tree head signature's length does not match")
    signed = b"\x00\x01" + head.timestamp_ms.to_bytes(8, "big") + head.size.to_bytes(8, "big") + head.root_hash
    try:
        if isinstance(key, ec.EllipticCurvePublicKey) and algorithm == _ECDSA:
            key.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey) and algorithm == _RSA:
            key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise CtLogError(f"{what}: the tree head is signed with algorithm {algorithm}, not the log key's")
    except InvalidSignature:
        raise CtLogError(f"{what}: the tree head signature does not verify with the configured log key") from None


def _b64(value: object, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except (binascii.Error, ValueError):
        raise CtLogError(f"{what}: not valid base64") from None


def _root_hash(value: object, what: str) -> bytes:
    try:
        decoded = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) != 32:
        raise CtLogError(f"{what}: the root hash is not 32 base64-encoded bytes")
    return decoded

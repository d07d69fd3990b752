"""Certificate facts, our own trust-path building and host-name matching (cryptography only; no network).

Shared by the checks that verify certificates (tls, mail): one notion of trust and of a name match for all.

sslyze 6 validates with cryptography's web-PKI verifier, which folds name, time, algorithm and trust into one error
string, and refuses MD5 and SHA-1 signatures. We record that string as evidence but decide trust ourselves, by
building the path with signature checks only (any hash, MD5 and SHA-1 included), so that an expired, weakly signed
or wrongly named certificate from a trusted CA is reported as exactly that and not also as "untrusted". A path
that ends below a certificate whose issuer was neither sent nor is a trust anchor is an incomplete chain; only a
self-signed root at its end that no store holds makes it an untrusted root.
"""

from __future__ import annotations

import hashlib
import ipaddress
import threading
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PSS, PKCS1v15
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID
from sslyze.plugins.certificate_info.trust_stores.trust_store_repository import TrustStoresRepository

from checks.base import InvalidSetting
from checks.shared.cert_models import CertificateChain, CertificateFacts, TrustVerdict

MAX_PATH = 8
MAX_CA_FILE_BYTES = 10 * 1024 * 1024  # Mozilla's whole store is about 250 kB
_DER = Encoding.DER


def parse_served(ders: Iterable[bytes]) -> list[x509.Certificate]:
    """The served chain (DER, leaf first) as certificates, up to the first that does not parse."""
    certificates = []
    for der in ders:
        try:
            certificates.append(x509.load_der_x509_certificate(der))
        except ValueError:
            break
    return certificates


def certificate_facts(cert: x509.Certificate) -> CertificateFacts:
    key = cert.public_key()
    key_type, bits, curve = _key_info(key)
    try:
        hash_algorithm = cert.signature_hash_algorithm
        signature_hash = hash_algorithm.name if hash_algorithm is not None else None
    except UnsupportedAlgorithm:
        signature_hash = "unknown"
    return CertificateFacts(
        subject=_name(cert, "subject"),
        issuer=_name(cert, "issuer"),
        serial=format(cert.serial_number, "x"),
        sha256=hashlib.sha256(cert.public_bytes(_DER)).hexdigest(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_type=key_type,
        key_bits=bits,
        curve=curve,
        signature_algorithm=cert.signature_algorithm_oid._name,
        signature_hash=signature_hash,
        self_issued=_issued_by(cert, cert),
        is_ca=_is_ca(cert),
    )


NameKey = tuple[frozenset[tuple[str, object]], ...]


def name_key(name: x509.Name) -> NameKey:
    """Equal for equal names as cryptography compares them (attribute types and values, RDN by RDN), whatever
    string type each attribute was encoded with."""
    return tuple(frozenset((a.oid.dotted_string, a.value) for a in rdn) for rdn in name.rdns)


@dataclass(frozen=True, eq=False)
class TrustAnchors:
    """Trust anchors indexed for path building: by subject (DER) and by their own DER.

    Built once per store and bundle, not per scan: asking a certificate for its subject builds a Name object
    each time, and doing that for the whole Mozilla store at every step of every path was most of the check's own
    CPU time.
    """

    der: frozenset[bytes]
    by_subject: Mapping[NameKey, tuple[x509.Certificate, ...]]

    @classmethod
    def of(cls, certificates: Iterable[x509.Certificate]) -> TrustAnchors:
        by_subject: dict[NameKey, tuple[x509.Certificate, ...]] = {}
        der = set()
        for cert in certificates:
            der.add(cert.public_bytes(_DER))
            key = name_key(cert.subject)
            by_subject[key] = (*by_subject.get(key, ()), cert)
        return cls(frozenset(der), by_subject)

    def plus(self, other: TrustAnchors) -> TrustAnchors:
        merged = dict(self.by_subject)
        for key, certs in other.by_subject.items():
            merged[key] = (*merged.get(key, ()), *certs)
        return TrustAnchors(self.der | other.der, merged)


def analyse_chain(
    served: Sequence[x509.Certificate],
    anchors: TrustAnchors | Sequence[x509.Certificate],
    sslyze_errors: Iterable[str] = (),
) -> CertificateChain:
    """Facts about the served chain and whether it leads to one of `anchors` (signatures only)."""
    leaf = served[0]
    index = anchors if isinstance(anchors, TrustAnchors) else TrustAnchors.of(anchors)
    verdict, reason, path = _build_path(served, index)
    dns_names, ips = _subject_alt_names(leaf)
    try:
        common_names = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    except ValueError:  # a subject that does not decode (sslyze passes such chains on)
        common_names = []
    common_name = str(common_names[0].value) if common_names else None
    return CertificateChain(
        served=tuple(certificate_facts(c) for c in served),
        dns_names=dns_names,
        ip_addresses=ips,
        common_name=common_name,
        trust=verdict,
        trust_reason=reason,
        trusted_path=tuple(_name(c, "subject") for c in path) if verdict == "trusted" else (),
        issuer_url_published=any(ca_issuers_url(c) is not None for c in served),
        sslyze_validation_errors=tuple(sslyze_errors),
    )


def _build_path(
    served: Sequence[x509.Certificate], anchors: TrustAnchors
) -> tuple[TrustVerdict, str | None, list[x509.Certificate]]:
    path, anchored = _path_to_anchor(served, anchors)
    if anchored:
        return "trusted", None, path
    verdict, reason = _why_untrusted(path, served)
    return verdict, reason, path


def _path_to_anchor(served: Sequence[x509.Certificate], anchors: TrustAnchors) -> tuple[list[x509.Certificate], bool]:
    """From the leaf through the served certificates (in any order) to an anchor, which need not be sent."""
    path = [served[0]]
    pool = list(served[1:])
    current = served[0]
    for _ in range(MAX_PATH):
        if current.public_bytes(_DER) in anchors.der:
            return path, True
        anchor = next((a for a in _anchors_named(anchors, current) if _issued_by(current, a)), None)
        if anchor is not None:
            return [*path, anchor], True
        parent = next((c for c in pool if _issued_by(current, c)), None)
        if parent is None or parent in path:
            break
        path.append(parent)
        current = parent
    return path, False


def _why_untrusted(path: Sequence[x509.Certificate], served: Sequence[x509.Certificate]) -> tuple[TrustVerdict, str]:
    top = path[-1]
    if _issued_by(top, top):
        if len(path) == 1:
            return "self_signed", "the certificate is signed by its own key and is not a trust anchor"
        return "untrusted_root", f"the chain ends in a root that is not trusted: {_name(top, 'subject')}"
    if any(_issued_by(top, c) for c in served if c is not top):  # a loop, or a chain longer than MAX_PATH
        return "untrusted_root", f"no trust anchor within {MAX_PATH} certificates of the served chain"
    # Whether or not the missing issuer would lead to an anchor: a client that does not fetch it fails.
    return "incomplete_chain", _missing_issuer_reason(top)


def _missing_issuer_reason(top: x509.Certificate) -> str:
    reason = f"the server does not send the issuer of {_name(top, 'subject')}: {_name(top, 'issuer')}"
    url = ca_issuers_url(top)
    if url is None:
        return f"{reason}; the certificate names no URL for it (AIA caIssuers)"
    return f"{reason}; the certificate names it at {url} (AIA caIssuers, not fetched)"


def _anchors_named(anchors: TrustAnchors, child: x509.Certificate) -> Sequence[x509.Certificate]:
    """The anchors whose subject is `child`'s issuer; none when that name does not decode."""
    try:
        return anchors.by_subject.get(name_key(child.issuer), ())
    except ValueError:
        return ()


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """Is `child` signed by `parent`'s key? Signature only: legacy hashes (SHA-1, MD5) are judged elsewhere."""
    try:
        if child.issuer != parent.subject:
            return False
        key = parent.public_key()
        hash_algorithm = child.signature_hash_algorithm
        if isinstance(key, rsa.RSAPublicKey) and hash_algorithm is not None:
            # cryptography names no padding for the legacy md5/sha1WithRSAEncryption: they are PKCS #1 v1.5
            padding = child.signature_algorithm_parameters or PKCS1v15()
            if not isinstance(padding, PSS | PKCS1v15):
                return False
            key.verify(child.signature, child.tbs_certificate_bytes, padding, hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and hash_algorithm is not None:
            key.verify(child.signature, child.tbs_certificate_bytes, ec.ECDSA(hash_algorithm))
        elif isinstance(key, dsa.DSAPublicKey) and hash_algorithm is not None:
            key.verify(child.signature, child.tbs_certificate_bytes, hash_algorithm)
        else:
            child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _name(cert: x509.Certificate, which: str) -> str:
    try:
        return (cert.subject if which == "subject" else cert.issuer).rfc4514_string()
    except ValueError:
        return "(a name that does not decode)"


# An extension whose value does not decode raises ValueError when read: it is taken as absent.
def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except (x509.ExtensionNotFound, ValueError):
        return False


def ca_issuers_url(cert: x509.Certificate) -> str | None:
    """The certificate's AIA caIssuers URL (where its issuer's certificate is published), if it names one."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except (x509.ExtensionNotFound, ValueError):
        return None
    for description in aia:
        if description.access_method == AuthorityInformationAccessOID.CA_ISSUERS:
            location = description.access_location
            return str(location.value) if isinstance(location, x509.UniformResourceIdentifier) else None
    return None


def _subject_alt_names(cert: x509.Certificate) -> tuple[tuple[str, ...], tuple[str, ...]]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return (), ()
    dns = tuple(str(n) for n in san.get_values_for_type(x509.DNSName))
    ips = tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress))
    return dns, ips


def _key_info(key: object) -> tuple[str, int, str | None]:
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size, None
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size, None
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size, key.curve.name
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256, None
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456, None
    return "other", 0, None


def check_ca_file(path: Path, field: str = "ca_file") -> None:
    """The extra trust anchors exist on this host and are PEM certificates; else InvalidSetting naming `field`."""
    try:
        if not path.is_file():
            raise InvalidSetting(field, f"{path}: no such file")
        if path.stat().st_size > MAX_CA_FILE_BYTES:
            raise InvalidSetting(field, f"{path}: larger than {MAX_CA_FILE_BYTES} bytes, not a CA bundle")
        load_pem_bundle(path)
    except OSError as err:
        raise InvalidSetting(field, f"{path}: {err.strerror or type(err).__name__}") from None
    except ValueError:
        raise InvalidSetting(field, f"{path}: no PEM certificate in it") from None


def load_pem_bundle(path: Path) -> tuple[x509.Certificate, ...]:
    return _load_pem_bundle(path.resolve(), path.stat().st_mtime_ns)


@lru_cache(maxsize=16)
def _load_pem_bundle(path: Path, _mtime_ns: int) -> tuple[x509.Certificate, ...]:
    # keyed on mtime: a renewed bundle is read again
    return tuple(x509.load_pem_x509_certificates(path.read_bytes()))


# --- the trust settings every check that verifies a certificate shares: the system store plus a CA bundle ---


def trust_anchors(ca_file: Path | None) -> TrustAnchors:
    main = _main_anchors(prime_trust_stores())
    if ca_file is None:
        return main
    return _with_bundle(main, ca_file.resolve(), ca_file.stat().st_mtime_ns)


@lru_cache(maxsize=1)
def _main_anchors(certificates: tuple[x509.Certificate, ...]) -> TrustAnchors:
    return TrustAnchors.of(certificates)


@lru_cache(maxsize=16)
def _with_bundle(main: TrustAnchors, path: Path, _mtime_ns: int) -> TrustAnchors:
    # keyed on mtime: a renewed bundle is indexed again
    return main.plus(TrustAnchors.of(load_pem_bundle(path)))


_PRIME_LOCK = threading.Lock()
_primed: tuple[x509.Certificate, ...] | None = None


def prime_trust_stores() -> tuple[x509.Certificate, ...]:
    """Load sslyze's bundled stores once, before its worker threads do.

    Mozilla's store holds a root with a negative serial number, for which cryptography emits a deprecation
    warning on every parse; we parse once, with that one warning category silenced, and sslyze keeps the result.
    """
    global _primed
    with _PRIME_LOCK:
        if _primed is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                main = TrustStoresRepository.get_default().get_main_store().path
                _primed = load_pem_bundle(main)
        return _primed


def names_match(host: str, dns_names: Iterable[str], ip_addresses: Iterable[str]) -> bool:
    """RFC 6125 / CA-B Forum matching of `host` against subjectAltName only; one wildcard, whole left-most label."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        return any(ipaddress.ip_address(ip) == address for ip in ip_addresses)
    wanted = host.rstrip(".").lower()
    for name in dns_names:
        pattern = name.rstrip(".").lower()
        if pattern == wanted:
            return True
        if pattern.startswith("*.") and "*" not in pattern[2:]:
            head, _, rest = wanted.partition(".")
            if head and rest == pattern[2:] and rest.count(".") >= 1:
                return True
    return False

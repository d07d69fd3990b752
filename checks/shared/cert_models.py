"""The facts of a served certificate chain, shared by the checks that judge certificates (tls, mail)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from checks.base import Facts

TrustVerdict = Literal["trusted", "self_signed", "untrusted_root", "incomplete_chain", "no_certificate"]


class CertificateFacts(Facts):
    subject: str
    issuer: str
    serial: str
    sha256: str
    not_before: datetime
    not_after: datetime
    key_type: str  # RSA, DSA, EC, Ed25519, Ed448, other
    key_bits: int
    curve: str | None = None
    signature_algorithm: str  # dotted name, e.g. sha256WithRSAEncryption
    signature_hash: str | None  # sha1, md5, sha256, ... (None for Ed25519)
    self_issued: bool  # subject == issuer and the signature verifies with its own key
    is_ca: bool


class CertificateChain(Facts):
    served: tuple[CertificateFacts, ...]  # index 0 is the leaf, as the server sent it
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    common_name: str | None = None
    trust: TrustVerdict
    trust_reason: str | None = None  # why not trusted, in our words
    trusted_path: tuple[str, ...] = ()  # subjects from leaf to anchor when trusted
    issuer_url_published: bool = False  # leaf/intermediate carries an AIA caIssuers URL
    sslyze_validation_errors: tuple[str, ...] = ()  # cryptography's verdict per trust store, as evidence

    @property
    def leaf(self) -> CertificateFacts:
        return self.served[0]

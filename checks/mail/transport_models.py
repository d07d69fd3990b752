"""The transport facts of the mail check: what one STARTTLS probe of one MX and one TLSA lookup found.

JSON-storable (pydantic on `checks.base.Facts`), so a stored run can be judged again without a new connection: the
served chain is kept as DER (base64), which is what DANE matching needs.
"""

from __future__ import annotations

import base64
from typing import Literal

from checks.base import Facts

# Why a probe stopped short of a verified TLS session; None when it got that far.
StarttlsFailure = Literal[
    "connect",  # refused, unreachable, reset before the greeting
    "timeout",  # the deadline came first (a tarpit, a silent server)
    "closed",  # the server closed or reset the connection mid-dialogue
    "protocol",  # a reply that is not SMTP (no code, mixed codes, a line or a reply over our caps)
    "greeting_rejected",  # 4xx/5xx greeting (554 "no service")
    "ehlo_rejected",  # 4xx/5xx to EHLO: no extensions, so no STARTTLS
    "not_offered",  # EHLO answered without the STARTTLS keyword
    "starttls_rejected",  # STARTTLS offered, but answered 4xx/5xx (454 "TLS not available")
    "handshake",  # the TLS handshake after 220 failed
]


class StarttlsFacts(Facts):
    """One connection to one MX address on port 25: EHLO, STARTTLS, handshake, QUIT."""

    mx: str  # the MX host name (as in the MX record, no trailing dot): the name the certificate must carry
    address: str
    port: int = 25
    failure: StarttlsFailure | None = None
    reason: str | None = None  # a short human sentence for `failure`; server text quoted as data, cut short
    greeting: str | None = None  # the first greeting line, cut to 200 characters (evidence only)
    greeting_code: int | None = None
    ehlo_code: int | None = None
    extensions: tuple[str, ...] = ()  # EHLO keywords, upper case, without parameters
    offered: bool = False  # STARTTLS among the EHLO keywords (never a word in the greeting or the host name)
    starttls_code: int | None = None
    upgraded: bool = False  # the TLS handshake completed
    tls_version: str | None = None
    cipher: str | None = None
    chain_der_b64: tuple[str, ...] = ()  # the served chain, leaf first, DER in base64
    trusted: bool = False  # the chain leads to the system store or the agency's CA bundle (signatures only)
    trust_reason: str | None = None  # why not trusted (self-signed, untrusted root, incomplete chain)
    name_matches: bool = False  # the leaf's subjectAltName covers `mx` (RFC 6125)
    not_after: str | None = None  # the leaf's expiry, ISO 8601 (evidence; judged by the TLS check's rules later)
    expired: bool | None = None  # at probe time
    quit_sent: bool = False
    duration_s: float = 0.0

    def chain_der(self) -> tuple[bytes, ...]:
        return tuple(base64.b64decode(item) for item in self.chain_der_b64)


class TlsaRecord(Facts):
    usage: int
    selector: int
    matching_type: int
    data: str  # hex, lower case

    def text(self) -> str:
        return f"{self.usage} {self.selector} {self.matching_type} {self.data}"


TlsaLookupError = Literal["timeout", "refused", "network", "servfail", "rcode"]


class TlsaFacts(Facts):
    """The TLSA records at `_25._tcp.<mx>` as the validating resolver answered them."""

    mx: str
    owner: str  # `_25._tcp.<mx>`
    records: tuple[TlsaRecord, ...] = ()
    # the resolver set AD: the answer (records or their absence) validated as DNSSEC-secure
    secure: bool = False
    rcode: str = "NOERROR"
    error: TlsaLookupError | None = None  # no usable answer (a bogus zone answers SERVFAIL)
    reason: str | None = None


class TlsaVerdict(Facts):
    """`match_tlsa`'s result for one MX: does any usable TLSA record match the served chain?"""

    matched: bool
    matched_record: TlsaRecord | None = None
    matched_position: int | None = None  # index in the served chain (0: the leaf)
    usable: tuple[TlsaRecord, ...] = ()  # DANE-TA(2) / DANE-EE(3) records with a known selector and matching type
    unusable: tuple[TlsaRecord, ...] = ()  # PKIX-TA(0) / PKIX-EE(1) (RFC 7672 §3.1.3) and unknown parameters

"""The DNSSEC check's settings and typed facts: what the resolver said and what the zone publishes.

The facts are stored as JSON and judged again later without a new query (`evaluate` reads `ctx.now` for expiry), so
they hold times and numbers, never verdicts that depend on the clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from checks.base import CheckConfig, CheckDetails, Facts

Verdict = Literal["secure", "insecure", "bogus"]
# the zone's sets whose signatures the check reads (the apex data a visitor's resolver asks for first)
SIGNED_SETS = ("SOA", "NS", "DNSKEY", "A", "AAAA", "MX")
EDE_TEXT_MAX = 300  # the resolver's words are data: kept, but never longer than this


class DnssecConfig(CheckConfig):
    timeout_s: float = Field(default=20.0, gt=0, le=600)
    query_timeout_s: float = Field(
        default=4.0, gt=0, le=60, description="how long one question waits for the resolver (UDP: asked 3 times)"
    )
    expiry_warning_days: int = Field(
        default=7, ge=1, le=90, description="days before the earliest signature expires at which a warning starts"
    )
    expiry_high_days: int = Field(
        default=2, ge=0, le=90, description="days before the earliest signature expires at which the warning is high"
    )

    @model_validator(mode="after")
    def _ladder(self) -> DnssecConfig:
        if self.expiry_high_days > self.expiry_warning_days:
            raise ValueError("expiry_high_days must not exceed expiry_warning_days")
        return self


class DsFact(Facts):
    """One DS record the parent zone publishes for the domain."""

    key_tag: int
    algorithm: int
    digest_type: int  # 1 SHA-1, 2 SHA-256, 4 SHA-384
    # the key tag of the zone's DNSKEY whose digest this is; None when none is (or the digest type is unknown)
    matches_key: int | None = None
    digest_supported: bool = True  # False: a digest type the monitor cannot compute (nothing said about it)


class DnskeyFact(Facts):
    key_tag: int
    algorithm: int
    flags: int  # 257: key-signing key (SEP), 256: zone-signing key
    signs_dnskey_set: bool = False  # an RRSIG over the DNSKEY set carries this key's tag and algorithm

    @property
    def sep(self) -> bool:
        return bool(self.flags & 0x0001)

    @property
    def zone_key(self) -> bool:
        return bool(self.flags & 0x0100)


class SignatureFact(Facts):
    """One RRSIG over one of the zone's sets."""

    rrtype: str  # the covered set: SOA, NS, DNSKEY, A, AAAA, MX
    key_tag: int
    algorithm: int
    inception: datetime
    expiration: datetime
    # the signature's cryptography, checked only when the resolver called the zone bogus (None: not checked):
    # "valid", "invalid", or "no_key" (no DNSKEY of the zone has this tag and algorithm)
    crypto: Literal["valid", "invalid", "no_key"] | None = None


class DenialFact(Facts):
    """How the zone proves that a name or type does not exist."""

    kind: Literal["nsec", "nsec3"]
    iterations: int | None = None  # NSEC3: extra hash iterations (RFC 9276: 0)
    salt: str | None = None  # NSEC3: hex, "" for none (RFC 9276: none)


class EdeFact(Facts):
    """An Extended DNS Error (RFC 8914) the resolver sent. `text` is the resolver's own words: data."""

    code: int
    text: str = Field(default="", max_length=EDE_TEXT_MAX)


class Unanswered(Facts):
    """A question of the run that got no usable answer: the parts it would have shown are untested."""

    question: str  # "DS", "DNSKEY", "AAAA", "NSEC3PARAM", "SOA"
    reason: str


class DnssecDetails(CheckDetails):
    domain: str  # the zone, without the final dot
    resolver: str  # the resolver asked, `address:port` (`[v6]:port`)
    verdict: Verdict  # the resolver's: AD bit set, answer without AD, or SERVFAIL that checking disabled cures
    bogus_sets: tuple[str, ...] = ()  # the sets the resolver failed to validate (SERVFAIL), e.g. ("SOA", "DNSKEY")
    ede: EdeFact | None = None  # the most specific Extended DNS Error among the resolver's answers
    parent: str | None = None  # the zone that holds the domain's DS records (or proves there are none)
    ds: tuple[DsFact, ...] = ()
    dnskeys: tuple[DnskeyFact, ...] = ()
    signatures: tuple[SignatureFact, ...] = ()
    unsigned_sets: tuple[str, ...] = ()  # signed zone: sets it serves without any signature
    denial: DenialFact | None = None  # None: unsigned, or not seen
    # insecure only: the closest ancestor whose answer carried the AD bit (proof that the resolver validates)
    validating_ancestor: str | None = None
    unanswered: tuple[Unanswered, ...] = ()

    @property
    def signed(self) -> bool:
        return bool(self.dnskeys)

    def set_expirations(self) -> dict[str, datetime]:
        """Each signed set's end of validity: the latest expiration among its signatures."""
        ends: dict[str, datetime] = {}
        for signature in self.signatures:
            if signature.rrtype not in ends or signature.expiration > ends[signature.rrtype]:
                ends[signature.rrtype] = signature.expiration
        return ends

    def earliest_expiration(self) -> tuple[str, datetime] | None:
        """The set whose signatures run out first, and when; None when nothing is signed."""
        ends = self.set_expirations()
        if not ends:
            return None
        rrtype = min(ends, key=lambda name: (ends[name], SIGNED_SETS.index(name) if name in SIGNED_SETS else 99))
        return rrtype, ends[rrtype]

"""The mail check's settings and its stored facts: the DNS policy, each MX as probed, the MTA-STS policy fetch.

Stored as JSON and judged again without a new connection (`evaluate` is pure): every verdict that needs the network
(trust of a served chain, the TLSA answer's AD bit) is recorded here as a fact of the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from checks.base import CheckConfig, CheckDetails, Facts
from checks.mail.models import MailPolicyFacts, MtaStsPolicy, Text, TextList, bounded
from checks.mail.transport_models import StarttlsFacts, TlsaFacts


class MailConfig(CheckConfig):
    timeout_s: float = Field(default=90.0, gt=0, le=900)
    query_timeout_s: float = Field(
        default=4.0, gt=0, le=60, description="how long one DNS question waits for the resolver (UDP: asked 3 times)"
    )
    mx_deadline_s: float = Field(
        default=20.0,
        gt=0,
        le=300,
        description="the whole SMTP dialogue with one MX (connect, EHLO, STARTTLS, handshake, QUIT); a server that "
        "tarpits ends by it",
    )
    policy_deadline_s: float = Field(
        default=10.0, gt=0, le=120, description="fetching the MTA-STS policy file over HTTPS"
    )
    max_mx: int = Field(
        default=10, ge=1, le=20, description="MX hosts probed per run, lowest preference first; the rest are listed"
    )
    probe_reuse_s: float = Field(
        default=300.0,
        ge=0,
        le=3600,
        description="how long one MX's STARTTLS probe and TLSA answer serve every domain that uses that MX (a "
        "provider's MX is probed once, not once per domain); 0: every run probes its own",
    )
    ca_file: Path | None = Field(
        default=None,
        description="extra PEM trust anchors (an internal PKI's root) for the MX and MTA-STS certificates; "
        "`posture agency settings --ca-file` sets it together with the TLS check's",
    )


# Whether the check may connect to a host the domain's mail depends on (an MX, the MTA-STS policy host):
# `in_scope` the agency's scope holds it; `provider` a permitted mail provider's (POSTURE_MAIL_PROVIDERS); `asked` a
# one-off `posture scan`, which probes what it is asked to; `third_party` outside the scope, not contacted;
# `out_of_scope` its name is in the scope but it resolves to a non-public address no CIDR of the scope holds;
# `unresolved` it has no address; `over_limit` beyond `max_mx`.
Reach = Literal["in_scope", "provider", "asked", "third_party", "out_of_scope", "unresolved", "over_limit"]
CONTACTED: tuple[Reach, ...] = ("in_scope", "provider", "asked")


class MxProbe(Facts):
    """One MX of the domain (or the domain itself, the implicit MX of RFC 5321 §5.1) and what the run learnt."""

    mx: Text
    preference: int | None = None  # None: the implicit MX
    addresses: TextList = ()
    reach: Reach
    reach_reason: Text = ""  # why it was not contacted, or the permitted provider's suffix
    lookup_error: Text = ""  # the address lookup failed (temporary): nothing was learnt
    starttls: StarttlsFacts | None = None  # None: not contacted
    tlsa: TlsaFacts | None = None  # None: the MX's TLSA set was not asked (the domain receives no mail)

    @property
    def contacted(self) -> bool:
        return self.reach in CONTACTED and self.starttls is not None


# How the policy file fetch ended: `fetched` (an HTTP 200 over a handshake; its trust is judged apart), `failed`
# (no connection, handshake, HTTP error, over the caps, time), `not_fetched` (the host may not be contacted or the
# TXT record names no policy).
FetchStatus = Literal["fetched", "failed", "not_fetched"]


class MtaStsFetch(Facts):
    """The MTA-STS policy file (RFC 8461 §3.3) as fetched from https://mta-sts.<domain>/.well-known/mta-sts.txt."""

    url: Text
    host: Text
    address: Text = ""
    reach: Reach
    status: FetchStatus
    reason: Text = ""  # why it failed or was not fetched
    http_status: int | None = None
    content_type: Text = ""
    trusted: bool = False
    trust_reason: str | None = None
    name_matches: bool = False
    not_after: str | None = None
    expired: bool | None = None
    text: Text = ""  # the policy as served, cut to `models.MAX_TEXT` characters
    policy: MtaStsPolicy | None = None  # parsed when fetched

    @property
    def certificate_problem(self) -> str:
        """Why the policy host's certificate does not make the policy valid (§3.3); "" when it does."""
        if self.status != "fetched":
            return ""
        if not self.trusted:
            return f"certificate not trusted: {self.trust_reason or 'no path to a trusted root'}"
        if not self.name_matches:
            return f"certificate not valid for {self.host}"
        if self.expired:
            return "certificate expired or not yet valid"
        return ""


class MailDetails(CheckDetails):
    domain: Text
    policy: MailPolicyFacts
    mx: Annotated[tuple[MxProbe, ...], BeforeValidator(bounded)] = ()
    mta_sts: MtaStsFetch | None = None
    queries: int = 0  # DNS questions the run asked (the policy's and the MX addresses')

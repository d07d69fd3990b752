"""The mail policy's typed facts: JSON-storable, re-judged without a new scan.

Strings that come from the domain's owner (TXT records, names, policy text) are attacker-controlled: they are kept
as data, cut to `MAX_TEXT` characters, and lists are bounded, so one hostile zone cannot bloat a stored result.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator

from checks.base import Facts

MAX_TEXT = 512  # one TXT record or policy line as stored evidence
MAX_ITEMS = 20  # records, hosts, problems kept per fact


def cap(text: str, limit: int = MAX_TEXT) -> str:
    """`text` cut to `limit` characters, marked with "…" when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _capped(value: object) -> object:
    return cap(value) if isinstance(value, str) else value


def bounded(value: object) -> object:
    return list(value)[:MAX_ITEMS] if isinstance(value, list | tuple) else value


Text = Annotated[str, BeforeValidator(_capped)]
TextList = Annotated[tuple[Text, ...], BeforeValidator(bounded)]

# the outcome of one DNS question for a policy: `found` (a usable or broken record), `missing` (no such record),
# `unknown` (the question failed: a temporary error, judged as nothing, and the keys stay untested)
LookupStatus = Literal["found", "missing", "unknown"]


class Problem(Facts):
    """One reason a record is invalid: a stable `kind` and the evidence."""

    kind: str
    detail: Text = ""


Problems = Annotated[tuple[Problem, ...], BeforeValidator(bounded)]


class MxHost(Facts):
    preference: int
    host: Text  # absolute, without the trailing dot; "" for a null MX's "."


class MxFacts(Facts):
    """The domain's MX set. `null`: RFC 7505 `MX 0 .` (the domain receives no mail); `none`: no MX at all, then
    `fallback` holds the domain's own A/AAAA (RFC 5321 §5.1 implicit MX)."""

    status: Literal["mx", "null", "none", "unknown"]
    hosts: Annotated[tuple[MxHost, ...], BeforeValidator(bounded)] = ()
    fallback: TextList = ()
    error: Text = ""

    @property
    def receives_mail(self) -> bool:
        return self.status != "null"


class SpfFacts(Facts):
    status: LookupStatus
    domain: Text
    records: TextList = ()  # every v=spf1 record at the domain (more than one is an error)
    record: Text = ""  # the one that applies
    lookups: int = 0  # DNS-querying terms through every include and redirect (RFC 7208 §4.6.4, limit 10)
    lookups_capped: bool = False  # True: the walk stopped following includes, `lookups` is a lower bound
    void_lookups: int = 0  # lookups answered NXDOMAIN or empty (limit 2)
    # the qualifier of the `all` that ends evaluation, through `redirect`; None: no `all` anywhere
    all_qualifier: Literal["+", "-", "~", "?"] | None = None
    all_from: Text = ""  # the domain whose record holds that `all`
    problems: Problems = ()
    unexpanded: int = 0  # terms with macros: counted, not followed
    error: Text = ""  # the temporary error when status is unknown


class DmarcTags(Facts):
    """The parsed tags of a valid DMARC record (RFC 7489 §6.3), defaults filled in."""

    p: Literal["none", "quarantine", "reject"] | None = None
    sp: Literal["none", "quarantine", "reject"] | None = None
    pct: int = 100
    rua: TextList = ()
    ruf: TextList = ()
    adkim: Literal["r", "s"] = "r"
    aspf: Literal["r", "s"] = "r"
    fo: Text = "0"
    ri: int = 86400


class DmarcFacts(Facts):
    status: LookupStatus
    domain: Text
    queried: TextList = ()  # the names asked: _dmarc.<domain>, then _dmarc.<organisational domain>
    found_at: Text = ""  # the domain whose _dmarc record applies
    organisational: Text = ""  # the organisational domain (RFC 7489 §3.2), "" when the name is a public suffix
    records: TextList = ()
    record: Text = ""
    tags: DmarcTags | None = None  # None when the record is invalid
    problems: Problems = ()
    error: Text = ""


class PolicyRecordFacts(Facts):
    """A policy published as one tagged TXT record (TLS-RPT, MTA-STS): `records` every candidate, `record` the one
    that applies (none when there are several: then there is no policy)."""

    status: LookupStatus
    records: TextList = ()
    record: Text = ""
    problems: Problems = ()
    error: Text = ""


class TlsRptFacts(PolicyRecordFacts):
    rua: TextList = ()


class MtaStsTxtFacts(PolicyRecordFacts):
    id: Text = ""


class MtaStsPolicy(Facts):
    """A parsed policy file (RFC 8461 §3.2); `problems` non-empty means the policy is invalid."""

    version: Text = ""
    mode: Literal["enforce", "testing", "none"] | None = None
    mx: TextList = ()
    max_age: int | None = None
    problems: Problems = ()


class MailPolicyFacts(Facts):
    """What the DNS-policy half of the mail check knows about one domain."""

    domain: Text
    mx: MxFacts
    spf: SpfFacts
    dmarc: DmarcFacts
    tlsrpt: TlsRptFacts
    mta_sts: MtaStsTxtFacts
    queries: int = 0  # DNS questions asked

"""SMTP TLS Reporting (RFC 8460 §3): the `_smtp._tls` TXT record `v=TLSRPTv1; rua=…` (mailto: or https:)."""

from __future__ import annotations

import re

from checks.mail.lookup import DnsLookup, policy_record
from checks.mail.models import Problem, TlsRptFacts, cap

_DELIM = re.compile(r"[ \t]*;[ \t]*")
_MAILTO = re.compile(r"mailto:[^\s,;!@]+@[^\s,;!@]+", re.IGNORECASE)
_HTTPS = re.compile(r"https://[^\s,;/]+(?:/[^\s,;]*)?", re.IGNORECASE)


def is_tlsrpt(text: str) -> bool:
    """§3: records that do not begin with "v=TLSRPTv1" (case-sensitive) are ignored."""
    return re.match(r"v=TLSRPTv1(?:[ \t]*;|$)", text) is not None


def parse_tlsrpt(text: str) -> tuple[tuple[str, ...], list[Problem]]:
    """The `rua` URIs of a TLS-RPT record and its problems (§3: rua is required; mailto: or https: each)."""
    fields = _DELIM.split(text.strip())
    if fields and fields[-1] == "":
        fields.pop()
    if not fields or fields[0] != "v=TLSRPTv1":
        return (), [Problem(kind="v", detail="the record must begin with v=TLSRPTv1")]
    problems: list[Problem] = []
    rua: tuple[str, ...] = ()
    seen_rua = False
    for field in fields[1:]:
        name, sep, value = field.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}", name):
            problems.append(Problem(kind="syntax", detail=cap(f"not a field: {field!r}", 200)))
        elif name == "rua":
            if seen_rua:
                problems.append(Problem(kind="rua", detail="rua appears twice"))
            seen_rua = True
            uris = tuple(uri.strip() for uri in value.split(","))
            bad = [uri for uri in uris if not (_MAILTO.fullmatch(uri) or _HTTPS.fullmatch(uri))]
            if bad:
                problems.append(Problem(kind="rua", detail=cap(f"not a mailto: or https: URI: {bad[0]}", 200)))
            else:
                rua = uris
    if not seen_rua:
        problems.append(Problem(kind="rua", detail="the rua field is required"))
    return rua, problems


async def lookup_tlsrpt(domain: str, lookup: DnsLookup) -> TlsRptFacts:
    name = f"_smtp._tls.{domain.rstrip('.')}"
    found = await policy_record(name, lookup, is_tlsrpt, "v=TLSRPTv1 records (§3: then there is no policy)")
    if not found.record:
        return TlsRptFacts(**dict(found))
    rua, problems = parse_tlsrpt(found.record)
    return TlsRptFacts(**dict(found) | {"rua": rua, "problems": tuple(problems)})

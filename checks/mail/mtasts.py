"""MTA-STS (RFC 8461): the `_mta-sts` TXT record (§3.1), the policy file's text (§3.2), MX pattern matching (§4.1).

Fetching the policy over HTTPS is not done here: `parse_policy` judges the text once someone has fetched it.
"""

from __future__ import annotations

import re

from checks.mail.lookup import DnsLookup, policy_record
from checks.mail.models import MtaStsPolicy, MtaStsTxtFacts, Problem, cap

MAX_AGE_LIMIT = 31557600  # §3.2: at most one year
MAX_POLICY_LINES = 200  # a policy is a handful of lines; evidence stays bounded
_DELIM = re.compile(r"[ \t]*;[ \t]*")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PATTERN = re.compile(rf"(?:\*\.)?{_LABEL}(?:\.{_LABEL})+\.?")


def is_sts(text: str) -> bool:
    """§3.1: records that do not begin with "v=STSv1;" are ignored."""
    return re.match(r"v=STSv1(?:[ \t]*;|$)", text) is not None


def parse_sts_txt(text: str) -> tuple[str, list[Problem]]:
    """The `id` of an MTA-STS TXT record (1 to 32 letters and digits, required) and the record's problems."""
    fields = _DELIM.split(text.strip())
    if fields and fields[-1] == "":
        fields.pop()
    if not fields or fields[0] != "v=STSv1":
        return "", [Problem(kind="v", detail="the record must begin with v=STSv1")]
    ident = ""
    problems: list[Problem] = []
    for field in fields[1:]:
        name, sep, value = field.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}", name):
            problems.append(Problem(kind="syntax", detail=cap(f"not a field: {field!r}", 200)))
        elif name == "id":
            if ident:
                problems.append(Problem(kind="id", detail="id appears twice"))
            elif re.fullmatch(r"[A-Za-z0-9]{1,32}", value):
                ident = value
            else:
                problems.append(Problem(kind="id", detail=cap(f"id={value}: not 1 to 32 letters and digits", 200)))
    if not ident and not any(p.kind == "id" for p in problems):
        problems.append(Problem(kind="id", detail="the id field is required"))
    return ident, problems


async def lookup_sts_txt(domain: str, lookup: DnsLookup) -> MtaStsTxtFacts:
    name = f"_mta-sts.{domain.rstrip('.')}"
    found = await policy_record(name, lookup, is_sts, "v=STSv1 records (§3.1: then there is no policy)")
    if not found.record:
        return MtaStsTxtFacts(**dict(found))
    ident, problems = parse_sts_txt(found.record)
    return MtaStsTxtFacts(**dict(found) | {"id": ident, "problems": tuple(problems)})


def parse_policy(text: str) -> MtaStsPolicy:
    """A policy file's fields (§3.2): `version: STSv1`, `mode`, `max_age` and, unless mode is none, `mx` lines.

    Lines end in CRLF or LF; unknown keys are ignored; a key given twice counts once (its first value) except `mx`.
    """
    version, mode, max_age = "", None, None
    firsts: dict[str, str] = {}
    mx: list[str] = []
    problems: list[Problem] = []
    lines = text.replace("\r\n", "\n").split("\n")
    for number, line in enumerate(lines[:MAX_POLICY_LINES], 1):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip(" \t")
        if not sep or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}", key):
            problems.append(Problem(kind="syntax", detail=cap(f"line {number}: not key: value", 200)))
        elif key == "mx":
            if _PATTERN.fullmatch(value):
                mx.append(value.lower().rstrip("."))
            else:
                problems.append(Problem(kind="mx", detail=cap(f"not an MX pattern: {value}", 200)))
        elif key in ("version", "mode", "max_age"):
            firsts.setdefault(key, value)
    if len(lines) > MAX_POLICY_LINES:
        problems.append(Problem(kind="syntax", detail=f"more than {MAX_POLICY_LINES} lines"))
    version = firsts.get("version", "")
    if version != "STSv1":
        problems.append(Problem(kind="version", detail=cap(f"version is {version or 'missing'}, not STSv1", 200)))
    raw_mode = firsts.get("mode")
    if raw_mode in ("enforce", "testing", "none"):
        mode = raw_mode
    else:
        problems.append(Problem(kind="mode", detail=cap(f"mode is {raw_mode or 'missing'}", 200)))
    raw_age = firsts.get("max_age", "")
    if re.fullmatch(r"[0-9]{1,10}", raw_age) and int(raw_age) <= MAX_AGE_LIMIT:
        max_age = int(raw_age)
    else:
        problems.append(Problem(kind="max_age", detail=cap(f"max_age is {raw_age or 'missing'}", 200)))
    if not mx and mode in ("enforce", "testing"):
        problems.append(Problem(kind="mx", detail=f"mode {mode} needs at least one mx line"))
    return MtaStsPolicy(version=version, mode=mode, mx=tuple(mx), max_age=max_age, problems=tuple(problems))


def mx_matches(pattern: str, host: str) -> bool:
    """§4.1: `host` fits `pattern`; a leading "*." stands for exactly one leftmost label (case-insensitive)."""
    pattern = pattern.lower().rstrip(".")
    host = host.lower().rstrip(".")
    if pattern.startswith("*."):
        label, dot, rest = host.partition(".")
        return bool(label) and bool(dot) and rest == pattern[2:]
    return host == pattern


def policy_covers(policy: MtaStsPolicy, host: str) -> bool:
    """Whether any of the policy's `mx` patterns fits `host`."""
    return any(mx_matches(pattern, host) for pattern in policy.mx)

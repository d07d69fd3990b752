"""security.txt (RFC 9116): the parser (at fetch time: fields and malformed lines) and the rules (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from checks.web.models import MAX_FIELDS, SecurityTxtFacts, SecurityTxtField

PATHS = ("/.well-known/security.txt", "/security.txt")  # §3: the first is the place; the second is legacy
MAX_BYTES = 32 * 1024  # a real file is a few hundred bytes
_BEGIN_SIGNED = "-----BEGIN PGP SIGNED MESSAGE-----"
_BEGIN_SIGNATURE = "-----BEGIN PGP SIGNATURE-----"


def parse(url: str, status: int, content_type: str | None, body: bytes) -> SecurityTxtFacts:
    """The fields of a security.txt body (§2.4: `Name: value` lines, `#` comments, an optional cleartext
    signature around them) and the numbers of lines that are none of these."""
    text = body.decode("utf-8", errors="replace")
    lines = text.splitlines()
    fields: list[SecurityTxtField] = []
    malformed: list[int] = []
    signed = bool(lines) and lines[0].strip() == _BEGIN_SIGNED
    start = 0
    if signed:  # the armour header lines ("Hash: SHA256") end at the first empty line
        start = next((i + 1 for i, line in enumerate(lines) if not line.strip()), len(lines))
    for number, line in enumerate(lines[start:], start=start + 1):
        stripped = line.strip()
        if signed and stripped == _BEGIN_SIGNATURE:
            break
        if signed and stripped.startswith("- "):  # dash-escaped (RFC 4880 §7.1)
            stripped = stripped[2:]
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, value = stripped.partition(":")
        if not sep or not name.strip() or " " in name.strip() or not value.strip():
            if len(malformed) < MAX_FIELDS:
                malformed.append(number)
            continue
        if len(fields) < MAX_FIELDS:
            fields.append(SecurityTxtField(name=name.strip(), value=value.strip(), line=number))
    return SecurityTxtFacts(
        url=url,
        status=status,
        content_type=content_type,
        fields=tuple(fields),
        malformed_lines=tuple(malformed),
        signed=signed,
    )


@dataclass(frozen=True, slots=True)
class Verdict:
    problems: tuple[str, ...]  # what makes the file invalid (empty: valid)
    expires: datetime | None  # the parsed Expires, when there is exactly one that parses


def judge(facts: SecurityTxtFacts) -> Verdict:
    """RFC 9116's musts: Contact at least once (§2.5.3), Expires exactly once (§2.5.5) as an RFC 3339 date-time
    (§2.3), served as text/plain (§3), no line that is not a field or comment; Preferred-Languages at most once."""
    problems: list[str] = []
    values: dict[str, list[str]] = {}
    for entry in facts.fields:
        values.setdefault(entry.name.lower(), []).append(entry.value)
    media = (facts.content_type or "").split(";", 1)[0].strip().lower()
    if media != "text/plain":
        problems.append(f"served as {media or 'no media type'}, not text/plain")
    contacts = values.get("contact", [])
    if not contacts:
        problems.append("no Contact field")
    elif not all(_uri(value) for value in contacts):
        problems.append("a Contact that is not a URI (mailto:, tel: or https:)")
    expires = values.get("expires", [])
    when: datetime | None = None
    if not expires:
        problems.append("no Expires field")
    elif len(expires) > 1:
        problems.append("Expires appears more than once")
    else:
        when = rfc3339(expires[0])
        if when is None:
            problems.append(f"Expires is no RFC 3339 date-time: {expires[0][:64]}")
    if len(values.get("preferred-languages", [])) > 1:
        problems.append("Preferred-Languages appears more than once")
    if facts.malformed_lines:
        shown = ", ".join(str(n) for n in facts.malformed_lines[:5])
        problems.append(f"lines that are neither a field nor a comment: {shown}")
    return Verdict(tuple(problems), when)


def _uri(value: str) -> bool:
    return value.lower().startswith(("mailto:", "tel:", "https://"))


def rfc3339(text: str) -> datetime | None:
    """An RFC 3339 date-time with a zone (`2026-12-31T23:00:00Z`, `…+01:00`); None for anything else."""
    value = text.strip()
    if len(value) < 20 or value[10] not in "Tt":
        return None
    try:
        parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1] in "Zz" else value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None

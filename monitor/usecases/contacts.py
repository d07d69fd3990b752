"""Agency contacts: who receives the weekly report. The rules every interface (API, web UI, CLI) shares.

E-mail addresses are checked here without a library (email-validator is not a dependency): a dot-atom local part
of ASCII characters (RFC 5322 `atext`, no quoted strings: no mail system of an agency needs them) and a domain
that is a valid DNS name with at least two labels (IDNA names are stored in their ASCII form); never an IP literal,
never whitespace or control characters (the address goes into a mail header).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import get_args

from monitor.errors import InvalidInput
from monitor.models import LANGUAGES, Language
from monitor.scope import normalise_host, parse_ip
from monitor.store.audit import Actor
from monitor.store.contact_store import ContactStore, ContactView

MAX_NAME = 200
MAX_EMAIL = 254  # RFC 5321's limit of a forward path, less the angle brackets
MAX_LOCAL = 64
ROLES: tuple[str, ...] = ("security", "it", "management")
_ATEXT = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$")


def contact_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise InvalidInput("name", "must not be empty")
    if len(name) > MAX_NAME:
        raise InvalidInput("name", f"longer than {MAX_NAME} characters")
    if not name.isprintable():
        raise InvalidInput("name", "must not contain control characters")
    return name


def email_address(raw: str) -> str:
    """The address as stored: the local part as given, the domain in lower-case ASCII; InvalidInput otherwise."""
    text = raw.strip()
    if not text:
        raise InvalidInput("email", "must not be empty")
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise InvalidInput("email", "must not contain spaces or control characters")
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise InvalidInput("email", f"{text!r} is not an e-mail address such as it-sicherheit@behoerde.example")
    if len(local) > MAX_LOCAL:
        raise InvalidInput("email", f"the part before '@' is longer than {MAX_LOCAL} characters")
    atoms = local.split(".")
    if not all(_ATEXT.match(atom) for atom in atoms):
        raise InvalidInput("email", "the part before '@' may hold letters, digits and .!#$%&'*+/=?^_`{|}~- only")
    if domain.startswith("[") or parse_ip(domain) is not None:
        raise InvalidInput("email", "the domain must be a name, not an address")
    try:
        ascii_domain = normalise_host(domain, "email")
    except InvalidInput as err:
        raise InvalidInput("email", f"the domain: {err.reason}") from None
    if "." not in ascii_domain:
        raise InvalidInput("email", "the domain must have at least two labels (behoerde.example)")
    address = f"{local}@{ascii_domain}"
    if len(address) > MAX_EMAIL:
        raise InvalidInput("email", f"longer than {MAX_EMAIL} characters")
    return address


def contact_role(raw: str) -> str:
    role = raw.strip().lower()
    if role not in ROLES:
        raise InvalidInput("role", f"must be one of {', '.join(ROLES)}")
    return role


def contact_language(raw: str) -> Language:
    language = raw.strip().lower()
    for known in LANGUAGES:
        if language == known:
            return known
    raise InvalidInput("language", f"must be one of {', '.join(get_args(Language))}")


_RULES = {"name": contact_name, "email": email_address, "role": contact_role, "language": contact_language}


@dataclass(frozen=True, slots=True)
class ContactRequest:
    name: str
    email: str
    role: str = "security"
    language: str = "de"


def _checked(values: Mapping[str, str | None]) -> dict[str, str]:
    """Every given field checked; the first at fault is named (in the order name, email, role, language)."""
    return {field: rule(value) for field, rule in _RULES.items() if (value := values.get(field)) is not None}


class Contacts:
    """Add, change, remove an agency's contacts; each change audited in its own transaction (the store's)."""

    def __init__(self, store: ContactStore) -> None:
        self.store = store

    async def of_agency(self, agency: str) -> list[ContactView]:
        return await self.store.of_agency(agency)

    async def add(self, agency: str, request: ContactRequest, actor: Actor) -> ContactView:
        values = _checked(
            {"name": request.name, "email": request.email, "role": request.role, "language": request.language}
        )
        return await self.store.add(agency, values, actor)

    async def change(
        self, agency: str, contact_id: int, changes: Mapping[str, str | None], actor: Actor
    ) -> ContactView:
        unknown = set(changes) - set(_RULES)
        if unknown:
            raise InvalidInput(sorted(unknown)[0], "unknown field")
        checked = _checked(changes)
        if not checked:
            return await self.store.get(agency, contact_id)
        return await self.store.update(agency, contact_id, checked, actor)

    async def remove(self, agency: str, contact_id: int, actor: Actor) -> ContactView:
        return await self.store.remove(agency, contact_id, actor)

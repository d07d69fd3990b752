"""`posture contact add SLUG EMAIL --name NAME [--role R] [--language L]`, `contact list SLUG`,
`contact remove SLUG ID`.

Wired into monitor/cli.py with `add_parser(commands)` and the handlers in its `_ADMIN` table.
"""

from __future__ import annotations

import argparse
from typing import Any

from monitor.display import printable, table
from monitor.models import LANGUAGES
from monitor.settings import Settings
from monitor.store.audit import Actor
from monitor.store.store import Store
from monitor.usecases.contacts import ROLES, ContactRequest, Contacts

CLI_ACTOR = Actor(name="cli", source="cli")


def add_parser(commands: Any) -> None:
    contact = commands.add_parser("contact", help="who receives an agency's weekly report").add_subparsers(
        dest="action", required=True
    )
    add = contact.add_parser("add", help="add a contact")
    add.add_argument("slug")
    add.add_argument("email")
    add.add_argument("--name", required=True, help="the person or the team")
    add.add_argument("--role", default="security", help=f"one of {', '.join(ROLES)} (default security)")
    add.add_argument("--language", default="de", help=f"of the reports: {', '.join(LANGUAGES)} (default de)")
    listing = contact.add_parser("list", help="list an agency's contacts")
    listing.add_argument("slug")
    remove = contact.add_parser("remove", help="remove a contact")
    remove.add_argument("slug")
    remove.add_argument("id", type=int)


async def add(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    request = ContactRequest(args.name, args.email, args.role, args.language)
    view = await Contacts(store.contacts).add(args.slug, request, CLI_ACTOR)
    print(f"contact {view.id} added to {view.agency}: {view.email} ({view.role}, {view.language})")
    return 0


async def list_contacts(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    views = await Contacts(store.contacts).of_agency(args.slug)
    rows = [(v.id, printable(v.name), v.email, v.role, v.language) for v in views]
    print(table(["id", "name", "email", "role", "language"], rows))
    return 0


async def remove(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    view = await Contacts(store.contacts).remove(args.slug, args.id, CLI_ACTOR)
    print(f"contact {view.id} ({view.email}) removed from {args.slug}")
    return 0

"""`posture discover SLUG [--sources dns,sweep,certs,ct] [--json]`: run discovery for one agency now and show what
it found; new candidates wait in the agency's inbox (or are registered, with auto-register on).

Wired into `monitor/cli.py` with `add_parser(commands)` and `run` in its `_ADMIN` table.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, cast

from monitor.discovery.models import SOURCES, SourceName
from monitor.discovery.wiring import discovery_from
from monitor.display import printable, table
from monitor.errors import InvalidInput
from monitor.settings import Settings
from monitor.store.discovery_store import CandidateView
from monitor.store.store import Store
from monitor.usecases.discovery import DiscoveryOutcome, SourceOutcome

EXIT_OK = 0


def add_parser(commands: Any) -> None:
    discover = commands.add_parser(
        "discover", help="discover, inside an agency's scope, what it did not register (docs/discovery.md)"
    )
    discover.add_argument("slug", help="the agency")
    discover.add_argument(
        "--sources", default=",".join(SOURCES), metavar="LIST", help=f"comma-separated (default: {','.join(SOURCES)})"
    )
    discover.add_argument("--json", action="store_true", help="print JSON (docs/discovery.md)")
    discover.set_defaults(action="run")


def parse_sources(text: str) -> list[SourceName]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in SOURCES]
    if not names or unknown:
        raise InvalidInput("--sources", f"unknown source {unknown[0]!r}; known: {', '.join(SOURCES)}" if unknown
                           else f"name at least one of {', '.join(SOURCES)}")  # fmt: skip
    return [cast(SourceName, name) for name in dict.fromkeys(names)]


async def run(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    sources = parse_sources(args.sources)
    await store.registry.agency(args.slug)  # an unknown agency: one line, before any source runs
    outcome = await discovery_from(settings, store).discover(args.slug, sources)
    if args.json:
        print(json.dumps(outcome_json(outcome), indent=2, ensure_ascii=False))
        return EXIT_OK
    print(table(("SOURCE", "STATUS", "SEEN", "IN SCOPE", "NEW", "ERROR"), [
        (s.source, s.status, s.sightings, s.admitted, s.new, printable(s.error or "")) for s in outcome.sources
    ]))  # fmt: skip
    if outcome.new:
        print()
        print(table(("ID", "NEW CANDIDATE", "SOURCES", "EXPOSURE"), [
            (c.id, printable(c.display), ",".join(c.sources), c.exposure.label) for c in outcome.new
        ]))  # fmt: skip
    for candidate in outcome.registered:
        print(f"registered (auto-register): {printable(candidate.display)} as asset {candidate.asset_id}")
    return EXIT_OK


def outcome_json(outcome: DiscoveryOutcome) -> dict[str, Any]:
    return {
        "agency": outcome.agency,
        "sources": [source_json(s) for s in outcome.sources],
        "new": [candidate_json(c) for c in outcome.new],
        "registered": [candidate_json(c) for c in outcome.registered],
        "refused": [{"host": host, "reason": reason} for host, reason in outcome.refused],
    }


def source_json(source: SourceOutcome) -> dict[str, Any]:
    return {
        "source": source.source,
        "status": source.status,
        "sightings": source.sightings,
        "in_scope": source.admitted,
        "new": source.new,
        "error": source.error,
    }


def candidate_json(candidate: CandidateView) -> dict[str, Any]:
    return {
        "id": candidate.id,
        "host": candidate.host,
        "port": candidate.port,
        "sources": list(candidate.sources),
        "exposure": candidate.exposure.label,
        "state": candidate.state,
        "asset_id": candidate.asset_id,
        "evidence": candidate.evidence,
    }

"""`posture vulndb update [--from DIR | --seed]` and `posture vulndb match (CPE | --banner TEXT) [--json]`.

Wired into `monitor/cli.py` with `add_parser(commands)` and the two handlers in its `_ADMIN` table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from checks import REGISTRY
from checks.base import VulnToolkit
from monitor.display import printable, table
from monitor.settings import Settings
from monitor.store.availability import describe
from monitor.store.store import Store
from monitor.vulndb import load_database, toolkit_of
from monitor.vulndb_fetch import DownloadError, FeedUrls, download, newest_nvd_change

EXIT_OK, EXIT_ERROR = 0, 2


def add_parser(commands: Any) -> None:
    """Add `vulndb update` and `vulndb match` to the `posture` sub-commands."""
    vulndb = commands.add_parser("vulndb", help="the vulnerability database of the patch check").add_subparsers(
        dest="action", required=True
    )
    update = vulndb.add_parser("update", help="load KEV, NVD and EOL data (all or nothing)")
    source = update.add_mutually_exclusive_group()
    source.add_argument(
        "--from", dest="from_dir", type=Path, metavar="DIR", help="a local copy: DIR/kev/, DIR/nvd/, DIR/eol/"
    )
    source.add_argument("--seed", action="store_true", help="the seed bundled with this version")
    match = vulndb.add_parser("match", help="what the database says about one CPE name or banner line")
    match.add_argument("cpe", nargs="?", metavar="CPE", help="e.g. cpe:/a:apache:http_server:2.4.50")
    match.add_argument("--banner", metavar="TEXT", help="e.g. 'SSH-2.0-OpenSSH_9.3p1' or 'Server: nginx/1.20.0'")
    match.add_argument("--json", action="store_true", help="print JSON")


def _toolkit() -> VulnToolkit:
    found = toolkit_of(REGISTRY)
    if found is None:
        raise SystemExit("posture: error: vulndb: no registered check carries the vulnerability database")
    return found


async def update(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    toolkit = _toolkit()
    vulndb = store.vulndb
    try:
        if args.seed or args.from_dir is not None:
            folder = toolkit.seed_dir if args.seed else args.from_dir
            snapshot = await asyncio.to_thread(toolkit.feeds_from_dir, folder)
        else:
            stored = next((s["version"] for s in await vulndb.sources() if s["source"] == "nvd"), None)
            since = newest_nvd_change(stored)
            with tempfile.TemporaryDirectory(prefix="posture-vulndb-") as workdir:
                await download(Path(workdir), FeedUrls(), nvd_since=since)
                snapshot = await asyncio.to_thread(toolkit.feeds_from_dir, Path(workdir))
    except (ValueError, DownloadError, OSError) as err:  # FeedError is a ValueError
        print(f"posture: error: vulndb: {printable(_one_line(err))}; the stored data is unchanged", file=sys.stderr)
        return EXIT_ERROR
    try:
        summary = await vulndb.save(snapshot)  # one transaction: a failure leaves the previous data as it was
    except (SQLAlchemyError, OSError) as err:
        problem = printable(describe(err, settings.database_url))
        print(f"posture: error: vulndb: database: {problem}; the stored data is unchanged", file=sys.stderr)
        return EXIT_ERROR
    print(summary.line())
    return EXIT_OK


async def match(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    text = args.banner if args.banner is not None else args.cpe
    if not text or (args.banner is not None and args.cpe):
        print("posture: usage error: give either a CPE name or --banner TEXT", file=sys.stderr)
        return EXIT_ERROR
    toolkit = _toolkit()
    db = await load_database(store.vulndb, toolkit)
    try:
        documents = toolkit.lookup(db, text, store.clock.now().date())
    except ValueError as err:
        print(f"posture: error: vulndb: {printable(_one_line(err))}", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        print(json.dumps(documents[0] if len(documents) == 1 else documents, indent=2))
        return EXIT_OK
    for document in documents:
        print(_report(document))
    return EXIT_OK


def _report(document: dict[str, Any]) -> str:
    head = f"{printable(document['product'])} {printable(document['version'])}"
    if document.get("distribution"):
        head += f" ({printable(document['distribution'])} build: fixes may be backported)"
    lines = [head]
    rows = [
        (m["cve"], m["severity"], "yes" if m["kev"] else "no", m["confidence"], m["matched_range"])
        for m in document["matches"]
    ]
    lines.append(table(["cve", "severity", "kev", "confidence", "range"], rows) if rows else "no known CVE matches")
    eol = document.get("eol")
    if eol is None:
        lines.append("end of life: no data")
    else:
        state = "ended" if eol["ended"] else "supported"
        lines.append(f"end of life: cycle {eol['cycle']} {state} (eol {eol['eol']}, latest {eol['latest']})")
    return "\n".join(lines)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())[:300] or type(err).__name__

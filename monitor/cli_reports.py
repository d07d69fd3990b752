"""`posture report SLUG [--week 2026-W49] [--format pdf|html|json] [--output FILE] [--language de|en]`,
`posture report state …` (or `--state`) for the state-wide report, and `posture report send [--agency SLUG]`.

Wired into `monitor/cli.py` with `add_parser(commands)` and `report` in its `_ADMIN` table. The file is written
atomically: a temporary file next to it renamed into place, nothing left behind on an error.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from monitor.cli_report_send import send
from monitor.errors import InvalidInput
from monitor.models import LANGUAGES, Language
from monitor.reports.maker import MEDIA_TYPES, ReportFormat
from monitor.reports.render import PdfRenderer, StoreReportMaker
from monitor.reports.week import IsoWeek
from monitor.settings import Settings
from monitor.store.store import Store

SEND, STATE = "send", "state"


def add_parser(commands: Any) -> None:
    report = commands.add_parser(
        "report",
        help="weekly reports: one agency's, the state-wide one (`report state`), or send them (`report send`)",
    )
    report.set_defaults(action="report")
    report.add_argument(
        "target", metavar="SLUG|state|send", nargs="?", help="an agency's slug, `state` or `send` (see --agency)"
    )
    report.add_argument("--state", action="store_true", help="the state-wide report for the CERT")
    report.add_argument("--week", metavar="YYYY-Www", help="ISO week, e.g. 2026-W49 (default: the last complete one)")
    report.add_argument("--format", choices=sorted(MEDIA_TYPES), default="pdf", help="default: pdf")
    report.add_argument(
        "--output", metavar="FILE", help="where to write it; `-` for standard output (default: the report's name)"
    )
    report.add_argument("--language", choices=LANGUAGES, default="de", help="default: de")
    report.add_argument("--agency", metavar="SLUG", help="with `send`: only this agency's contacts")


async def report(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    if args.target == SEND:
        return await _send(args, settings, store)
    if args.agency is not None:
        raise InvalidInput("agency", "--agency goes with `report send`; name the agency as `report SLUG`")
    state = args.state or args.target == STATE
    if not state and not args.target:
        raise InvalidInput("report", "name an agency's slug, or `state` for the state-wide report")
    if args.state and args.target not in (None, STATE):
        raise InvalidInput("state", "--state reports on all agencies: leave out the slug")
    week = IsoWeek.parse(args.week) if args.week else IsoWeek.last_complete(store.clock.now())
    language: Language = args.language
    format: ReportFormat = args.format
    output = _output(args.output)  # checked before the work
    renderer = PdfRenderer(workers=1)
    maker = StoreReportMaker(store, renderer)
    try:
        if state:
            content = await maker.state(week, language, format)
            name = f"posture-state-{week}-{language}.{format}"
        else:
            rendered = await maker(args.target, week, language, format)
            content, name = rendered.content, rendered.filename
    finally:
        renderer.close()
    if output == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return 0
    target = Path(output or name)
    write_atomically(target, content)
    print(f"{target} ({len(content)} bytes)", file=sys.stderr)
    return 0


async def _send(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    """`posture report send [--agency SLUG] [--week W]`: the week's reports made, archived and mailed now."""
    return await send(args, settings, store)


def _output(value: str | None) -> str | None:
    if value is None or value == "-":
        return value
    folder = Path(value).parent
    if not folder.is_dir():
        raise InvalidInput("output", f"{folder}: no such directory")
    if Path(value).is_dir():
        raise InvalidInput("output", f"{value}: is a directory, name a file")
    return value


def write_atomically(target: Path, content: bytes) -> None:
    """Write `content` to `target` whole or not at all (a temporary file in the same folder, then renamed)."""
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as err:
        raise InvalidInput("output", f"{target}: {err.strerror or err}") from None
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise InvalidInput("output", f"{target}: {err.strerror or err}") from None

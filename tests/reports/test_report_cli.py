"""`posture report`: the files it writes (atomically), its one-line errors and exit codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from monitor.reports.week import IsoWeek
from monitor.store.store import Store
from tests.conftest import Posture
from tests.reports.lifecycle import AGENCY


async def test_json_and_html_to_a_file_and_to_standard_output(
    filled: Store, posture_subprocess: Posture, tmp_path: Path
) -> None:
    out = tmp_path / "bericht.json"
    done = posture_subprocess("report", AGENCY, "--week", "2026-W48", "--format", "json", "--output", str(out))
    assert done.code == 0, done.stderr
    assert json.loads(out.read_bytes())["score"] == 47
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".bericht")] == []  # no temporary left
    done = posture_subprocess(
        "report", AGENCY, "--week", "2026-W48", "--format", "html", "--output", "-", "--language", "en"
    )
    assert done.code == 0 and '<h2 id="changes">What changed</h2>' in done.stdout
    done = posture_subprocess("report", "--state", "--week", "2026-W48", "--format", "json", "--output", "-")
    assert done.code == 0 and json.loads(done.stdout)["agencies"][0]["agency"] == AGENCY


async def test_the_default_is_a_pdf_of_the_last_complete_week_named_after_it(
    filled: Store, posture_subprocess: Posture, tmp_path: Path
) -> None:
    done = posture_subprocess("report", AGENCY)
    assert done.code == 0, done.stderr
    week = IsoWeek.last_complete(datetime.now(UTC))
    written = tmp_path / f"posture-{AGENCY}-{week}-de.pdf"
    assert written.read_bytes().startswith(b"%PDF-")


async def test_mistakes_are_one_line_errors_and_leave_no_file(
    filled: Store, posture_subprocess: Posture, tmp_path: Path
) -> None:
    out = tmp_path / "x.pdf"
    for args, message in (
        (("report", "lk-gibt-es-nicht", "--week", "2026-W48"), "posture: error: agency: no agency 'lk-gibt-es-nicht'"),
        (("report", AGENCY, "--week", "2026-W54"), "posture: error: week: 2026 has no ISO week 54"),
        (("report", AGENCY, "--week", "letzte"), "posture: error: week: 'letzte' is not an ISO week such as 2026-W49"),
        (("report",), "posture: error: report: name an agency's slug, or `state` for the state-wide report"),
        (("report", "send"), "posture: error: smtp_host: no mail server configured (POSTURE_SMTP_HOST)"),
    ):
        done = posture_subprocess(*args, "--output", str(out))
        assert done.code == 2 and done.stderr.strip() == message, (args, done.stderr)
        assert not out.exists()
    done = posture_subprocess("report", AGENCY, "--output", str(tmp_path / "missing" / "x.pdf"))
    assert done.code == 2 and done.stderr.startswith("posture: error: output: ") and "Traceback" not in done.stderr
    done = posture_subprocess("report", AGENCY, "--format", "docx")
    assert done.code == 2 and "invalid choice: 'docx'" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".pdf") == []

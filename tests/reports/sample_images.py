"""The sample report's pages for docs/reports.md: the test story (tests/reports/lifecycle.py) in a throwaway
database, its 2026-W48 report as PDF, each page a PNG at 100 dpi (poppler's pdftoppm).

    PYTHONPATH=. python -m tests.reports.sample_images docs/img
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from monitor.clock import FakeClock
from monitor.reports.render import PdfRenderer, StoreReportMaker
from monitor.store.store import Store
from tests.reports.lifecycle import AGENCY, WEEK, fill


async def sample_pdfs(folder: Path) -> list[Path]:
    clock = FakeClock(datetime(2026, 10, 5, 6, 0, tzinfo=UTC))
    store = Store.open(f"sqlite+aiosqlite:///{folder / 'sample.db'}", clock)
    renderer = PdfRenderer(workers=1)
    try:
        await fill(store, clock)
        maker = StoreReportMaker(store, renderer)
        agency = folder / "report-agency.pdf"
        agency.write_bytes((await maker(AGENCY, WEEK, "de", "pdf")).content)
        state = folder / "report-state.pdf"
        state.write_bytes(await maker.state(WEEK, "de", "pdf"))
        return [agency, state]
    finally:
        renderer.close()
        await store.close()


def main(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="posture-sample-") as folder:
        for pdf in asyncio.run(sample_pdfs(Path(folder))):
            subprocess.run(["pdftoppm", "-r", "100", "-png", str(pdf), str(target / pdf.stem)], check=True)
    for image in sorted(target.glob("report-*.png")):
        print(image)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img"))

"""Fuzzing the feed download and the store update: whatever a feed server answers, `posture vulndb update` ends
in DownloadError or FeedError (one line), or in a complete snapshot; the stored database changes all or nothing.

The feed server is a real aiohttp server on 127.0.0.1 (port 0) answering generated bodies.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import func, select

from checks.patches.feeds import FeedError
from checks.patches.snapshot import Snapshot, load_dir
from monitor.store.engine import make_engine
from monitor.store.schema import upgrade
from monitor.store.tables import VULN_CVE, VULN_KEV
from monitor.store.vulndb import VulnStore
from monitor.vulndb_fetch import DownloadError, FeedUrls, RateLimit, _page_counts, download
from tests.fuzz.budget import budget
from tests.fuzz.test_feeds_fuzz import EOL, NVD, json_values, mutated
from tests.fuzz.test_feeds_fuzz import KEV as KEV_DOCUMENT

NOW = datetime(2026, 11, 27, tzinfo=UTC)


@budget()
@given(
    st.binary(max_size=300)
    | st.builds(lambda t, p: f'{{"totalResults": {t}, "resultsPerPage": {p}}}'.encode(), st.integers(), st.integers())
)
@example(b'{"totalResults": 1, "resultsPerPage": 1, "x": "\xff"}')
def test_page_counts_are_numbers_or_a_download_error(tmp_path_factory: pytest.TempPathFactory, raw: bytes) -> None:
    path = tmp_path_factory.mktemp("page") / "page-00000.json"
    path.write_bytes(raw)
    try:
        total, per_page = _page_counts(path)
    except DownloadError as err:
        assert str(err).startswith("page-00000.json: ") and "\n" not in str(err)
        return
    assert total >= 0 and per_page >= 0


def body(document: Any) -> st.SearchStrategy[bytes]:
    """A feed answer: the document (possibly damaged), cut short, or noise."""
    text = json.dumps(document).encode()
    return st.one_of(
        mutated(document).map(lambda d: json.dumps(d).encode()),
        st.integers(0, len(text)).map(lambda cut: text[:cut]),
        st.binary(max_size=100),
        json_values.map(lambda v: json.dumps(v).encode()),
    )


KEV_SMALL = {**KEV_DOCUMENT, "vulnerabilities": KEV_DOCUMENT["vulnerabilities"][:2], "count": 2}


@st.composite
def answers(draw: st.DrawFn) -> dict[str, bytes]:
    records = draw(st.lists(st.sampled_from(NVD), max_size=2))
    page = {
        "resultsPerPage": len(records),
        "startIndex": 0,
        "totalResults": len(records),
        "vulnerabilities": [{"cve": r} for r in records],
    }
    return {
        "kev": draw(st.just(json.dumps(KEV_SMALL).encode()) | body(KEV_SMALL)),
        "nvd": draw(st.just(json.dumps(page).encode()) | body(page)),
        "eol": draw(st.just(json.dumps(EOL[0]["releases"]).encode()) | body(EOL[0]["releases"])),
        "status": draw(st.sampled_from([200] * 8 + [404, 500])),
    }  # type: ignore[dict-item]


async def fetch_and_parse(answer: dict[str, Any], folder: Path) -> Snapshot:
    async def reply(request: web.Request) -> web.Response:
        name = request.match_info["feed"]
        status = answer["status"] if name == "kev" else 200
        return web.Response(body=answer[name], status=status, content_type="application/json")

    app = web.Application()
    app.router.add_get("/{feed}", reply)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    try:
        urls = FeedUrls(f"{base}/kev", f"{base}/nvd", f"{base}/eol?product={{product}}", ("nginx",))
        await download(
            folder, urls, nvd_since=datetime(2026, 10, 1, tzinfo=UTC), now=NOW, rate=RateLimit(1000, 0.01), timeout_s=10
        )
    finally:
        await runner.cleanup()
    return await asyncio.to_thread(load_dir, folder)


@budget(0.2)
@given(answers())
def test_any_feed_answer_ends_in_a_snapshot_or_one_line(
    tmp_path_factory: pytest.TempPathFactory, answer: dict[str, Any]
) -> None:
    folder = tmp_path_factory.mktemp("download")
    try:
        snapshot = asyncio.run(fetch_and_parse(answer, folder))
    except (DownloadError, FeedError) as err:
        assert "\n" not in str(err) and str(err)
        return
    assert snapshot.kev is not None and snapshot.nvd is not None and snapshot.eol is not None
    assert len(snapshot.kev.entries) == 2


def feed_folder(folder: Path, kev_entries: int) -> Path:
    for sub in ("kev", "nvd", "eol"):
        (folder / sub).mkdir(parents=True)
    kev = {**KEV_DOCUMENT, "vulnerabilities": KEV_DOCUMENT["vulnerabilities"][:kev_entries], "count": kev_entries}
    (folder / "kev" / "known_exploited_vulnerabilities.json").write_text(json.dumps(kev))
    (folder / "nvd" / "a.json").write_text(json.dumps(NVD[0]))
    (folder / "eol" / "nginx.json").write_text(json.dumps(EOL[0]))
    return folder


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An upgraded database holding a first update (KEV: 2 entries), copied for every example."""
    path = tmp_path_factory.mktemp("migrated") / "posture.db"
    first = load_dir(feed_folder(path.parent / "first", 2))

    async def build() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        await VulnStore(engine).save(first, now=NOW)
        await engine.dispose()

    asyncio.run(build())
    return path


@budget(0.3)
@given(st.sampled_from(["kev", "nvd", "eol"]), st.binary(max_size=60) | body(KEV_SMALL))
def test_a_damaged_feed_changes_nothing_in_the_store(
    tmp_path_factory: pytest.TempPathFactory, migrated: Path, feed: str, raw: bytes
) -> None:
    work = tmp_path_factory.mktemp("store")
    shutil.copy(migrated, work / "posture.db")
    folder = feed_folder(work / "update", 1)  # the update changes KEV to one entry, and carries the damaged file
    damaged = {"kev": "kev/known_exploited_vulnerabilities.json", "nvd": "nvd/b.json", "eol": "eol/php.json"}[feed]
    (folder / damaged).write_bytes(raw)

    async def run() -> tuple[int, int] | None:
        engine = make_engine(f"sqlite+aiosqlite:///{work}/posture.db")
        try:
            try:
                snapshot = load_dir(folder)
            except FeedError:
                return None
            await VulnStore(engine).save(snapshot, now=NOW)
            return await counts(engine)
        finally:
            await engine.dispose()

    async def stored() -> tuple[int, int]:
        engine = make_engine(f"sqlite+aiosqlite:///{work}/posture.db")
        try:
            return await counts(engine)
        finally:
            await engine.dispose()

    after = asyncio.run(run())
    if after is None:
        assert asyncio.run(stored()) == (2, 1)  # refused: nothing of the update landed
    else:
        assert after[0] == (len(json.loads(raw)["vulnerabilities"]) if feed == "kev" else 1)


async def counts(engine: Any) -> tuple[int, int]:
    async with engine.connect() as conn:
        kev = (await conn.execute(select(func.count()).select_from(VULN_KEV))).scalar_one()
        cve = (await conn.execute(select(func.count()).select_from(VULN_CVE))).scalar_one()
    return int(kev), int(cve)

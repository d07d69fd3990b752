"""A vulnerability-database update that does not finish: killed in the middle of its transaction, or stopped
by a full disk. The previous data stays, intact and in use, and the error is one line."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

from checks.patches import PatchCheck
from checks.patches.snapshot import SEED_DIR
from monitor.store.engine import make_engine
from monitor.store.vulndb import VulnStore
from monitor.vulndb import LiveVulnDb, toolkit_of
from tests.conftest import POSTURE, InProcessPosture, posture_env
from tests.faults.harness import fill, integrity
from tests.patches.test_store import without_kev

APACHE = ["vulndb", "match", "--banner", "Server: Apache/2.4.49", "--json"]
CVE = "CVE-2021-41773"  # in the seed's KEV catalog; the interrupted update would take it out


def new_feeds(tmp_path: Path) -> Path:
    """The bundled seed, changed: a KEV catalog without CVE-2021-41773."""
    feeds = tmp_path / "feeds"
    shutil.copytree(SEED_DIR, feeds, ignore=shutil.ignore_patterns("README.md", "LICENSE", "*schema*"))
    without_kev(feeds, CVE)
    return feeds


def kev_of_apache(posture: InProcessPosture) -> bool:
    done = posture(*APACHE)
    assert done.code == 0, done.stderr
    return next(m["kev"] for m in json.loads(done.stdout)["matches"] if m["cve"] == CVE)


def sources(database: Path) -> list[tuple[str, str, int, str]]:
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as conn:
        return conn.execute("SELECT source, version, records, updated_at FROM vuln_source ORDER BY source").fetchall()


def writing(database: Path) -> bool:
    """True while another connection holds the write lock, i.e. is inside a write transaction."""
    with contextlib.closing(sqlite3.connect(database, timeout=0, isolation_level=None)) as conn:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as err:
            if "locked" in str(err):
                return True
            raise
        conn.execute("ROLLBACK")
        return False


def live_database(url: str) -> LiveVulnDb:
    toolkit = toolkit_of({PatchCheck.name: PatchCheck})
    assert toolkit is not None
    return LiveVulnDb(VulnStore(make_engine(url)), toolkit)


def test_an_update_killed_mid_transaction_leaves_the_old_data_in_use(tmp_path: Path) -> None:
    database = tmp_path / "posture.db"
    url = f"sqlite+aiosqlite:///{database}"
    posture = InProcessPosture(posture_env(url), tmp_path)
    assert posture("db", "upgrade").code == 0
    assert posture("vulndb", "update", "--seed").code == 0
    before = sources(database)
    assert kev_of_apache(posture)
    live = live_database(url)  # what a running daemon holds
    assert asyncio.run(live.refresh())
    feeds = new_feeds(tmp_path)
    # When `posture vulndb update` is killed while its transaction is open
    update = subprocess.Popen([*POSTURE, "vulndb", "update", "--from", str(feeds)], env=posture.env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while not writing(database):
            assert update.poll() is None, "the update finished before it could be killed"
            assert time.monotonic() < deadline, "the update never started writing"
            time.sleep(0.01)
        update.kill()
    finally:
        update.kill()
        update.wait()
    # Then the database is intact, and the old data is what is stored and used
    assert integrity(database) == "ok"
    assert sources(database) == before
    assert kev_of_apache(posture)
    assert asyncio.run(live.refresh()) is False  # a daemon sees no change and keeps what it loaded
    # And the update, run again to the end, does change it (so the kill is what kept it)
    assert posture("vulndb", "update", "--from", str(feeds)).code == 0
    assert not kev_of_apache(posture)
    asyncio.run(live.store.engine.dispose())


def test_an_update_on_a_full_disk_fails_with_one_line_and_changes_nothing(tmp_path: Path, small_fs: Path) -> None:
    database = small_fs / "posture.db"
    posture = InProcessPosture(posture_env(f"sqlite+aiosqlite:///{database}"), tmp_path)
    assert posture("db", "upgrade").code == 0
    assert posture("vulndb", "update", "--seed").code == 0
    before = sources(database)
    feeds = new_feeds(tmp_path)
    filler = fill(small_fs, leave=256 << 10)  # room to open the database, not for a whole update
    done = posture("vulndb", "update", "--from", str(feeds))
    assert done.code == 2
    assert done.stderr.startswith("posture: error: vulndb: database: database or disk is full (")
    assert done.stderr.endswith(f"bytes free in {small_fs}); the stored data is unchanged\n")
    filler.unlink()
    assert integrity(database) == "ok"
    assert sources(database) == before and kev_of_apache(posture)
    assert posture("vulndb", "update", "--from", str(feeds)).code == 0  # space is back: it goes through
    assert not kev_of_apache(posture)

"""The vulndb tables: transactional updates, loading, and re-judging stored fingerprints after a KEV update."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

import monitor.cli_vulndb as cli_vulndb
from checks.patches import MemoryVulnDb, PatchCheck, PatchConfig
from checks.patches.fingerprints import from_banner, from_nmap_port, merge
from checks.patches.snapshot import SEED_DIR, Snapshot, load_dir
from monitor.cadence import Cadence
from monitor.clock import FakeClock
from monitor.findings import Policy, reconcile
from monitor.models import CheckResult, CheckStatus, EventType, Severity
from monitor.settings import Settings
from monitor.store.store import Store
from monitor.store.tables import AGENCY, OUTBOX, SCAN_RUN, VULN_KEV
from monitor.store.vulndb import VulnStore
from monitor.store.work import WorkQueue
from monitor.usecases.recording import Recorder
from monitor.usecases.rejudging import Rejudging
from monitor.vulndb import LiveVulnDb, load_database, toolkit_of
from tests.patches.stored import ports_details, store_endpoints

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
APACHE = {"port": 80, "service": "http", "product": "Apache httpd", "version": "2.4.49", "extrainfo": "(Unix)",
          "cpes": ["cpe:/a:apache:http_server:2.4.49"]}  # fmt: skip
OPENSSH = {
    "port": 22,
    "service": "ssh",
    "product": "OpenSSH",
    "version": "9.8p1",
    "cpes": ["cpe:/a:openbsd:openssh:9.8p1"],
}


def without_kev(feed_dir: Path, cve: str) -> None:
    path = feed_dir / "kev" / "known_exploited_vulnerabilities.json"
    document = json.loads(path.read_bytes())
    document["vulnerabilities"] = [v for v in document["vulnerabilities"] if v["cveID"] != cve]
    document["count"] = len(document["vulnerabilities"])
    path.write_text(json.dumps(document))


def update_args(from_dir: Path | None = None, seed: bool = False) -> argparse.Namespace:
    return argparse.Namespace(from_dir=from_dir, seed=seed)


@pytest.fixture(autouse=True)
def _registered(monkeypatch: pytest.MonkeyPatch, registry: dict[str, type[PatchCheck]]) -> None:
    # until checks/__init__.py registers the patch check, the CLI handlers find it in this registry
    monkeypatch.setattr(cli_vulndb, "REGISTRY", registry)


async def rejudged(
    engine: AsyncEngine, check: PatchCheck, config: PatchConfig, vulndb: object, now: datetime = NOW
) -> list[CheckResult[Any]]:
    """Every stored fingerprint judged again with `vulndb`, through recording's re-judging (no queue needed)."""
    store = Store(engine, FakeClock(now))
    recorder = Recorder(store.work_queue("test", Cadence(3600), 60))
    rejudging = Rejudging(store, recorder, {check.name: check}, {check.name: config}, {"vulndb": vulndb})
    return await rejudging.results(check.name)


async def kev_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(VULN_KEV))).scalar_one())


async def test_saved_and_loaded_database_matches_like_the_seed(engine: AsyncEngine, seed_db: MemoryVulnDb) -> None:
    toolkit = toolkit_of({"patch": PatchCheck})
    assert toolkit is not None
    assert isinstance(await load_database(VulnStore(engine), toolkit), MemoryVulnDb)  # empty tables: the bundled seed
    await VulnStore(engine).save(load_dir(SEED_DIR))
    loaded = await load_database(VulnStore(engine), toolkit)
    assert loaded.stats() == seed_db.stats()
    for probe in [("apache", "http_server", "2.4.49"), ("openbsd", "openssh", "7.4"), ("exim", "exim", "4.87")]:
        assert [m.cve for m in loaded.match(*probe)] == [m.cve for m in seed_db.match(*probe)]
        assert [m.kev for m in loaded.match(*probe)] == [m.kev for m in seed_db.match(*probe)]
    assert loaded.eol("f5", "nginx", "1.20.0") == seed_db.eol("f5", "nginx", "1.20.0")
    nvd_version = next(s["version"] for s in await VulnStore(engine).sources() if s["source"] == "nvd")
    await VulnStore(engine).save(Snapshot(nvd=(), origin="an empty incremental download"))
    assert next(s for s in await VulnStore(engine).sources() if s["source"] == "nvd")["version"] == nvd_version
    assert {s["source"]: s["records"] for s in await VulnStore(engine).sources()} == {
        "eol": 385,
        "kev": 1404,
        "nvd": 38,
    }


async def test_update_from_dir_then_a_truncated_feed_aborts_and_keeps_the_old_data(
    engine: AsyncEngine, feed_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings()
    assert await cli_vulndb.update(update_args(feed_dir), settings, Store(engine)) == 0
    assert "vulndb updated: kev 1404, nvd 38, eol 385" in capsys.readouterr().out
    # Given a KEV catalog cut in the middle and an NVD record cut short
    kev_path = feed_dir / "kev" / "known_exploited_vulnerabilities.json"
    kev_path.write_bytes(kev_path.read_bytes()[:200_000])
    # When the update runs, Then it stops with one line and exit 2, and the stored data is unchanged
    assert await cli_vulndb.update(update_args(feed_dir), settings, Store(engine)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not valid JSON" in err and "unchanged" in err
    assert await kev_count(engine) == 1404
    kev_path.write_bytes((SEED_DIR / "kev" / "known_exploited_vulnerabilities.json").read_bytes())
    nvd_path = feed_dir / "nvd" / "CVE-2021-41773.json"
    nvd_path.write_bytes(nvd_path.read_bytes()[:-40])
    without_kev(feed_dir, "CVE-2021-41773")  # a change that must NOT land, because the NVD part is broken
    assert await cli_vulndb.update(update_args(feed_dir), settings, Store(engine)) == 2
    assert "CVE-2021-41773.json" in capsys.readouterr().err
    assert await kev_count(engine) == 1404


async def test_a_new_kev_entry_escalates_stored_findings_without_a_scan(engine: AsyncEngine, feed_dir: Path) -> None:
    # Given a database whose KEV catalog lacks CVE-2021-41773, and two stored endpoints: Apache 2.4.49, OpenSSH 9.8p1
    without_kev(feed_dir, "CVE-2021-41773")
    store = VulnStore(engine)
    toolkit = toolkit_of({"patch": PatchCheck})
    assert toolkit is not None
    await store.save(load_dir(feed_dir))
    apache_id, openssh_id = await store_endpoints(engine, [ports_details(APACHE), ports_details(OPENSSH)])
    check, config = PatchCheck(), PatchConfig()
    before = await rejudged(engine, check, config, await load_database(VulnStore(engine), toolkit), NOW)
    assert [r.endpoint_id for r in before] == [apache_id, openssh_id]
    first = {o.key: o for o in before[0].observations}
    assert (
        first["patch.cve.CVE-2021-41773"].severity is Severity.HIGH
        and not first["patch.cve.CVE-2021-41773"].detail["kev"]
    )
    assert {o.key for o in before[1].observations} == {"patch.version_disclosed"}
    opened = reconcile({}, before[0], 0, Policy(), NOW)
    # When the full KEV catalog arrives
    await store.save(load_dir(SEED_DIR))
    after = await rejudged(engine, check, config, await load_database(VulnStore(engine), toolkit), NOW)
    # Then the stored fingerprint is judged again: KEV, critical, CISA's due date; the lifecycle escalates it
    traversal = {o.key: o for o in after[0].observations}["patch.cve.CVE-2021-41773"]
    assert traversal.severity is Severity.CRITICAL
    assert traversal.detail["kev"] is True and traversal.detail["due_date"] == "2021-11-17"
    assert after[0].status is CheckStatus.OK and after[0].check == "patch"
    assert [f.version for f in after[0].details.fingerprints] == ["2.4.49"]  # the stored ports fingerprint
    assert "kev 2025.08.25 (1404)" in after[0].details.database
    known = {s.key: s for s in opened.states}
    events = reconcile(known, after[0], 0, Policy(), NOW).events
    assert [(e.type, e.key) for e in events] == [(EventType.FINDING_ESCALATED, "patch.cve.CVE-2021-41773")]


async def test_rejudge_skips_endpoints_without_the_patch_check(engine: AsyncEngine, seed_db: MemoryVulnDb) -> None:
    await store_endpoints(engine, [ports_details(APACHE)], checks=("ports",))
    assert await rejudged(engine, PatchCheck(), PatchConfig(), seed_db, NOW) == []


async def test_rejudging_unreadable_ports_facts_is_a_crash_that_resolves_nothing(
    engine: AsyncEngine, seed_db: MemoryVulnDb
) -> None:
    """A renamed or damaged field in the stored ports facts must not read as "no ports": every CVE would resolve."""
    damaged = ports_details(APACHE)
    del damaged["address"]
    _, damaged_id = await store_endpoints(engine, [ports_details(APACHE), damaged])
    check = PatchCheck()
    sound, unreadable = await rejudged(engine, check, PatchConfig(), seed_db, NOW)
    assert sound.status is CheckStatus.OK and "patch.cve.CVE-2021-41773" in {o.key for o in sound.observations}
    assert unreadable.endpoint_id == damaged_id and unreadable.status is CheckStatus.CRASHED
    assert unreadable.error == "stored ports details do not parse (address: Field required)"
    opened = reconcile({}, dataclasses.replace(sound, endpoint_id=damaged_id), 0, Policy(), NOW)
    known = {state.key: state for state in opened.states}
    assert reconcile(known, unreadable, 0, Policy(), NOW).events == ()  # nothing resolved, nothing announced


async def test_rejudging_refuses_invalid_agency_settings_as_the_scheduler_does(
    engine: AsyncEngine, seed_db: MemoryVulnDb
) -> None:
    (endpoint_id,) = await store_endpoints(engine, [ports_details(APACHE)])
    async with engine.begin() as conn:
        await conn.execute(update(AGENCY).values(check_settings={"patch": {"banner_timeout_s": -1}}))
    (result,) = await rejudged(engine, PatchCheck(), PatchConfig(), seed_db, NOW)
    assert result.endpoint_id == endpoint_id and result.status is CheckStatus.MISCONFIGURED
    assert result.error is not None and result.error.startswith("agency or endpoint settings no longer valid: ")
    assert "banner_timeout_s" in result.error


async def test_match_prints_json_in_the_documented_shape(
    engine: AsyncEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    args = argparse.Namespace(cpe="cpe:/a:apache:http_server:2.4.50", banner=None, json=True)
    assert await cli_vulndb.match(args, Settings(), Store(engine)) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["product"] == "apache:http_server" and document["version"] == "2.4.50"
    assert document["matches"][0] | {"score": None, "matched_range": None} == {
        "cve": "CVE-2021-42013",
        "severity": "critical",
        "kev": True,
        "confidence": "high",
        "score": None,
        "matched_range": None,
        "due_date": "2021-11-17",
    }
    assert document["eol"]["cycle"] == "2.4"
    banner = argparse.Namespace(cpe=None, banner="220 (vsFTPd 2.3.4)", json=False)
    assert await cli_vulndb.match(banner, Settings(), Store(engine)) == 0
    text = capsys.readouterr().out
    assert "vsftpd_project:vsftpd 2.3.4" in text and "CVE-2011-2523" in text
    nothing = argparse.Namespace(cpe=None, banner="hello", json=False)
    assert await cli_vulndb.match(nothing, Settings(), Store(engine)) == 2
    assert "no product version found" in capsys.readouterr().err


async def test_the_live_database_reloads_after_an_update_and_triggers_rejudgement(
    engine: AsyncEngine, feed_dir: Path
) -> None:
    toolkit = toolkit_of({"patch": PatchCheck})
    assert toolkit is not None
    changes: list[object] = []

    async def changed(database: object) -> None:
        changes.append(database)

    live = LiveVulnDb(VulnStore(engine), toolkit, on_change=changed)
    assert await live.refresh() is True  # first load (the seed: tables empty); no re-judgement
    assert await live.refresh() is False and changes == []
    without_kev(feed_dir, "CVE-2021-41773")
    await VulnStore(engine).save(load_dir(feed_dir))
    assert await live.refresh() is True
    assert changes == [live.resources["vulndb"]]
    assert live.resources["vulndb"].kev("CVE-2021-41773") is None
    stop = asyncio.Event()
    stop.set()
    await live.run(stop, every_s=0.01)  # returns at once when stopped


def test_a_banner_read_replaces_a_version_less_nmap_fingerprint() -> None:
    nmap = from_nmap_port({"port": 8080, "service": "http", "product": "nginx", "version": "", "cpes": []})
    assert nmap is not None and nmap.version == ""
    merged = merge([nmap], from_banner("Server: nginx/1.20.0", 8080))
    assert [(f.source, f.version) for f in merged] == [("banner", "1.20.0")]
    kept = merge(from_banner("Server: nginx/1.18.0", 8080), from_banner("Server: nginx/1.20.0", 8080))
    assert [f.version for f in kept] == ["1.18.0"]


async def test_the_daemon_records_a_kev_escalation_as_an_alert_without_a_scan(
    engine: AsyncEngine, feed_dir: Path
) -> None:
    """The daemon's path: the live database changes, every stored fingerprint is re-judged, the store records
    the findings and queues the alert in one transaction, and no scan run or schedule changes."""
    without_kev(feed_dir, "CVE-2021-41773")
    store = VulnStore(engine)
    toolkit = toolkit_of({"patch": PatchCheck})
    assert toolkit is not None
    await store.save(load_dir(feed_dir))
    [apache_id] = await store_endpoints(engine, [ports_details(APACHE)])
    recorder = Recorder(WorkQueue(engine, "test", Cadence(3600), 60))
    check, config = PatchCheck(), PatchConfig()
    before = await rejudged(engine, check, config, await load_database(VulnStore(engine), toolkit))
    assert await recorder.record_rejudged(before) > 0  # the first judgement opens the findings
    await store.save(load_dir(SEED_DIR))  # the full KEV catalog arrives
    after = await rejudged(engine, check, config, await load_database(VulnStore(engine), toolkit))
    assert await recorder.record_rejudged(after) == 1
    async with engine.connect() as conn:
        newest = (await conn.execute(select(OUTBOX.c.type, OUTBOX.c.data).order_by(OUTBOX.c.id.desc()))).first()
        runs = (await conn.execute(select(func.count()).select_from(SCAN_RUN))).scalar_one()
    assert newest is not None and newest.type == "finding.escalated"
    assert newest.data["key"] == "patch.cve.CVE-2021-41773" and newest.data["kev"] is True
    assert newest.data["severity"] == "critical" and newest.data["endpoint_id"] == apache_id
    assert runs == 0

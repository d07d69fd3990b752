"""/metrics tells the lifecycle's truth: accepted risks are not open (the alerting rules, run by promtool on a real
rendering, stay quiet about them), the vulnerability data has an age from the first start, and
posture_mqtt_connected follows a real broker that goes away and comes back."""

from __future__ import annotations

import asyncio
import random
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from checks import REGISTRY
from monitor.app import Daemon
from monitor.cadence import Cadence
from monitor.exporter import MetricsEndpoint
from monitor.findings import Policy
from monitor.models import CheckResult, CheckStatus, Observation, Severity
from monitor.settings import Settings
from monitor.store.audit import Actor
from monitor.store.engine import make_engine
from monitor.store.finding_queries import FindingFilter, FindingQueries
from monitor.store.registry import Registry
from monitor.store.schema import upgrade
from monitor.store.store import Store
from monitor.store.tables import CHECK_STATE
from monitor.store.vulndb import VulnStore
from monitor.store.work import WorkQueue
from monitor.usecases.recording import Recorder
from monitor.vulndb import seed_dates, toolkit_of
from tests.faults.harness import seed
from tests.mqtt_broker import start_broker
from tests.waiting import until

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "dashboards" / "prometheus" / "rules.yml"
AGENCY = "lk-lifecycle"
ACTOR = Actor("test")
KEV_DUE = "2021-11-03"  # CISA's deadline for both Apache CVEs: long past, so these findings are overdue


def cve(name: str, severity: Severity, kev: bool) -> Observation:
    detail: dict[str, Any] = {"kev": kev, **({"due_date": KEV_DUE} if kev else {})}
    return Observation(f"patch.cve.{name}", severity, f"{name} in the served version", detail)


async def record_patch_results(engine: AsyncEngine, found: dict[str, list[Observation]]) -> dict[str, int]:
    """Register one endpoint per host and record a patch result with `found` through the daemon's own path."""
    registry, cadence = Registry(engine), Cadence(3600, rng=random.Random(1))
    await registry.add_agency(AGENCY, "Landkreis Lebenszyklus", ACTOR)
    await registry.add_scope(AGENCY, "127.0.0.0/8", ACTOR)
    ids = {host: (await registry.add_endpoint(AGENCY, host, 443, ["patch"], cadence, ACTOR)).id for host in found}
    async with engine.begin() as conn:
        await conn.execute(update(CHECK_STATE).values(next_due=datetime.now(UTC) - timedelta(seconds=1)))
    # high findings are due at once, so that accepting one is what keeps it out of the overdue count
    queue = WorkQueue(engine, "test", cadence, 60)
    recorder = Recorder(queue, Policy(deadlines={Severity.HIGH: timedelta(microseconds=1)}))
    claim = await queue.claim(datetime.now(UTC), 10)
    done = [
        (item, CheckResult("patch", item.endpoint_id, CheckStatus.OK, datetime.now(UTC), 0.1, None, tuple(obs)))
        for item in claim.items
        for host, obs in found.items()
        if ids[host] == item.endpoint_id
    ]
    assert await recorder.record(done) == len(found)
    return ids


async def accept_all(engine: AsyncEngine, endpoint_id: int) -> None:
    findings = FindingQueries(engine)
    page = await findings.page(FindingFilter(endpoint_id=endpoint_id, state="open"))
    for finding in page:
        until = datetime.now(UTC) + timedelta(days=30)
        await findings.accept_risk(finding.id, None, until, "compensating WAF rule until the March upgrade", ACTOR)


def samples(body: bytes) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def value(scrape: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float | None:
    return scrape.get((name, frozenset(labels.items())))


Fired = tuple[dict[str, str], str]  # an alert's labels and summary


def alerts_on(tmp_path: Path, body: bytes, expected: dict[str, list[Fired]]) -> None:
    """Run the real alerting rules with promtool on this rendering, held for an hour: `expected` lists the
    alerts each rule must fire after that hour (an empty list: it must stay quiet)."""
    series = [
        {
            "series": name + "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels)) + "}",
            "values": f"{value:g}x60",
        }
        for (name, labels), value in samples(body).items()
    ]
    series.append({"series": 'up{job="posture-monitor", instance="monitor:8080"}', "values": "1x60"})
    test = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {
                        "eval_time": "55m",
                        "alertname": name,
                        "exp_alerts": [
                            {"exp_labels": labels, "exp_annotations": {"summary": summary}} for labels, summary in fired
                        ],
                    }
                    for name, fired in expected.items()
                ],
            }
        ],
    }
    path = tmp_path / "lifecycle_test.yml"
    path.write_text(yaml.safe_dump(test))
    done = subprocess.run(["promtool", "test", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


async def test_accepted_risks_are_counted_apart_and_the_rules_stay_quiet_about_them(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await accepted_risks_are_counted_apart(engine, tmp_path)


async def test_accepted_risks_are_counted_apart_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    engine = make_engine(postgres_url)
    try:
        await upgrade(engine)
        await accepted_risks_are_counted_apart(engine, tmp_path)
    finally:
        await engine.dispose()


async def accepted_risks_are_counted_apart(engine: AsyncEngine, tmp_path: Path) -> None:
    ids = await record_patch_results(
        engine,
        {
            "127.0.0.2": [cve("CVE-2021-41773", Severity.CRITICAL, True), cve("CVE-2024-6387", Severity.HIGH, False)],
            "127.0.0.3": [cve("CVE-2021-42013", Severity.CRITICAL, True)],
        },
    )
    await accept_all(engine, ids["127.0.0.2"])
    checks = {name: cls() for name, cls in REGISTRY.items()}
    body = await MetricsEndpoint(Store(engine), checks).body()
    scrape = samples(body)
    agency = {"agency": AGENCY}
    # only the finding on 127.0.0.3 is open (and overdue); the two on 127.0.0.2 are accepted, by severity
    assert value(scrape, "posture_findings_open", **agency, check="patch", severity="critical") == 1
    assert value(scrape, "posture_findings_open", **agency, check="patch", severity="high") is None
    assert value(scrape, "posture_findings_overdue", **agency, severity="critical") == 1
    assert value(scrape, "posture_findings_overdue", **agency, severity="high") == 0
    assert value(scrape, "posture_findings_accepted", **agency, severity="critical") == 1
    assert value(scrape, "posture_findings_accepted", **agency, severity="high") == 1
    assert value(scrape, "posture_kev_vulnerabilities", **agency, endpoint="127.0.0.2:443") == 0
    assert value(scrape, "posture_kev_vulnerabilities", **agency, endpoint="127.0.0.3:443") == 1
    assert value(scrape, "posture_vulnerabilities", **agency, endpoint="127.0.0.2:443", severity="high") == 0
    alerts_on(
        tmp_path,
        body,
        {
            "PostureCriticalFindingOpen": [
                ({"severity": "critical", "agency": AGENCY}, f"{AGENCY} has 1 open critical findings")
            ],
            "PostureFindingsOverdue": [  # the open critical one only
                (
                    {"severity": "high", "agency": AGENCY, "finding_severity": "critical"},
                    f"{AGENCY} has 1 critical findings past their deadline",
                )
            ],
            "PostureKevExposure": [
                (
                    {"severity": "critical", "agency": AGENCY},
                    f"{AGENCY} exposes 1 known exploited vulnerabilities (CISA KEV)",
                )
            ],
        },
    )
    # once the last one is accepted too, nothing about findings fires
    await accept_all(engine, ids["127.0.0.3"])
    body = await MetricsEndpoint(Store(engine), checks).body()
    assert value(samples(body), "posture_findings_accepted", **agency, severity="critical") == 2
    alerts_on(
        tmp_path, body, {"PostureCriticalFindingOpen": [], "PostureFindingsOverdue": [], "PostureKevExposure": []}
    )


async def test_a_fresh_install_reports_the_bundled_seeds_age_until_the_first_update(engine: AsyncEngine) -> None:
    toolkit = toolkit_of(REGISTRY)
    assert toolkit is not None
    seed = seed_dates(toolkit)
    kev_released = toolkit.feeds_from_dir(toolkit.seed_dir).kev.released
    assert set(seed) == {"kev", "nvd", "eol"}
    assert seed["kev"] <= datetime.fromisoformat(kev_released)
    checks = {name: cls() for name, cls in REGISTRY.items()}
    scrape = samples(await MetricsEndpoint(Store(engine), checks, seed_dates=seed).body())
    for source in ("kev", "nvd", "eol"):  # no table rows yet: the daemon matches against the seed, and says how old
        assert value(scrape, "posture_vulndb_last_update_timestamp_seconds", source=source) == seed[source].timestamp()
    loaded = datetime.now(UTC).replace(microsecond=0)
    await VulnStore(engine).save(toolkit.feeds_from_dir(toolkit.seed_dir), loaded)
    scrape = samples(await MetricsEndpoint(Store(engine), checks, seed_dates=seed).body())
    assert value(scrape, "posture_vulndb_last_update_timestamp_seconds", source="kev") == loaded.timestamp()


async def test_mqtt_connected_follows_the_broker_at_once_not_at_the_next_refresh(tmp_path: Path) -> None:
    broker = start_broker(tmp_path / "broker")
    url = f"sqlite+aiosqlite:///{tmp_path}/posture.db"
    await seed(url, [], interval_s=60)
    settings = Settings(
        database_url=url, mqtt_url=broker.url, instance_id="gauge-1", http_addr="127.0.0.1:0", metrics_refresh_s=600
    )
    daemon = Daemon(settings)
    task = asyncio.create_task(daemon.run(handle_signals=False))

    async def connected() -> float | None:
        if daemon.metrics is None:
            return None
        return value(samples(await daemon.metrics.body()), "posture_mqtt_connected")

    try:
        await until(lambda: _is(connected(), 1), 15, "posture_mqtt_connected 1 once connected")
        await asyncio.to_thread(broker.stop)
        stopped = asyncio.get_running_loop().time()
        await until(lambda: _is(connected(), 0), 5, "posture_mqtt_connected 0 once the broker is gone")
        assert asyncio.get_running_loop().time() - stopped < 5  # the rendering of the snapshot is 600 s old
        await asyncio.to_thread(broker.start)
        await until(lambda: _is(connected(), 1), 20, "posture_mqtt_connected 1 after reconnecting")
        daemon.request_stop()
        await asyncio.wait_for(task, 30)
        assert await connected() is None  # a process that no longer publishes says nothing about the broker
    finally:
        daemon.request_stop()
        await asyncio.wait_for(task, 30)
        broker.stop()


async def _is(reading: Any, expected: float) -> bool:
    return bool(await reading == expected)

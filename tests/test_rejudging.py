"""Re-judging stored facts (an agency's new settings, a new vulnerability database) through recording."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from checks.patches import PatchCheck, PatchConfig
from checks.patches.snapshot import default_database
from checks.ports import PortsCheck, PortsConfig, PortsDetails
from monitor.cadence import Cadence
from monitor.models import CheckResult, CheckStatus, Observation, Severity
from monitor.store.store import Store
from monitor.store.tables import FINDING
from monitor.usecases.recording import Recorder
from monitor.usecases.rejudging import Rejudging
from tests.patches.stored import ports_details, store_endpoints

OPENSSH = {"port": 22, "service": "ssh", "product": "OpenSSH", "version": "9.8p1", "cpes": []}


async def test_a_rejudgement_leaves_drift_findings_as_they_are(engine: AsyncEngine) -> None:
    """Drift compares a scan with the one before; stored facts judged again have no scan before them."""
    [endpoint_id] = await store_endpoints(engine, [ports_details(OPENSSH)], checks=("ports",))
    store = Store(engine)
    recorder = Recorder(store.work_queue("test", Cadence(3600), 60))
    drift = Observation("ports.new_open", Severity.MEDIUM, "Ports opened since the previous scan", {"ports": [22]})
    facts = PortsDetails.model_validate(ports_details(OPENSSH))
    scanned = CheckResult("ports", endpoint_id, CheckStatus.OK, datetime.now(UTC), 1.0, facts, (drift,))
    await recorder.record_rejudged([scanned])  # the last scan saw port 22 open for the first time

    rejudging = Rejudging(store, recorder, {"ports": PortsCheck()}, {"ports": PortsConfig()})
    (result,) = await rejudging.results("ports", agency="lk-patch")
    assert result.status is CheckStatus.OK and "ports.new_open" in result.untested
    assert "ports.new_open" not in {o.key for o in result.observations}
    await rejudging.record("ports", agency="lk-patch")
    async with engine.connect() as conn:
        states = dict((await conn.execute(select(FINDING.c.key, FINDING.c.state))).all())
    assert states["ports.new_open"] == "open"


async def test_a_process_without_the_vulnerability_database_does_not_rejudge_patch_facts(engine: AsyncEngine) -> None:
    """The api role loads no database: judged against none, the stored CVE findings would all look fixed."""
    await store_endpoints(engine, [ports_details(OPENSSH)])
    store = Store(engine)
    rejudging = Rejudging(store, None, {"patch": PatchCheck()}, {"patch": PatchConfig()}, resources={})
    assert await rejudging.results("patch") == []
    loaded = Rejudging(store, None, {"patch": PatchCheck()}, {"patch": PatchConfig()}, {"vulndb": default_database()})
    assert [result.status for result in await loaded.results("patch")] == [CheckStatus.OK]

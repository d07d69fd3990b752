"""Attacker-controlled text wherever it is shown: terminals, /metrics label values, Grafana panels."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from checks.ports.check import PortsCheck
from checks.ports.models import OpenPort, PortsDetails
from monitor.display import printable, result_report, table
from monitor.exporter import MetricsEndpoint
from monitor.models import CheckResult, CheckStatus, Observation, Severity
from monitor.store.store import Store
from monitor.store.tables import LATEST
from tests.conftest import InProcessPosture, posture_env
from tests.test_scheduler import seed

ROOT = Path(__file__).resolve().parents[2]
# an ANSI screen clear, a window-title change, OSC 8 hyperlink, C1 CSI, a bidi override, a line separator
HOSTILE = "SSH-2.0-x\x1b[2J\x1b]0;pwned\x07\x1b]8;;http://evil\x1b\\\x9b31m\u202egnp.exe\u2028fake line\r\nforged"


def test_terminal_text_shows_control_characters_escaped() -> None:
    shown = printable(HOSTILE)
    assert all(ch.isprintable() and ch not in "\u202e\u2028" for ch in shown), shown
    assert shown.startswith("SSH-2.0-x\\x1b[2J") and "\\u202e" in shown
    observation = Observation("patch.banner.outdated", Severity.HIGH, f"banner {HOSTILE}", {"banner": HOSTILE})
    result: CheckResult[Any] = CheckResult("patches", 1, CheckStatus.OK, datetime.now(UTC), 0.1, None, (observation,))
    report = result_report(f"host{HOSTILE}", [result])
    assert "\x1b" not in report and "\x9b" not in report and "\u202e" not in report and "\r" not in report
    assert all(line.isprintable() for line in report.splitlines())
    assert "\x1b" not in table(["name"], [[HOSTILE]])


def test_cli_tables_escape_stored_text(tmp_path: Path, sqlite_url: str) -> None:
    posture = InProcessPosture(posture_env(sqlite_url), tmp_path)
    assert posture("db", "upgrade").code == 0
    assert posture("agency", "add", "lk-x", "--name", f"Kreis {HOSTILE}").code == 0
    listed = posture("agency", "list")
    assert listed.code == 0 and "\x1b" not in listed.stdout and "\u202e" not in listed.stdout
    assert "\\x1b]0;pwned\\x07" in listed.stdout


async def test_metrics_label_values_cannot_forge_series(engine: AsyncEngine) -> None:
    await seed(engine, [("127.0.0.2", 22)], ["ports"], 3600)
    service = 'ssh"} posture_forged 1\n# TYPE x gauge\nx{a="' + HOSTILE
    details = PortsDetails(
        address="127.0.0.2", scanned="22", open_ports=(OpenPort(port=22, service=service),), version_scan="done"
    )
    async with engine.begin() as conn:
        await conn.execute(
            insert(LATEST).values(
                endpoint_id=1, check="ports", status="ok", started_at=datetime.now(UTC), duration_s=1.0,
                details=details.model_dump(mode="json"), observations=[], error=None,
            )
        )  # fmt: skip
    endpoint = MetricsEndpoint(Store(engine), {"ports": PortsCheck()})
    await endpoint.refresh()
    assert endpoint.rendered is not None
    text = endpoint.rendered.decode()
    assert "posture_forged" not in [line.split("{")[0].split(" ")[0] for line in text.splitlines()]
    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert "x" not in families
    [sample] = families["posture_port_open"].samples
    assert sample.labels["service"] == service  # the value, intact, as one label


def _walk(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found += _walk(value)
    elif isinstance(node, list):
        for value in node:
            found += _walk(value)
    return found


# the only values a dashboard link may carry: ids and names our own registration validated, percent-encoded into
# one path segment or query value of a fixed address (Grafana's dashboards, or the web UI's endpoint page)
LINK_VALUES = {
    "${agency:percentencode}",
    *(f"${{__{kind}.{name}:percentencode}}" for kind in ("field.labels", "data.fields")
      for name in ("agency", "endpoint", "endpoint_id")),
    "${ui_base}",
}  # fmt: skip


def test_dashboards_render_no_label_as_html_and_link_only_validated_values() -> None:
    """Grafana escapes label values in tables, legends and stats; only text panels (HTML/markdown), HTML cell types
    and links would render them as markup. Links exist for the drill-down, and interpolate only registered agency
    slugs, endpoints (host:port, in scope) and endpoint ids, never a scanned value such as a service name."""
    files = sorted((ROOT / "dashboards" / "grafana" / "dashboards").glob("*.json"))
    assert files
    for path in files:
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            assert panel["type"] in {"timeseries", "stat", "table", "bargauge", "row"}, (path.name, panel["type"])
        for node in _walk(dashboard):
            if "url" in node:
                url = node["url"]
                assert url.startswith(("/d/posture-", "${ui_base}/ui/endpoints/", "${ui_base}/ui/domains/")), (
                    path.name,
                    url,
                )
                assert set(re.findall(r"\$\{[^}]*\}", url)) <= LINK_VALUES, (path.name, url)
                assert not re.sub(r"\$\{[^}]*\}", "", url).count(":"), (path.name, url)  # no scheme of its own
            assert node.get("mode") not in ("html", "markdown"), path.name
            assert node.get("type") not in ("text", "html", "dynamictext", "json-view", "image"), path.name
            cell = node.get("cellOptions", {})
            assert cell.get("type") not in ("json-view", "image", "data-links"), path.name
            if isinstance(node.get("value"), dict):
                assert node["value"].get("type") not in ("json-view", "image", "data-links"), path.name

"""The Grafana dashboards: built with the SDK from dashboards/build.py, current, valid PromQL over documented
metrics only, readable values, and a drill-down from the state overview to an endpoint's page in the web UI."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from dashboards.build import DASHBOARDS, render
from dashboards.kit import GRADES, SEVERITIES, expressions, substitute

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "dashboards/grafana/dashboards"
VARIABLES = {"agency": "lk-x", "check": ".*", "severity": ".*", "endpoint": "example.org:443"}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset",
                "bool", "inf", "nan"}  # fmt: skip


def every_expression() -> list[tuple[str, str]]:
    return [
        (where, substitute(expr, **VARIABLES)) for board in DASHBOARDS.values() for where, expr in expressions(board)
    ]


def test_the_committed_json_is_what_build_py_makes() -> None:
    """`make dashboards` regenerates them; a stale or stray file fails here."""
    assert sorted(p.name for p in OUT.glob("*.json")) == sorted(DASHBOARDS)
    for name, board in DASHBOARDS.items():
        assert (OUT / name).read_text() == render(board), f"{name} is stale: run `make dashboards`"


def test_every_expression_is_valid_promql(tmp_path: Path) -> None:
    """promtool checks syntax offline when each expression is a recording rule."""
    rules = [
        {"record": f"dashboard:expression_{i}:check", "expr": expr} for i, (_, expr) in enumerate(every_expression())
    ]
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    checked = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules)} rules found" in checked.stdout


def documented_metrics() -> set[str]:
    names = set(
        re.findall(r"^\| `(posture_\w+)` \| (?:gauge|counter|histogram)", (ROOT / "docs/metrics.md").read_text(), re.M)
    )
    text = (ROOT / "docs/metrics.md").read_text()
    histograms = re.findall(r"^\| `(posture_\w+)` \| histogram", text, re.M)
    counters = re.findall(r"^\| `(posture_\w+)` \| counter", text, re.M)
    return names | {f"{h}_{s}" for h in histograms for s in ("bucket", "sum", "count")} | {f"{c}" for c in counters}


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects: every identifier that is not a function, a keyword, a label in
    a matcher or grouping clause, or inside a string."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    expr = re.sub(r"\{[^}]*\}", "", expr)  # matchers
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)  # label lists
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = re.sub(r"\boffset\s+\w+", "", expr)
    identifiers = re.findall(r"\b([a-zA-Z_:][\w:]*)\b\s*(\()?", expr)
    return {
        name for name, call in identifiers if not call and name.lower() not in PROMQL_WORDS and not name[0].isdigit()
    }


def test_every_expression_names_only_documented_metrics() -> None:
    documented = documented_metrics()
    assert {"posture_findings_open", "posture_port_open", "posture_check_duration_seconds_bucket"} <= documented
    used: set[str] = set()
    for where, expr in every_expression():
        names = metric_names(expr)
        assert names, where
        assert names <= documented, (where, names - documented)
        used |= names
    for board in DASHBOARDS.values():  # the variables' label_values() queries too
        for variable in board["templating"]["list"]:
            if variable["type"] == "query":
                [metric] = re.findall(r"label_values\((\w+)", variable["query"])
                assert metric in documented, variable["name"]
    # a metric-name check that finds nothing would pass anything
    assert "posture_tls_grade_score" in used and "posture_findings_overdue" in used


def test_the_metric_name_check_catches_an_undocumented_name() -> None:
    assert metric_names('sum by (agency) (posture_nonsense{agency="x"}) or up * 0') == {"posture_nonsense", "up"}
    assert metric_names("histogram_quantile(0.95, sum by (le) (rate(a_bucket[5m])))") == {"a_bucket"}


def panels() -> list[tuple[str, dict[str, Any]]]:
    return [
        (board["uid"], panel) for board in DASHBOARDS.values() for panel in board["panels"] if panel["type"] != "row"
    ]


def mappings_of(panel: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(panel["fieldConfig"]["defaults"].get("mappings", []))
    for override in panel["fieldConfig"]["overrides"]:
        found += [m for prop in override["properties"] if prop["id"] == "mappings" for m in prop["value"]]
    return found


def test_values_are_readable() -> None:
    """Grades as letters, severities as words, timestamps as dates, durations with units, tables choose columns."""
    for uid, panel in panels():
        exprs = " ".join(t["expr"] for t in panel["targets"])
        texts = {o["text"] for m in mappings_of(panel) for o in m.get("options", {}).values()}
        shown = {o["properties"][0]["value"] for o in panel["fieldConfig"]["overrides"]
                 if o["properties"] and o["properties"][0]["id"] == "displayName"}  # fmt: skip
        if "posture_tls_grade_score" in exprs:
            assert {letter for letter, _ in GRADES.values()} <= texts, (uid, panel["title"])
        if re.search(r"sum by \([^)]*severity|legend.*severity", exprs) or "{{severity}}" in str(panel["targets"]):
            assert {word for word, _ in SEVERITIES.values()} <= texts | shown, (uid, panel["title"])
        if "timestamp_seconds" in exprs and "time() -" not in exprs and "- time()" not in exprs:
            units = [
                p["value"] for o in panel["fieldConfig"]["overrides"] for p in o["properties"] if p["id"] == "unit"
            ]
            units.append(panel["fieldConfig"]["defaults"].get("unit", ""))
            assert any(u.startswith("dateTime") for u in units), (uid, panel["title"])
            assert "* 1000" in exprs, (uid, panel["title"])  # Grafana's date units read milliseconds
        if "age_seconds" in exprs or "time() - posture" in exprs:
            assert panel["fieldConfig"]["defaults"]["unit"] in ("dtdurations", "s"), (uid, panel["title"])
        if panel["type"] == "table":
            [include] = [t for t in panel["transformations"] if t["id"] == "filterFieldsByName"]
            assert "Time" not in include["options"]["include"]["names"], (uid, panel["title"])
        assert panel["description"], (uid, panel["title"])


def links_of(panel: dict[str, Any]) -> list[str]:
    urls = [link["url"] for link in panel["fieldConfig"]["defaults"].get("links", [])]
    for override in panel["fieldConfig"]["overrides"]:
        urls += [link["url"] for prop in override["properties"] if prop["id"] == "links" for link in prop["value"]]
    return urls


def test_drill_down_from_the_state_to_an_endpoint_page_in_the_web_ui() -> None:
    uids = {board["uid"] for board in DASHBOARDS.values()}
    targets: dict[str, set[str]] = {}
    for uid, panel in panels():
        for url in links_of(panel):
            if url.startswith("/d/"):
                target = url.split("/")[2]
                assert target in uids, url
                targets.setdefault(uid, set()).add(target)
            else:
                assert url.startswith(("${ui_base}/ui/endpoints/", "${ui_base}/ui/domains/")), url
                targets.setdefault(uid, set()).add("ui")
    assert "posture-agency" in targets["posture-overview"]
    assert {"posture-endpoint", "ui"} <= targets["posture-agency"]
    assert "ui" in targets["posture-endpoint"]
    variables = {board["uid"]: {v["name"] for v in board["templating"]["list"]} for board in DASHBOARDS.values()}
    assert {"agency", "check", "severity", "ui_base"} <= variables["posture-overview"]
    assert {"agency", "check", "severity", "ui_base"} <= variables["posture-agency"]
    assert {"agency", "endpoint", "ui_base"} <= variables["posture-endpoint"]
    for uid in ("posture-overview", "posture-agency"):
        [board] = [b for b in DASHBOARDS.values() if b["uid"] == uid]
        assert board["annotations"]["list"], uid


def test_counts_are_the_ones_the_titles_promise() -> None:
    """Risky ports count only risky exposure classes; open findings come from the family without accepted risks."""
    for uid, panel in panels():
        exprs = " ".join(t["expr"] for t in panel["targets"])
        if "Riskante" in panel["title"]:
            assert 'risk!~"none|info"' in exprs, (uid, panel["title"])
        if "Offene" in panel["title"] and "Befunde" in panel["title"]:
            assert "posture_findings_open" in exprs and "accepted" not in exprs, (uid, panel["title"])
            assert "Accepted risks are not counted" in panel["description"], (uid, panel["title"])
        if "Überfällig" in panel["title"]:
            assert "posture_findings_overdue" in exprs, (uid, panel["title"])

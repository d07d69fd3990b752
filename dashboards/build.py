"""Builds the Grafana dashboards as JSON from this one description (`make dashboards`).

Panels are data: title (German, for the CERT's analysts), description (English), PromQL, and how to show it.
A test rebuilds them and compares with the committed files, and evaluates every expression against a real
Prometheus scraping a real daemon.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATASOURCE = {"type": "prometheus", "uid": "posture-prometheus"}
OUT = Path(__file__).resolve().parent / "grafana" / "dashboards"


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    expr: str
    kind: str = "timeseries"  # timeseries | stat | table | bargauge
    unit: str = "short"
    legend: str = ""
    instant: bool = False
    width: int = 12
    height: int = 8
    thresholds: list[tuple[float | None, str]] = field(default_factory=list)


def _panel(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    steps = [{"color": color, "value": value} for value, color in (panel.thresholds or [(None, "green")])]
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": panel.width, "h": panel.height},
        "fieldConfig": {
            "defaults": {"unit": panel.unit, "thresholds": {"mode": "absolute", "steps": steps}},
            "overrides": [],
        },
        "options": {"reduceOptions": {"calcs": ["lastNotNull"]}} if panel.kind in ("stat", "bargauge") else {},
        "targets": [
            {
                "refId": "A",
                "datasource": DATASOURCE,
                "expr": panel.expr,
                "legendFormat": panel.legend,
                "instant": panel.instant,
                "range": not panel.instant,
                **({"format": "table"} if panel.kind == "table" else {}),
            }
        ],
    }


def dashboard(
    uid: str, title: str, description: str, panels: list[Panel], agency_variable: bool = False
) -> dict[str, Any]:
    laid_out, x, y, row_height = [], 0, 0, 0
    for panel_id, panel in enumerate(panels, start=1):
        if x + panel.width > 24:
            x, y, row_height = 0, y + row_height, 0
        laid_out.append(_panel(panel, panel_id, x, y))
        x, row_height = x + panel.width, max(row_height, panel.height)
    variables = []
    if agency_variable:
        variables.append(
            {
                "name": "agency",
                "label": "Behörde",
                "type": "query",
                "datasource": DATASOURCE,
                "query": {"query": "label_values(posture_endpoint_info, agency)", "refId": "agency"},
                "definition": "label_values(posture_endpoint_info, agency)",
                "refresh": 2,
                "includeAll": False,
                "multi": False,
            }
        )
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["posture-monitor"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "1m",
        "time": {"from": "now-7d", "to": "now"},
        "templating": {"list": variables},
        "panels": laid_out,
    }


RED = [(None, "green"), (1, "red")]

OVERVIEW = dashboard(
    "posture-overview",
    "Sicherheitslage Niedersachsen",
    "State-wide posture for CERT analysts: who has what open, what is overdue, what is exposed.",
    [
        Panel(
            "Offene kritische/hohe Befunde je Behörde",
            "Agencies ranked by open critical and high findings (accepted risks excluded).",
            'sort_desc(sum by (agency) (posture_findings_open{severity=~"critical|high"}))',
            kind="bargauge",
            instant=True,
            legend="{{agency}}",
            thresholds=RED,
        ),
        Panel(
            "Offene Befunde nach Schwere",
            "Open findings state-wide by severity (accepted risks excluded).",
            "sum by (severity) (posture_findings_open)",
            legend="{{severity}}",
        ),
        Panel(
            "Akzeptierte Risiken nach Schwere",
            "Open findings whose risk an agency accepted (until its expiry): not alerted, not counted as open.",
            "sum by (severity) (posture_findings_accepted)",
            kind="bargauge",
            instant=True,
            legend="{{severity}}",
        ),
        Panel(
            "Überfällige Befunde",
            "Open findings past their remediation deadline, by agency (accepted risks excluded).",
            "sum by (agency) (posture_findings_overdue)",
            kind="bargauge",
            instant=True,
            legend="{{agency}}",
            thresholds=RED,
        ),
        Panel(
            "Riskante offene Ports",
            "Open ports by service across all agencies.",
            "sum by (service) (posture_port_open)",
            kind="bargauge",
            instant=True,
            legend="{{service}}",
        ),
        Panel(
            "Ältester offener Befund",
            "Age of the oldest open finding per severity.",
            "max by (severity) (posture_finding_oldest_open_age_seconds)",
            unit="s",
            legend="{{severity}}",
        ),
        Panel(
            "Zertifikate, die in < 30 Tagen ablaufen",
            "Certificates expiring within 30 days, per agency.",
            "count by (agency) ((posture_tls_cert_not_after_timestamp_seconds - time()) < 30 * 86400) "
            "or count by (agency) (posture_tls_cert_not_after_timestamp_seconds) * 0",
            kind="bargauge",
            instant=True,
            legend="{{agency}}",
            thresholds=RED,
        ),
        Panel(
            "TLS nicht konform",
            "Endpoints not compliant with each TLS profile (BSI TR-02102-2, Mozilla).",
            "count by (profile) (posture_tls_compliant == 0) or count by (profile) (posture_tls_compliant) * 0",
            kind="bargauge",
            instant=True,
            legend="{{profile}}",
            thresholds=RED,
        ),
        Panel(
            "TLS-Noten",
            "Endpoints per TLS grade.",
            "count by (grade) (posture_tls_grade_info)",
            kind="bargauge",
            instant=True,
            legend="{{grade}}",
        ),
        Panel(
            "KEV-Schwachstellen je Behörde",
            "Open vulnerabilities that CISA lists as known exploited, per agency.",
            "sort_desc(sum by (agency) (posture_kev_vulnerabilities))",
            kind="bargauge",
            instant=True,
            legend="{{agency}}",
            thresholds=RED,
        ),
        Panel(
            "Software ohne Herstellerunterstützung",
            "Products whose release line is out of support, per agency.",
            "count by (agency) (posture_eol_software) or sum by (agency) (posture_kev_vulnerabilities) * 0",
            kind="bargauge",
            instant=True,
            legend="{{agency}}",
            thresholds=RED,
        ),
        Panel(
            "Registrierte Endpunkte",
            "Registered endpoints per agency.",
            "count by (agency) (posture_endpoint_info)",
            kind="bargauge",
            instant=True,
            legend="{{agency}}",
        ),
    ],
)

AGENCY = dashboard(
    "posture-agency",
    "Behörde im Detail",
    "One agency: its endpoints, their checks, open ports and findings.",
    [
        Panel(
            "Endpunkte",
            "Registered endpoints of the agency.",
            'posture_endpoint_info{agency="$agency"}',
            kind="table",
            instant=True,
            width=24,
        ),
        Panel(
            "Offene Befunde nach Prüfung",
            "Open findings by check and severity (accepted risks excluded).",
            'sum by (check, severity) (posture_findings_open{agency="$agency"})',
            kind="table",
            instant=True,
        ),
        Panel(
            "Akzeptierte Risiken",
            "Open findings whose risk the agency accepted, by severity.",
            'sum by (severity) (posture_findings_accepted{agency="$agency"})',
            kind="table",
            instant=True,
        ),
        Panel(
            "Alter des ältesten Befunds",
            "Age of the oldest open finding by severity.",
            'posture_finding_oldest_open_age_seconds{agency="$agency"}',
            unit="s",
            legend="{{severity}}",
        ),
        Panel(
            "TLS je Endpunkt",
            "Grade score (F=0 … A+=7) per endpoint.",
            'posture_tls_grade_score{agency="$agency"}',
            kind="table",
            instant=True,
        ),
        Panel(
            "Zertifikatsablauf",
            "Days until each endpoint's certificate expires.",
            '(posture_tls_cert_not_after_timestamp_seconds{agency="$agency"} - time()) / 86400',
            kind="table",
            instant=True,
        ),
        Panel(
            "Schwachstellen je Endpunkt",
            "Open CVE findings per endpoint and severity; KEV ones separately.",
            'posture_vulnerabilities{agency="$agency"} > 0 or posture_kev_vulnerabilities{agency="$agency"}',
            kind="table",
            instant=True,
        ),
        Panel(
            "Offene Ports",
            "Open ports per endpoint.",
            'posture_port_open{agency="$agency"}',
            kind="table",
            instant=True,
        ),
        Panel(
            "Prüfungen erfolgreich",
            "1 when the last run of a check completed.",
            'posture_check_success{agency="$agency"}',
            kind="table",
            instant=True,
        ),
    ],
    agency_variable=True,
)

HEALTH = dashboard(
    "posture-health",
    "Monitor-Zustand",
    "Is the monitor itself healthy: check success, durations, backlog, alert delivery.",
    [
        Panel(
            "Erfolgsquote je Prüfung",
            "Share of endpoints whose last run of each check completed.",
            "avg by (check) (posture_check_success)",
            unit="percentunit",
            legend="{{check}}",
        ),
        Panel(
            "Laufzeit (p95) je Prüfung",
            "95th percentile duration of check runs.",
            "histogram_quantile(0.95, sum by (check, le) (rate(posture_check_duration_seconds_bucket[5m])))",
            unit="s",
            legend="{{check}}",
        ),
        Panel(
            "Prüfläufe je Status",
            "Check runs per second by result status.",
            "sum by (check, status) (rate(posture_check_runs_total[5m]))",
            unit="ops",
            legend="{{check}} {{status}}",
        ),
        Panel(
            "Rückstau fälliger Prüfungen",
            "Checks due now that no scanner has claimed yet.",
            "posture_scheduler_due_backlog",
            kind="stat",
            width=6,
        ),
        Panel(
            "Ausstehende Alarme",
            "Alert events waiting for the broker's acknowledgement.",
            "posture_alert_outbox_pending",
            kind="stat",
            width=6,
        ),
        Panel(
            "Aktualität der Schwachstellendaten",
            "Age of each vulnerability feed (CISA KEV, NVD, end-of-life).",
            "time() - posture_vulndb_last_update_timestamp_seconds",
            unit="s",
            legend="{{source}}",
        ),
        Panel(
            "Letztes Ergebnis je Prüfart",
            "Seconds since each check type last produced a result.",
            "time() - posture_check_last_result_timestamp_seconds",
            unit="s",
            legend="{{check}}",
        ),
    ],
)

CERTIFICATES = dashboard(
    "posture-certificates",
    "Zertifikatsabläufe",
    "Every served certificate by expiry, also where verification fails (expired, self-signed, wrong host).",
    [
        Panel(
            "Tage bis zum Ablauf",
            "Days until expiry, soonest first; negative means expired.",
            "sort((posture_tls_cert_not_after_timestamp_seconds - time()) / 86400)",
            kind="table",
            instant=True,
            width=24,
            height=12,
        ),
        Panel(
            "Prüfergebnis der Zertifikate",
            "Certificates by verification result.",
            "count by (reason) (posture_tls_cert_verify_ok)",
            kind="bargauge",
            instant=True,
            legend="{{reason}}",
        ),
        Panel(
            "Aktivierte Protokolle",
            "Endpoints accepting each protocol version.",
            "sum by (protocol) (posture_tls_protocol_enabled)",
            kind="bargauge",
            instant=True,
            legend="{{protocol}}",
        ),
    ],
)

DASHBOARDS = {
    "overview.json": OVERVIEW,
    "agency.json": AGENCY,
    "certificates.json": CERTIFICATES,
    "health.json": HEALTH,
}


def render(board: dict[str, Any]) -> str:
    return json.dumps(board, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for name, board in DASHBOARDS.items():
        (OUT / name).write_text(render(board))

"""Builds the Grafana dashboards as JSON from this one description with Grafana's typed SDK (`make dashboards`).

Titles are German, for the CERT's analysts; descriptions are English and say what each panel counts. Drill-down:
state overview → agency → endpoint → the endpoint's page in the web UI. Tests rebuild the JSON and compare it
with the committed files, put every expression through promtool, check every metric name against
docs/metrics.md, and evaluate every expression against a real Prometheus scraping a real daemon.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.models.common import BigValueTextMode

from dashboards.kit import (
    GRADE_LETTERS,
    OK_WORDS,
    RED_FROM_ONE,
    RISK_WORDS,
    SEVERITY_WORDS,
    PrometheusAnnotation,
    agency_variable,
    bars,
    cell,
    check_variable,
    coloured,
    coloured_days,
    dashboard,
    endpoint_variable,
    grade_series,
    grid,
    label,
    lines,
    row,
    severity_series,
    severity_variable,
    stat_panel,
    to_agency,
    to_endpoint,
    to_json,
    to_ui_domain,
    to_ui_endpoint,
    ui_base_variable,
    unit,
)

OUT = Path(__file__).resolve().parent / "grafana" / "dashboards"
RISKY = 'risk!~"none|info"'  # the catalogue's classes above info: info is the expected public web and mail
AGENCY_LINK = [to_agency(label("agency"))]
NOT_ACCEPTED = "Accepted risks are not counted: the daemon exports them only in posture_findings_accepted."


def finding_changes(selector: str) -> list[PrometheusAnnotation]:
    """Annotations where the number of open findings of an agency and severity rose or fell within a minute.
    posture_findings_overdue has a series (0 included) for every agency and severity that ever had a finding, so
    a count that falls to nothing still compares."""

    def count(offset: str = "") -> str:
        return (
            f"(sum by (agency, severity) (posture_findings_open{{{selector}}}{offset})"
            f" or sum by (agency, severity) (posture_findings_overdue{{{selector}}}{offset}) * 0)"
        )

    return [
        PrometheusAnnotation(
            "Befunde hinzugekommen",
            f"{count()} > {count(' offset 1m')}",
            "red",
            "{{agency}}: neue Befunde",
            "agency,severity",
        ),
        PrometheusAnnotation(
            "Befunde erledigt oder akzeptiert",
            f"{count()} < {count(' offset 1m')}",
            "green",
            "{{agency}}: weniger offene Befunde",
            "agency,severity",
        ),
    ]


def _mail_label(family: str, column: str, match: str, *, source: str = "policy") -> str:
    """The label value of a `posture_mail_*` state gauge as a column of its own (the grids merge several such)."""
    return (
        f'max by (agency, endpoint, {column}) (label_replace(posture_mail_{family}{{agency{match}"$agency"}}, '
        f'"{column}", "$1", "{source}", "(.*)"))'
    )


MAIL_COLUMNS = [
    ("agency", "Behörde"),
    ("endpoint", "Domain"),
    ("spf", "SPF"),
    ("dmarc", "DMARC"),
    ("mta_sts", "MTA-STS"),
    ("Value #D", "STARTTLS"),
    ("Value #E", "DANE"),
]
MAIL_COLUMN_CONFIG = {"STARTTLS": unit("percentunit"), "DANE": unit("percentunit")}


def _web_grade(match: str) -> str:
    return f'max by (agency, endpoint, grade) (posture_web_grade_info{{agency{match}"$agency"}})'


WEB_COLUMNS = [
    ("agency", "Behörde"),
    ("endpoint", "Endpunkt"),
    ("grade", "Note"),
    ("Value #B", "Punkte"),
    ("Value #C", "Tage bis security.txt abläuft"),
]
WEB_COLUMN_CONFIG = {"Tage bis security.txt abläuft": unit("d", *coloured_days(7, 30))}

OVERVIEW = dashboard(
    "posture-overview",
    "Sicherheitslage Niedersachsen",
    "State-wide posture for CERT analysts: who has what open, what is overdue, what is exposed. "
    "Click an agency for its dashboard.",
    [
        bars(
            "Offene kritische/hohe Befunde je Behörde",
            f"Question 1: which agencies have the most open critical and high findings? {NOT_ACCEPTED}",
            'sort_desc(sum by (agency) (posture_findings_open{agency=~"$agency", check=~"$check", '
            'severity=~"critical|high"}))',
            "{{agency}}",
            steps=RED_FROM_ONE,
            links=AGENCY_LINK,
        ),
        bars(
            "Überfällige Befunde je Behörde",
            "Question 2: which agencies have open findings past their remediation deadline (due_at: by severity, "
            f"KEV by CISA's due date)? Filtered by the severity variable. {NOT_ACCEPTED}",
            'sort_desc(sum by (agency) (posture_findings_overdue{agency=~"$agency", severity=~"$severity"}))',
            "{{agency}}",
            steps=RED_FROM_ONE,
            links=AGENCY_LINK,
        ),
        bars(
            "Riskante offene Ports nach Expositionsklasse",
            "Question 3: which risky services are reachable? Open ports of the ports catalogue's exposure classes "
            "with severity low or higher (Redis, RDP, SMB, databases …), by class; the expected public web and "
            "mail ports (class severity info) and ports of no class are not counted.",
            f'sort_desc(sum by (exposure) (posture_port_open{{agency=~"$agency", {RISKY}}}))',
            "{{exposure}}",
            steps=RED_FROM_ONE,
        ),
        bars(
            "KEV-Schwachstellen je Behörde",
            "Question 4: which agencies expose vulnerabilities that CISA lists as known exploited (KEV)? Open CVE "
            f"findings, counted per agency. {NOT_ACCEPTED}",
            'sort_desc(sum by (agency) (posture_kev_vulnerabilities{agency=~"$agency"}))',
            "{{agency}}",
            steps=RED_FROM_ONE,
            links=AGENCY_LINK,
        ),
        bars(
            "Zertifikate, die in < 30 Tagen ablaufen",
            "Question 5: whose certificates expire within 30 days (or have expired)? Served leaf certificates per "
            "agency, also those that fail verification.",
            'sort_desc(count by (agency) ((posture_tls_cert_not_after_timestamp_seconds{agency=~"$agency"} - time()) '
            '< 30 * 86400) or count by (agency) (posture_tls_cert_not_after_timestamp_seconds{agency=~"$agency"}) * 0)',
            "{{agency}}",
            steps=RED_FROM_ONE,
            links=AGENCY_LINK,
        ),
        lines(
            "Offene Befunde nach Schwere",
            f"Open findings over time by severity, for the chosen agencies, checks and severities. {NOT_ACCEPTED}",
            'sum by (severity) (posture_findings_open{agency=~"$agency", check=~"$check", severity=~"$severity"})',
            "{{severity}}",
            overrides=severity_series(),
        ),
        bars(
            "Akzeptierte Risiken nach Schwere",
            "Open findings whose risk an agency accepted, until the acceptance expires: not alerted and not counted "
            "in any other panel.",
            'sum by (severity) (posture_findings_accepted{agency=~"$agency", severity=~"$severity"})',
            "{{severity}}",
            overrides=severity_series(),
            width=8,
        ),
        bars(
            "Ältester offener Befund",
            f"How long the oldest open finding of each severity has been open. {NOT_ACCEPTED}",
            'max by (severity) (posture_finding_oldest_open_age_seconds{agency=~"$agency", severity=~"$severity"})',
            "{{severity}}",
            unit="dtdurations",
            overrides=severity_series(),
            width=8,
        ),
        bars(
            "TLS-Noten",
            "Endpoints per TLS grade (A+ … F).",
            'count by (grade) (posture_tls_grade_info{agency=~"$agency"})',
            "{{grade}}",
            overrides=grade_series(),
            width=8,
        ),
        bars(
            "TLS nicht konform",
            "Endpoints not compliant with each TLS profile (BSI TR-02102-2, Mozilla intermediate).",
            'count by (profile) (posture_tls_compliant{agency=~"$agency"} == 0) '
            'or count by (profile) (posture_tls_compliant{agency=~"$agency"}) * 0',
            "{{profile}}",
            steps=RED_FROM_ONE,
            width=8,
        ),
        bars(
            "Software ohne Herstellerunterstützung",
            "Products whose release line is out of support, counted per agency.",
            'count by (agency) (posture_eol_software{agency=~"$agency"}) '
            'or sum by (agency) (posture_kev_vulnerabilities{agency=~"$agency"}) * 0',
            "{{agency}}",
            steps=RED_FROM_ONE,
            links=AGENCY_LINK,
            width=8,
        ),
        bars(
            "Registrierte Endpunkte",
            "Registered endpoints per agency (domains are counted in the DNSSEC row).",
            'count by (agency) (posture_endpoint_info{agency=~"$agency", kind!="domain"})',
            "{{agency}}",
            links=AGENCY_LINK,
            width=8,
        ),
        row("DNSSEC"),
        bars(
            "Domains ohne gültiges DNSSEC je Behörde",
            "Registered domains whose DNSSEC does not validate (bogus: dark for validating resolvers) or that are "
            "unsigned (no DS at the parent), per agency.",
            'sort_desc(count by (agency) (posture_dnssec_secure{agency=~"$agency"} == 0) '
            'or count by (agency) (posture_dnssec_secure{agency=~"$agency"}) * 0)',
            "{{agency}}",
            steps=RED_FROM_ONE,
            links=AGENCY_LINK,
            width=8,
        ),
        grid(
            "DNSSEC-Signaturen nach Ablauf",
            "Every signed domain, soonest signature expiry first: days until the earliest RRSIG of its SOA, NS, "
            "DNSKEY and apex A/AAAA/MX sets expires (the alert fires within 3 days; a signer that stopped "
            "re-signing takes the domain offline for validating resolvers then), and whether it validates.",
            [
                '(posture_dnssec_signature_expiry_timestamp_seconds{agency=~"$agency"} - time()) / 86400 '
                "* on (agency, endpoint) group_left (endpoint_id) posture_endpoint_info",
                'posture_dnssec_secure{agency=~"$agency"}',
            ],
            [
                ("agency", "Behörde"),
                ("endpoint", "Domain"),
                ("Value #A", "Tage bis zum Ablauf"),
                ("Value #B", "validiert"),
            ],
            hidden=["endpoint_id"],
            columns_config={"Tage bis zum Ablauf": unit("d", *coloured_days(3, 7)), "validiert": coloured(OK_WORDS)},
            links={"Behörde": [to_agency(cell("agency"))], "Domain": [to_ui_domain(cell("endpoint_id"))]},
            sort=("Tage bis zum Ablauf", False),
            width=16,
        ),
        row("E-Mail"),
        bars(
            "Domains ohne durchgesetztes DMARC je Behörde",
            "Registered domains whose DMARC policy does not make receivers reject or quarantine forged mail: p=none, "
            "no record, or an invalid one (the mail check's findings say which), per agency.",
            "sort_desc(count by (agency) "
            '(posture_mail_dmarc_policy{agency=~"$agency", policy=~"none|missing|invalid"}) '
            'or count by (agency) (posture_mail_dmarc_policy{agency=~"$agency"}) * 0)',
            "{{agency}}",
            steps=RED_FROM_ONE,
            links=AGENCY_LINK,
            width=8,
        ),
        grid(
            "E-Mail-Sicherheit der Domains",
            "Every domain that receives mail, least protected first: the SPF and DMARC policy, the MTA-STS mode, and "
            "the share of its contacted MX hosts that offer STARTTLS and that DANE authenticates (empty: no MX host "
            "the scope admits was contacted).",
            [
                f"{_mail_label('spf_policy', 'spf', '=~')} * on (agency, endpoint) group_left (endpoint_id) "
                "posture_endpoint_info",
                _mail_label("dmarc_policy", "dmarc", "=~"),
                _mail_label("mta_sts_mode", "mta_sts", "=~", source="mode"),
                'posture_mail_starttls_coverage_ratio{agency=~"$agency"}',
                'posture_mail_dane_coverage_ratio{agency=~"$agency"}',
            ],
            MAIL_COLUMNS,
            hidden=["endpoint_id"],
            columns_config=MAIL_COLUMN_CONFIG,
            links={"Behörde": [to_agency(cell("agency"))], "Domain": [to_ui_domain(cell("endpoint_id"))]},
            sort=("STARTTLS", False),
            width=16,
        ),
        row("Webseiten"),
        bars(
            "Webseiten mit Note schlechter als B je Behörde",
            "Web sites (endpoints with the web check) whose MDN HTTP Observatory-compatible score is below 70 "
            "(grade B-, C, D or F: security headers, cookies or the HTTPS redirect missing), per agency.",
            'sort_desc(count by (agency) (posture_web_score{agency=~"$agency"} < 70) '
            'or count by (agency) (posture_web_score{agency=~"$agency"}) * 0)',
            "{{agency}}",
            steps=RED_FROM_ONE,
            links=AGENCY_LINK,
            width=8,
        ),
        grid(
            "Webseiten nach Note",
            "Every web site, lowest score first: the Observatory-compatible grade and score (docs/web.md) and the "
            "days until its security.txt expires (empty: none, or no Expires that parses).",
            [
                f"{_web_grade('=~')} * on (agency, endpoint) group_left (endpoint_id) posture_endpoint_info",
                'posture_web_score{agency=~"$agency"}',
                '(posture_web_security_txt_expiry_timestamp_seconds{agency=~"$agency"} - time()) / 86400',
            ],
            WEB_COLUMNS,
            hidden=["endpoint_id"],
            columns_config=WEB_COLUMN_CONFIG,
            links={"Behörde": [to_agency(cell("agency"))], "Endpunkt": [to_ui_endpoint(cell("endpoint_id"))]},
            sort=("Punkte", False),
            width=16,
        ),
        row("Entdeckte Systeme"),
        bars(
            "Unbestätigte entdeckte Systeme je Behörde",
            "Hosts and services discovery saw inside the agency's scope (DNS, network sweep, certificates, CT logs) "
            "that wait in its inbox: neither registered nor dismissed (docs/discovery.md).",
            'sort_desc(sum by (agency) (posture_discovered_assets{agency=~"$agency", state="candidate"}))',
            "{{agency}}",
            steps=RED_FROM_ONE,
            links=AGENCY_LINK,
            width=12,
        ),
        bars(
            "Entdeckte Systeme nach Status",
            "All discovered assets of the selected agencies by state: in the inbox (candidate), registered, dismissed.",
            'sum by (state) (posture_discovered_assets{agency=~"$agency"})',
            "{{state}}",
            width=12,
        ),
    ],
    [agency_variable(multi=True), check_variable(), severity_variable(), ui_base_variable()],
    finding_changes('agency=~"$agency"'),
)

ENDPOINT_OF_AGENCY = [to_endpoint("${agency:percentencode}", cell("endpoint")), to_ui_endpoint(cell("endpoint_id"))]
WITH_ID = '* on (agency, endpoint) group_left (endpoint_id) posture_endpoint_info{agency="$agency"}'

AGENCY = dashboard(
    "posture-agency",
    "Behörde im Detail",
    "One agency: its endpoints, their checks, open ports and findings. Click an endpoint for its dashboard or its "
    "page in the web UI.",
    [
        grid(
            "Endpunkte",
            "The agency's registered endpoints; 'alle Prüfungen erfolgreich' is yes when the last run of every "
            "check of the endpoint completed.",
            [f'min by (agency, endpoint, endpoint_id) (posture_check_success{{agency="$agency"}} {WITH_ID})'],
            [("endpoint", "Endpunkt"), ("Value", "alle Prüfungen erfolgreich")],
            hidden=["endpoint_id"],
            columns_config={"alle Prüfungen erfolgreich": coloured(OK_WORDS)},
            links={"Endpunkt": ENDPOINT_OF_AGENCY},
            sort=("alle Prüfungen erfolgreich", False),
            width=12,
        ),
        grid(
            "Offene Befunde nach Prüfung und Schwere",
            f"Open findings of the agency by check and severity. {NOT_ACCEPTED}",
            [
                'sum by (check, severity) (posture_findings_open{agency="$agency", check=~"$check", '
                'severity=~"$severity"})'
            ],
            [("check", "Prüfung"), ("severity", "Schwere"), ("Value", "offen")],
            columns_config={"Schwere": coloured(SEVERITY_WORDS)},
            sort=("offen", True),
            width=12,
        ),
        bars(
            "Überfällige Befunde nach Schwere",
            f"Open findings past their remediation deadline (due_at), by severity. {NOT_ACCEPTED}",
            'sum by (severity) (posture_findings_overdue{agency="$agency", severity=~"$severity"})',
            "{{severity}}",
            steps=RED_FROM_ONE,
            overrides=severity_series(),
            width=8,
        ),
        bars(
            "Akzeptierte Risiken nach Schwere",
            "Open findings whose risk the agency accepted, until the acceptance expires.",
            'sum by (severity) (posture_findings_accepted{agency="$agency", severity=~"$severity"})',
            "{{severity}}",
            overrides=severity_series(),
            width=8,
        ),
        lines(
            "Alter des ältesten Befunds",
            f"How long the oldest open finding of each severity has been open. {NOT_ACCEPTED}",
            'posture_finding_oldest_open_age_seconds{agency="$agency", severity=~"$severity"}',
            "{{severity}}",
            unit="dtdurations",
            overrides=severity_series(),
            width=8,
        ),
        grid(
            "Riskante offene Ports",
            "Open ports of a risky exposure class (catalogue severity low or higher), per endpoint; the expected "
            "web and mail ports are left out.",
            [f'posture_port_open{{agency="$agency", {RISKY}}} {WITH_ID}'],
            [
                ("endpoint", "Endpunkt"),
                ("port", "Port"),
                ("service", "Dienst"),
                ("exposure", "Klasse"),
                ("risk", "Risiko"),
            ],
            hidden=["endpoint_id"],
            columns_config={"Risiko": coloured(RISK_WORDS)},
            links={"Endpunkt": ENDPOINT_OF_AGENCY},
            width=12,
        ),
        grid(
            "TLS je Endpunkt",
            "TLS grade (A+ … F) and certificate expiry of each TLS endpoint.",
            [
                f'posture_tls_grade_score{{agency="$agency"}} {WITH_ID}',
                'posture_tls_cert_not_after_timestamp_seconds{agency="$agency"} * 1000',
            ],
            [("endpoint", "Endpunkt"), ("Value #A", "Note"), ("Value #B", "Zertifikat läuft ab")],
            hidden=["endpoint_id"],
            columns_config={"Note": coloured(GRADE_LETTERS), "Zertifikat läuft ab": unit("dateTimeFromNow")},
            links={"Endpunkt": ENDPOINT_OF_AGENCY},
            sort=("Note", False),
            width=12,
        ),
        grid(
            "Schwachstellen je Endpunkt",
            f"Open CVE findings per endpoint and severity (endpoints without any are left out). {NOT_ACCEPTED}",
            [f'(posture_vulnerabilities{{agency="$agency", severity=~"$severity"}} > 0) {WITH_ID}'],
            [("endpoint", "Endpunkt"), ("severity", "Schwere"), ("Value", "offen")],
            hidden=["endpoint_id"],
            columns_config={"Schwere": coloured(SEVERITY_WORDS)},
            links={"Endpunkt": ENDPOINT_OF_AGENCY},
            width=12,
        ),
        grid(
            "Letzte Prüfläufe",
            "Each check's last run per endpoint: when it started and whether it completed.",
            [
                f'posture_check_last_run_timestamp_seconds{{agency="$agency", check=~"$check"}} * 1000 {WITH_ID}',
                'posture_check_success{agency="$agency", check=~"$check"}',
            ],
            [("endpoint", "Endpunkt"), ("check", "Prüfung"), ("Value #A", "letzter Lauf"), ("Value #B", "erfolgreich")],
            hidden=["endpoint_id"],
            columns_config={"letzter Lauf": unit("dateTimeAsIso"), "erfolgreich": coloured(OK_WORDS)},
            links={"Endpunkt": ENDPOINT_OF_AGENCY},
            width=12,
        ),
        row("DNSSEC"),
        grid(
            "Domains",
            "The agency's registered domains: whether DNSSEC validates (no: unsigned or bogus; the findings say "
            "which) and the days until the earliest signature of the zone expires (empty: unsigned).",
            [
                f'posture_dnssec_secure{{agency="$agency"}} {WITH_ID}',
                '(posture_dnssec_signature_expiry_timestamp_seconds{agency="$agency"} - time()) / 86400',
            ],
            [("endpoint", "Domain"), ("Value #A", "validiert"), ("Value #B", "Tage bis zum Ablauf der Signaturen")],
            hidden=["endpoint_id"],
            columns_config={
                "validiert": coloured(OK_WORDS),
                "Tage bis zum Ablauf der Signaturen": unit("d", *coloured_days(3, 7)),
            },
            links={"Domain": [to_ui_domain(cell("endpoint_id"))]},
            sort=("validiert", False),
            width=12,
        ),
        row("E-Mail"),
        grid(
            "E-Mail-Sicherheit",
            "The agency's domains: the SPF and DMARC policy, the MTA-STS mode, and the share of the contacted MX "
            "hosts that offer STARTTLS and that DANE authenticates (empty: no MX host the scope admits was "
            "contacted; an MX of a hosted provider is only listed).",
            [
                f"{_mail_label('spf_policy', 'spf', '=')} {WITH_ID}",
                _mail_label("dmarc_policy", "dmarc", "="),
                _mail_label("mta_sts_mode", "mta_sts", "=", source="mode"),
                'posture_mail_starttls_coverage_ratio{agency="$agency"}',
                'posture_mail_dane_coverage_ratio{agency="$agency"}',
            ],
            [column for column in MAIL_COLUMNS if column[0] != "agency"],
            hidden=["endpoint_id"],
            columns_config=MAIL_COLUMN_CONFIG,
            links={"Domain": [to_ui_domain(cell("endpoint_id"))]},
            sort=("STARTTLS", False),
            width=24,
        ),
        row("Webseiten"),
        grid(
            "Webseiten",
            "The agency's web sites: the Observatory-compatible grade and score (docs/web.md; the findings say what "
            "to set) and the days until security.txt expires.",
            [
                f"{_web_grade('=')} {WITH_ID}",
                'posture_web_score{agency="$agency"}',
                '(posture_web_security_txt_expiry_timestamp_seconds{agency="$agency"} - time()) / 86400',
            ],
            [column for column in WEB_COLUMNS if column[0] != "agency"],
            hidden=["endpoint_id"],
            columns_config=WEB_COLUMN_CONFIG,
            links={"Endpunkt": ENDPOINT_OF_AGENCY},
            sort=("Punkte", False),
            width=24,
        ),
    ],
    [agency_variable(multi=False), check_variable(), severity_variable(), ui_base_variable()],
    finding_changes('agency="$agency"'),
)

THIS = 'agency="$agency", endpoint="$endpoint"'

ENDPOINT = dashboard(
    "posture-endpoint",
    "Endpunkt im Detail",
    "One endpoint (host:port) of one agency: its checks, ports, TLS and vulnerabilities. The first panel links to "
    "the endpoint's page in the web UI, where its findings are.",
    [
        stat_panel(
            "Web-Oberfläche",
            "The endpoint's id in the web UI; click it for the endpoint's page with its findings and history.",
            f"max by (endpoint_id) (posture_endpoint_info{{{THIS}}})",
            "Endpunkt #{{endpoint_id}}",
            links=[to_ui_endpoint(label("endpoint_id")), to_agency("${agency:percentencode}")],
            text_mode=BigValueTextMode.NAME,
        ),
        stat_panel(
            "TLS-Note",
            "The endpoint's TLS grade.",
            f"posture_tls_grade_score{{{THIS}}}",
            mappings=[GRADE_LETTERS],
        ),
        stat_panel(
            "Zertifikat läuft ab",
            "When the served leaf certificate expires (also when it fails verification).",
            f"posture_tls_cert_not_after_timestamp_seconds{{{THIS}}} * 1000",
            unit="dateTimeFromNow",
        ),
        stat_panel(
            "KEV-Schwachstellen",
            f"Open CVE findings on this endpoint that CISA lists as known exploited. {NOT_ACCEPTED}",
            f"posture_kev_vulnerabilities{{{THIS}}}",
            steps=RED_FROM_ONE,
        ),
        grid(
            "Prüfungen",
            "Each check of the endpoint: when its last run started and whether it completed.",
            [f"posture_check_last_run_timestamp_seconds{{{THIS}}} * 1000", f"posture_check_success{{{THIS}}}"],
            [("check", "Prüfung"), ("Value #A", "letzter Lauf"), ("Value #B", "erfolgreich")],
            columns_config={"letzter Lauf": unit("dateTimeAsIso"), "erfolgreich": coloured(OK_WORDS)},
            width=12,
        ),
        grid(
            "Offene Ports",
            "Every open port of the last scan with its exposure class and that class's severity (info: expected "
            "web and mail ports; keine Klasse: not in the catalogue).",
            [f"posture_port_open{{{THIS}}}"],
            [("port", "Port"), ("service", "Dienst"), ("exposure", "Klasse"), ("risk", "Risiko")],
            columns_config={"Risiko": coloured(RISK_WORDS)},
            width=12,
        ),
        bars(
            "Schwachstellen nach Schwere",
            f"Open CVE findings on this endpoint by severity. {NOT_ACCEPTED}",
            f'posture_vulnerabilities{{{THIS}, severity=~"$severity"}}',
            "{{severity}}",
            overrides=severity_series(),
            width=8,
        ),
        grid(
            "TLS-Profile",
            "Whether the endpoint meets every requirement of each TLS profile.",
            [f"posture_tls_compliant{{{THIS}}}"],
            [("profile", "Profil"), ("Value", "konform")],
            columns_config={"konform": coloured(OK_WORDS)},
            width=8,
        ),
        grid(
            "Protokolle",
            "Which protocol versions the server accepts.",
            [f"posture_tls_protocol_enabled{{{THIS}}}"],
            [("protocol", "Protokoll"), ("Value", "angeboten")],
            columns_config={"angeboten": coloured(OK_WORDS)},
            width=8,
        ),
        lines(
            "Verbindungsaufbau",
            "TCP connect time of the reachability check's runs.",
            f"posture_reachability_connect_seconds{{{THIS}}}",
            "{{endpoint}}",
            unit="s",
            width=24,
        ),
    ],
    [agency_variable(multi=False), endpoint_variable(), ui_base_variable()],
)

HEALTH = dashboard(
    "posture-health",
    "Monitor-Zustand",
    "Is the monitor itself healthy: check success, durations, backlog, alert delivery, data freshness.",
    [
        lines(
            "Erfolgsquote je Prüfung",
            "Share of endpoints whose last run of each check completed.",
            'avg by (check) (posture_check_success{check=~"$check"})',
            "{{check}}",
            unit="percentunit",
        ),
        lines(
            "Laufzeit (p95) je Prüfung",
            "95th percentile duration of check runs, over all scanner processes.",
            "histogram_quantile(0.95, sum by (check, le) "
            '(rate(posture_check_duration_seconds_bucket{check=~"$check"}[5m])))',
            "{{check}}",
            unit="s",
        ),
        lines(
            "Prüfläufe je Status",
            "Check runs per second by result status, over all scanner processes.",
            'sum by (check, status) (rate(posture_check_runs_total{check=~"$check"}[5m]))',
            "{{check}} {{status}}",
            unit="ops",
        ),
        stat_panel(
            "Rückstau fälliger Prüfungen",
            "Checks due now that no scanner has claimed yet.",
            "posture_scheduler_due_backlog",
        ),
        stat_panel(
            "Ausstehende Alarme",
            "Alert events waiting for the broker's acknowledgement.",
            "posture_alert_outbox_pending",
            steps=((None, "green"), (100, "red")),
        ),
        bars(
            "Alter der Schwachstellendaten",
            "How old each vulnerability feed is (CISA KEV, NVD, end-of-life); the alert fires after 3 days.",
            "time() - posture_vulndb_last_update_timestamp_seconds",
            "{{source}}",
            unit="dtdurations",
            steps=((None, "green"), (3 * 86400, "red")),
        ),
        bars(
            "Letztes Ergebnis je Prüfart",
            "How long ago each check type last produced a result; the alert fires after 6 hours.",
            'time() - posture_check_last_result_timestamp_seconds{check=~"$check"}',
            "{{check}}",
            unit="dtdurations",
            steps=((None, "green"), (6 * 3600, "red")),
        ),
    ],
    [check_variable()],
)

CERTIFICATES = dashboard(
    "posture-certificates",
    "Zertifikatsabläufe",
    "Every served certificate by expiry, also where verification fails (expired, self-signed, wrong host).",
    [
        grid(
            "Ablauf der Zertifikate",
            "Every served leaf certificate, soonest expiry first: days left (negative: expired), the date, and the "
            "verification result.",
            [
                '(posture_tls_cert_not_after_timestamp_seconds{agency=~"$agency"} - time()) / 86400',
                'posture_tls_cert_not_after_timestamp_seconds{agency=~"$agency"} * 1000',
                'posture_tls_cert_verify_ok{agency=~"$agency"}',
            ],
            [
                ("agency", "Behörde"),
                ("endpoint", "Endpunkt"),
                ("Value #A", "Tage bis zum Ablauf"),
                ("Value #B", "läuft ab am"),
                ("reason", "Prüfergebnis"),
            ],
            columns_config={
                "Tage bis zum Ablauf": unit("d", *coloured_days()),
                "läuft ab am": unit("dateTimeAsIso"),
            },
            links={
                "Behörde": [to_agency(cell("agency"))],
                "Endpunkt": [to_endpoint(cell("agency"), cell("endpoint"))],
            },
            sort=("Tage bis zum Ablauf", False),
            height=12,
        ),
        bars(
            "Prüfergebnis der Zertifikate",
            "Certificates by verification result: ok, or the first reason it fails.",
            'count by (reason) (posture_tls_cert_verify_ok{agency=~"$agency"})',
            "{{reason}}",
        ),
        bars(
            "Aktivierte Protokolle",
            "Endpoints accepting each protocol version.",
            'sum by (protocol) (posture_tls_protocol_enabled{agency=~"$agency"})',
            "{{protocol}}",
        ),
    ],
    [agency_variable(multi=True)],
)

DASHBOARDS = {
    name: to_json(board)
    for name, board in {
        "overview.json": OVERVIEW,
        "agency.json": AGENCY,
        "endpoint.json": ENDPOINT,
        "certificates.json": CERTIFICATES,
        "health.json": HEALTH,
    }.items()
}


def render(board: dict[str, Any]) -> str:
    return json.dumps(board, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, board in DASHBOARDS.items():
        (OUT / name).write_text(render(board))


if __name__ == "__main__":
    main()

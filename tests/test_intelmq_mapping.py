"""IntelMQ output marks what each event is: a pipeline can drop or close resolved and flapping findings instead of
reporting them again. Every event type is checked against IntelMQ's own harmonization and taxonomy expert."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import intelmq
import pytest
from intelmq.bots.experts.taxonomy.expert import TAXONOMY
from intelmq.lib.message import Event

from monitor.alert_format import OutboxEvent, intelmq_event
from monitor.models import EventType, FindingEvent, Language, Severity
from monitor.store.finding_store import AlertTarget
from monitor.usecases.alerting import AlertRouter

HARMONIZATION = json.loads((Path(intelmq.__file__).parent / "etc" / "harmonization.conf").read_text())
NOW = datetime(2026, 11, 27, 6, 40, tzinfo=UTC)
ROUTER = AlertRouter("https://posture.cert.example", Severity.LOW)

# event type → (classification.type for a TLS finding, extra.status); as documented in docs/alerts.md
MAPPING = {
    EventType.FINDING_OPENED: ("weak-crypto", "new"),
    EventType.FINDING_ESCALATED: ("weak-crypto", "open"),
    EventType.FINDING_REMINDER: ("weak-crypto", "open"),
    EventType.FINDING_OVERDUE: ("weak-crypto", "open"),
    EventType.FINDING_ACCEPTANCE_EXPIRED: ("weak-crypto", "open"),
    EventType.FINDING_RESOLVED: ("other", "resolved"),
    EventType.FINDING_FLAPPING: ("other", "flapping"),
    EventType.ENDPOINT_UNREACHABLE: ("undetermined", "new"),
    EventType.ENDPOINT_RECOVERED: ("other", "resolved"),
}


def intelmq_of(kind: EventType, language: Language = "de", host: str = "www.stadt-beispiel.de") -> Event:
    key = {EventType.ENDPOINT_UNREACHABLE: "endpoint.unreachable", EventType.ENDPOINT_RECOVERED: "endpoint.recovered"}
    event = FindingEvent(
        kind, 42, "tls", key.get(kind, "tls.cert.expired"), Severity.CRITICAL, "The server's certificate has expired",
        {"not_after": "2026-11-20T00:00:00+00:00"}, "Renew the certificate.",
    )  # fmt: skip
    row = ROUTER.row(AlertTarget("stadt-beispiel", 42, host, 443, None, language), event, NOW, 1234)
    assert row is not None
    outbox = OutboxEvent(1, row["event_id"], row["type"], row["agency"], 42, "critical", NOW, row["data"])
    return Event(intelmq_event(outbox, "posture-monitor"), harmonization=HARMONIZATION)  # raises on a bad field


@pytest.mark.parametrize("kind", list(EventType))
def test_each_event_type_is_a_valid_intelmq_event_marked_for_pipelines(kind: EventType) -> None:
    expected_type, expected_status = MAPPING[kind]
    event = intelmq_of(kind)
    assert (event["classification.type"], event["extra.status"], event["extra.event_type"]) == (
        expected_type,
        expected_status,
        kind.value,
    )
    # a closing event keeps the finding's identity, so a pipeline finds the ticket it closes
    assert event["classification.identifier"] == ("tls.cert.expired" if kind.value.startswith("finding.") else
                                                  kind.value)  # fmt: skip
    assert (event["source.fqdn"], event["source.port"]) == ("www.stadt-beispiel.de", 443)
    assert event["event_description.url"] == event["extra.link"] == "https://posture.cert.example/findings/1234"
    assert event["extra.language"] == "de" and event["extra.summary"].endswith(" – www.stadt-beispiel.de:443")


def test_closing_events_fall_outside_the_problems_taxonomy() -> None:
    """IntelMQ's taxonomy expert puts a resolved or flapping event under "other", never under "vulnerable": a
    pipeline that reports the vulnerable taxonomy does not report a fixed problem again."""
    for kind, (expected_type, status) in MAPPING.items():
        if status in ("resolved", "flapping"):
            assert TAXONOMY[expected_type] == "other", kind
        elif kind.value.startswith("finding."):
            assert TAXONOMY[expected_type] == "vulnerable", kind


def test_the_text_is_in_the_agencys_language_and_the_machine_fields_are_not() -> None:
    german, english = intelmq_of(EventType.FINDING_RESOLVED, "de"), intelmq_of(EventType.FINDING_RESOLVED, "en")
    assert german["event_description.text"] == "Behoben: Das Zertifikat des Servers ist abgelaufen"
    assert english["event_description.text"] == "Resolved: The server's certificate has expired"
    for field in ("classification.type", "classification.identifier", "severity", "extra.status", "extra.detail"):
        assert german[field] == english[field], field


def test_an_address_is_source_ip_and_a_row_from_before_the_upgrade_still_converts() -> None:
    assert intelmq_of(EventType.FINDING_OPENED, host="192.0.2.10")["source.ip"] == "192.0.2.10"
    old: dict[str, Any] = {"key": "tls.cert.expired", "check": "tls", "host": "127.0.0.1", "port": 443,
                           "title": "The server's certificate has expired", "detail": {"x": 1}}  # fmt: skip
    outbox = OutboxEvent(1, "5b0d7a3e", "finding.resolved", "stadt-beispiel", 42, "critical", NOW, old)
    event = Event(intelmq_event(outbox, "posture-monitor"), harmonization=HARMONIZATION)
    assert (event["classification.type"], event["extra.status"]) == ("other", "resolved")
    assert "event_description.url" not in event and "extra.summary" not in event

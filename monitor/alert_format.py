"""Alert payloads and topics, pure: CloudEvents 1.0 (structured JSON) or IntelMQ's harmonization."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"
TYPE_PREFIX = "org.posture-monitor."


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """One queued alert, as stored in the outbox."""

    row_id: int
    event_id: str  # stays the same across retries, so consumers deduplicate
    type: str
    agency: str
    endpoint_id: int
    severity: str
    created_at: datetime
    data: Mapping[str, Any]


def payload(body: Any) -> bytes:
    """A message as published: compact JSON, non-ASCII and control characters escaped."""
    return json.dumps(body, separators=(",", ":")).encode()


def alert_topic(prefix: str, agency: str, severity: str) -> str:
    # agency slugs are [a-z0-9-] by validation and severities a fixed set: no topic injection possible
    return f"{prefix}/alerts/{agency}/{severity}"


def state_topic(prefix: str, agency: str, endpoint_id: int) -> str:
    return f"{prefix}/state/{agency}/{endpoint_id}"


def status_topic(prefix: str, instance: str) -> str:
    return f"{prefix}/status/{instance}"


def event_subject(event: OutboxEvent) -> str:
    """`agency/endpoint-id` for an endpoint; `agency/name` for a domain, whose name is its identity (ASCII)."""
    if event.data.get("asset_kind") == "domain":
        return f"{event.agency}/{event.data.get('host')}"
    if event.data.get("asset_kind") == "candidate":  # discovered, not registered: no endpoint id yet
        return f"{event.agency}/discoveries/{event.data.get('detail', {}).get('candidate')}"
    return f"{event.agency}/{event.endpoint_id}"


def cloudevent(event: OutboxEvent, source: str) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event.event_id,
        "source": source,
        "type": TYPE_PREFIX + event.type,
        "subject": event_subject(event),
        "time": event.created_at.isoformat(),
        "datacontenttype": "application/json",
        "data": dict(event.data),
    }


# IntelMQ's classification.type per finding family; the taxonomy follows from the type in IntelMQ 3
_INTELMQ_TYPES = {
    "tls": "weak-crypto",
    "ports": "potentially-unwanted-accessible",
    "patch": "vulnerable-system",
    "asset": "potentially-unwanted-accessible",  # asset.discovered: a service nobody registered
}
# IntelMQ has no state of an event: extra.status says whether it reports a problem or closes one
_INTELMQ_STATUS = {
    "finding.opened": "new",
    "asset.discovered": "new",
    "endpoint.unreachable": "new",
    "finding.resolved": "resolved",
    "endpoint.recovered": "resolved",
    "finding.flapping": "flapping",
}  # the others (escalated, reminder, overdue, acceptance_expired): "open"
# a closing event is no report of the problem: RSIT's "other", never the problem's own type (docs/alerts.md)
_CLOSING = frozenset({"resolved", "flapping"})


def intelmq_status(event_type: str) -> str:
    return _INTELMQ_STATUS.get(event_type, "open")


def intelmq_event(event: OutboxEvent, feed: str) -> dict[str, Any]:
    data = event.data
    key = str(data.get("key", ""))
    host = str(data.get("host", ""))
    try:
        address_field = "source.ip" if ipaddress.ip_address(host) else ""
    except ValueError:
        address_field = "source.fqdn"
    status = intelmq_status(event.type)
    kind = "other" if status in _CLOSING else _INTELMQ_TYPES.get(key.split(".", 1)[0], "undetermined")
    return {
        "feed.name": feed,
        "time.observation": str(data.get("observed_at", event.created_at.isoformat())),
        "classification.type": kind,
        "classification.identifier": key.lower(),
        address_field: host,
        **({"source.port": int(port)} if (port := data.get("port")) else {}),
        "severity": event.severity,
        "event_description.text": str(data.get("title", "")),
        "event_description.url": data.get("link"),
        "extra.status": status,
        "extra.event_id": event.event_id,
        "extra.event_type": event.type,
        "extra.agency": event.agency,
        "extra.check": data.get("check"),
        "extra.language": data.get("language"),
        "extra.summary": data.get("summary"),
        "extra.detail": data.get("detail"),
        "extra.detail_truncated": data.get("detail_truncated"),
        "extra.remediation": data.get("remediation"),
        "extra.first_seen": data.get("first_seen"),
        "extra.due_date": data.get("due_date"),
        "extra.kev": data.get("kev"),
        "extra.link": data.get("link"),
    }

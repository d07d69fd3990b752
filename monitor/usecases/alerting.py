"""Alert routing: which finding events become alerts for whom, and the outbox row each one is."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from monitor.alert_texts import alert_texts, cut_detail
from monitor.findings import FindingState
from monitor.models import FindingEvent, Severity
from monitor.store.finding_store import AlertTarget, jsonable


class AlertRouter:
    """Builds outbox rows for events, routed by severity: below the agency's minimum nothing is queued."""

    def __init__(self, ui_base_url: str, default_min_severity: Severity) -> None:
        self.ui_base_url = ui_base_url.rstrip("/")
        self.default_min_severity = default_min_severity

    def row(
        self,
        target: AlertTarget,
        event: FindingEvent,
        now: datetime,
        finding_id: int | None = None,
        state: FindingState | None = None,
    ) -> dict[str, Any] | None:
        minimum = self.default_min_severity if target.min_severity is None else target.min_severity
        if event.severity < minimum:
            return None
        texts = alert_texts(event, target.endpoint, target.language)
        detail, truncated = cut_detail(jsonable(event.detail))
        data = {
            "agency": target.agency,
            "endpoint_id": target.endpoint_id,
            "endpoint": target.endpoint,
            "asset_kind": target.kind,
            "host": target.host,
            "port": None if target.kind == "domain" else target.port,
            "check": event.check,
            "key": event.key,
            "severity": event.severity.label,
            "language": target.language,
            "title": texts.title,
            "summary": texts.summary,
            "detail": detail,
            "detail_truncated": truncated,
            "remediation": texts.remediation,
            "first_seen": state.first_seen.isoformat() if state else None,
            "due_date": state.due_at.isoformat() if state and state.due_at else None,
            "kev": bool(state and state.kev),
            "observed_at": now.isoformat(),
            "link": f"{self.ui_base_url}/findings/{finding_id}"
            if finding_id
            else f"{self.ui_base_url}/{target.kind}s/{target.endpoint_id}",
        }
        return {
            "event_id": str(uuid.uuid4()),
            "type": event.type.value,
            "agency": target.agency,
            "endpoint_id": target.endpoint_id,
            "severity": int(event.severity),
            "data": data,
            "created_at": now,
        }

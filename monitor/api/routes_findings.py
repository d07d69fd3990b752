"""Findings: list and filter, detail with history, accept a risk; the CSV export of an agency's findings."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta

from aiohttp import web

from monitor.api import schemas as s
from monitor.api.auth import ROLE_AGENCY, ROLE_ANY, agency_filter
from monitor.api.context import client_address, services
from monitor.api.errors import ApiError
from monitor.api.routing import Call, Operation
from monitor.catalogue import finding_texts
from monitor.models import Severity, asset_kind, asset_name
from monitor.store.finding_queries import FindingFilter, FindingView

CSV_COLUMNS = (
    "id", "agency", "endpoint", "check", "key", "severity", "state", "title", "first_seen", "last_seen",
    "due_at", "resolved_at", "resolution", "accepted_until", "accepted_reason", "remediation", "labels",
)  # fmt: skip
# German Excel reads `;` as the separator and needs the byte order mark to take the file for UTF-8
CSV_DELIMITERS = {"excel-de": ";", "rfc4180": ","}


def finding_state(view: FindingView) -> str:
    return "accepted" if view.state == "open" and view.accepted else view.state


def finding_reply(view: FindingView) -> s.Finding:
    return s.Finding(
        id=view.id,
        agency=view.agency,
        endpoint_id=view.endpoint_id,
        endpoint=asset_name(view.host, view.port),
        asset_kind=asset_kind(view.port),
        check=view.check,
        key=view.key,
        severity=Severity(view.severity).label,
        title=view.title,
        detail=dict(view.detail),
        remediation=view.remediation,
        state=finding_state(view),
        kev=view.kev,
        first_seen=view.first_seen,
        last_seen=view.last_seen,
        resolved_at=view.resolved_at,
        resolution=view.resolution,
        due_at=view.due_at,
        accepted_until=view.accepted_until,
        accepted_reason=view.accepted_reason,
        accepted_by=view.accepted_by,
        flapping=view.flapping,
    )


def _severity(label: str | None) -> int | None:
    return None if label is None else int(Severity.parse(label))


async def list_findings(call: Call) -> s.FindingPage:
    query: s.FindingQuery = call.query
    flt = FindingFilter(
        agency_id=agency_filter(call.principal),
        agency=query.agency,
        endpoint_id=query.endpoint_id,
        severity=_severity(query.severity),
        check=query.check,
        key=query.key,
        state=query.state,
    )
    views = await services(call.request).findings.page(flt, after=query.after, limit=query.limit)
    return s.FindingPage(
        items=[finding_reply(view) for view in views],
        next_after=views[-1].id if len(views) == query.limit else None,
    )


async def get_finding(call: Call) -> s.FindingDetail:
    findings = services(call.request).findings
    view = await findings.get(call.path["id"], agency_filter(call.principal))
    history = [
        s.Run(
            started_at=run.started_at,
            status=run.status,
            duration_s=run.duration_s,
            observation_count=run.observation_count,
            error=run.error,
        )
        for run in await findings.history(view)
    ]
    return s.FindingDetail(**finding_reply(view).model_dump(), history=history)


async def accept_risk(call: Call) -> s.Finding:
    body: s.AcceptRisk = call.body
    svc = services(call.request)
    until = body.until.astimezone(UTC)
    if until > svc.store.clock.now() + timedelta(days=svc.config.max_accept_days):
        raise ApiError(400, "invalid_input", f"at most {svc.config.max_accept_days} days ahead", "until")
    actor = call.principal.actor(client_address(call.request))
    view = await svc.findings.accept_risk(call.path["id"], agency_filter(call.principal), until, body.reason, actor)
    return finding_reply(view)


async def revoke_acceptance(call: Call) -> s.Finding:
    actor = call.principal.actor(client_address(call.request))
    findings = services(call.request).findings
    return finding_reply(await findings.revoke_acceptance(call.path["id"], agency_filter(call.principal), actor))


def csv_cell(value: object) -> str:
    """A cell a spreadsheet will not run: text that starts like a formula gets a leading apostrophe."""
    text = "" if value is None else value.isoformat() if isinstance(value, datetime) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def labels_cell(labels: Mapping[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(labels.items()))


async def export_findings(call: Call) -> web.StreamResponse:
    query: s.ExportQuery = call.query
    flt = FindingFilter(
        agency_id=agency_filter(call.principal),
        agency=query.agency,
        severity=_severity(query.severity),
        check=query.check,
        state=query.state,
    )
    name = call.principal.agency or query.agency or "all"
    return await stream_csv(call.request, services(call.request).findings.stream(flt), name, query.dialect, query.lang)


async def stream_csv(
    request: web.Request, chunks: AsyncIterator[list[FindingView]], name: str, dialect: str, language: str
) -> web.StreamResponse:
    """The findings as CSV, a chunk at a time; title and remediation in `language` (monitor.catalogue)."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="findings-{name}.csv"',
        }
    )
    await response.prepare(request)
    buffer = io.StringIO()
    if dialect == "excel-de":
        buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=CSV_DELIMITERS[dialect])
    writer.writerow(CSV_COLUMNS)
    async for chunk in chunks:
        for view in chunk:
            texts = finding_texts(view.key, view.title, view.remediation, language)
            writer.writerow(
                csv_cell(value)
                for value in (
                    view.id, view.agency, asset_name(view.host, view.port), view.check, view.key,
                    Severity(view.severity).label, finding_state(view), texts.title, view.first_seen, view.last_seen,
                    view.due_at, view.resolved_at, view.resolution, view.accepted_until, view.accepted_reason,
                    texts.remediation, labels_cell(view.labels),
                )
            )  # fmt: skip
        await response.write(buffer.getvalue().encode())
        buffer.seek(0)
        buffer.truncate()
    await response.write(buffer.getvalue().encode())
    await response.write_eof()
    return response


OPERATIONS = [
    Operation("GET", "/findings", list_findings, "Findings, filtered by severity, check, state, endpoint",
              ROLE_ANY, "findings", query=s.FindingQuery, response=s.FindingPage),
    Operation("GET", "/findings/{id}", get_finding, "A finding with remediation advice and its check's history",
              ROLE_ANY, "findings", response=s.FindingDetail, errors=(404,)),
    Operation("POST", "/findings/{id}/acceptance", accept_risk,
              "Accept the risk with a reason until a date: alerts stay muted until then", ROLE_AGENCY, "findings",
              body=s.AcceptRisk, response=s.Finding, errors=(404,)),
    Operation("DELETE", "/findings/{id}/acceptance", revoke_acceptance, "Withdraw an accepted risk", ROLE_AGENCY,
              "findings", response=s.Finding, errors=(404,)),
    Operation("GET", "/exports/findings.csv", export_findings, "CSV of findings (an agency gets its own)",
              ROLE_ANY, "exports", query=s.ExportQuery, media_type="text/csv"),
]  # fmt: skip

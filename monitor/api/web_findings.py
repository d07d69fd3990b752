"""The finding page: what it is in the reader's language, the evidence, the history; accept a risk or undo it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web

from monitor.api.auth import agency_filter
from monitor.api.context import client_address, services
from monitor.api.i18n import BERLIN
from monitor.api.routes_findings import finding_reply, stream_csv
from monitor.api.web_base import (
    UI,
    api_error,
    language,
    may_write,
    notice,
    principal,
    record_id,
    render,
    require_writer,
    ui_message,
    words,
)
from monitor.catalogue import finding_texts
from monitor.errors import UserError
from monitor.evidence import evidence_items
from monitor.store.finding_queries import FindingFilter

NOTICES = ("accepted", "revoked")


async def finding_page(request: web.Request, errors: dict[str, str] | None = None, status: int = 200) -> web.Response:
    svc = services(request)
    view = await svc.findings.get(record_id(request), agency_filter(principal(request)))
    today = svc.store.clock.now().astimezone(BERLIN).date()
    return render(
        request,
        "finding.html",
        status,
        finding=finding_reply(view),
        texts=finding_texts(view.key, view.title, view.remediation, language(request)),
        evidence_items=evidence_items(view.detail, view.key, language(request)),
        history=await svc.findings.history(view),
        errors=errors or {},
        notice=notice(request, NOTICES),
        may_write=may_write(request),
        default_until=(today + timedelta(days=90)).isoformat(),
        max_until=(today + timedelta(days=svc.config.max_accept_days)).isoformat(),
    )


async def finding_detail(request: web.Request) -> web.Response:
    return await finding_page(request)


def _until(raw: str, max_days: int, now: datetime) -> datetime | None:
    """The end of the chosen day in Lower Saxony, if it is a date within the allowed range."""
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        return None
    until = datetime.combine(day, time(23, 59, 59), BERLIN)
    return until if now < until <= now + timedelta(days=max_days) else None


async def accept_risk(request: web.Request) -> web.StreamResponse:
    svc = services(request)
    require_writer(request)
    finding_id = record_id(request)
    posted = await request.post()
    t = words(request)
    reason = str(posted.get("reason", "")).strip()[:1000]
    until = _until(str(posted.get("until", "")), svc.config.max_accept_days, svc.store.clock.now())
    errors: dict[str, str] = {}
    if not reason:
        errors["reason"] = t["form_reason"]
    if until is None:
        errors["until"] = t["form_until"].format(days=svc.config.max_accept_days)
    if errors or until is None:
        return await finding_page(request, errors, 400)
    who = principal(request)
    try:
        await svc.findings.accept_risk(
            finding_id, agency_filter(who), until, reason, who.actor(client_address(request))
        )
    except UserError as err:
        if api_error(err).status == 404:
            raise
        return await finding_page(request, {"reason": ui_message(request, err)}, api_error(err).status)
    raise web.HTTPSeeOther(f"{UI}/findings/{finding_id}?notice=accepted")


async def revoke_acceptance(request: web.Request) -> web.StreamResponse:
    require_writer(request)
    finding_id = record_id(request)
    who = principal(request)
    await services(request).findings.revoke_acceptance(
        finding_id, agency_filter(who), who.actor(client_address(request))
    )
    raise web.HTTPSeeOther(f"{UI}/findings/{finding_id}?notice=revoked")


async def export_csv(request: web.Request) -> web.StreamResponse:
    """The signed-in agency's findings as CSV for German Excel (or `?dialect=rfc4180`), in the reader's language."""
    who = principal(request)
    dialect = "rfc4180" if request.query.get("dialect") == "rfc4180" else "excel-de"
    chunks = services(request).findings.stream(FindingFilter(agency_id=agency_filter(who)))
    return await stream_csv(request, chunks, who.agency or "all", dialect, language(request))


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/exports/findings.csv", export_csv),
    ("GET", "/findings/{id}", finding_detail),
    ("POST", "/findings/{id}/acceptance", accept_risk),
    ("POST", "/findings/{id}/acceptance/revoke", revoke_acceptance),
]

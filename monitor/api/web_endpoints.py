"""The endpoint pages: the list with its posture, registering, the endpoint page, edit, delete and re-scan."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from monitor.api.auth import agency_filter
from monitor.api.context import client_address, services
from monitor.api.forms import (
    Form,
    endpoint_settings_form,
    labels_text,
    parse_labels,
    parse_ports,
    port_number,
    ports_text,
    register_form,
)
from monitor.api.routes_endpoints import target_agency
from monitor.api.routes_findings import finding_state
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
from monitor.durations import format_duration
from monitor.errors import UserError
from monitor.models import CheckHealth, EndpointStatus
from monitor.store.endpoint_store import EndpointQuery, EndpointView
from monitor.store.finding_queries import FindingFilter
from monitor.usecases.registration import EndpointChange, EndpointRequest

PAGE_SIZE = 50
FAILED = (CheckHealth.UNREACHABLE, CheckHealth.TIMED_OUT, CheckHealth.MISCONFIGURED, CheckHealth.CRASHED)  # a run
LIST_NOTICES = ("registered", "deleted")
ENDPOINT_NOTICES = ("registered", "rescan_requested", "saved")
FORM_FIELDS = ("agency", "host", "port", "checks", "interval", "labels", "expected_ports")


def _page_number(request: web.Request) -> int:
    raw = request.query.get("page", "1")
    return int(raw) if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 100_000 else 1


def _label_filter(request: web.Request) -> tuple[str, str] | None:
    parsed = parse_labels(request.query.get("label", ""))
    return next(iter(parsed.items())) if parsed and len(parsed) == 1 else None


def _status_filter(request: web.Request) -> EndpointStatus | None:
    try:
        return EndpointStatus(request.query.get("status", ""))
    except ValueError:
        return None


def _blank_form(check_names: list[str]) -> Form:
    values = {"host": "", "port": "443", "checks": check_names, "agency": "", "interval": ""}
    return Form(values | {"labels": "", "expected_ports": ""})


async def endpoints_page(request: web.Request, form: Form | None = None, status: int = 200,
                         scope_hint: bool = False) -> web.Response:  # fmt: skip
    svc = services(request)
    who = principal(request)
    label = _label_filter(request)
    status_filter = _status_filter(request)
    which = EndpointQuery(agency_filter(who), label=label, status=status_filter)
    total = await svc.endpoints.count(which)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(_page_number(request), pages)
    views = await svc.endpoints.page(
        which.agency_id, label=label, status=status_filter, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return render(
        request,
        "endpoints.html",
        status,
        endpoints=views,
        page=page,
        pages=pages,
        total=total,
        label_filter=f"{label[0]}={label[1]}" if label else "",
        status_filter=status_filter.value if status_filter else "",
        statuses=[status.value for status in reversed(EndpointStatus)],
        check_names=svc.registration.rules.names_for("endpoint"),
        form=form or _blank_form(svc.registration.rules.names_for("endpoint")),
        scope_hint=scope_hint,
        notice=notice(request, LIST_NOTICES),
        may_write=may_write(request),
    )


async def endpoints_list(request: web.Request) -> web.Response:
    return await endpoints_page(request)


def _settings(form: Form) -> tuple[str, dict[str, str], list[int]]:
    """Interval ("" for the default), labels and expected ports, as the form checked them."""
    labels = parse_labels(form.values["labels"]) or {}
    ports = parse_ports(form.values["expected_ports"]) or []
    return form.values["interval"], labels, ports


def _checks(posted: MultiDictProxy[Any]) -> list[str]:
    return [str(name) for name in posted.getall("checks", [])]


def _field_of(err: UserError, default: str) -> str:
    """The form field a use case's complaint is about, else `default`."""
    return err.field if err.field in FORM_FIELDS else default


async def register_endpoint(request: web.Request) -> web.StreamResponse:
    require_writer(request)
    posted = await request.post()
    who = principal(request)
    svc = services(request)
    form = register_form(posted, _checks(posted), words(request))
    if form.errors:
        return await endpoints_page(request, form, 400)
    try:
        interval, labels, ports = _settings(form)
        port = port_number(form.values["port"])
        assert port is not None  # the form checked it
        wanted = EndpointRequest(form.values["host"], port, form.values["checks"], interval or None, labels, ports)
        agency = target_agency(who, form.values["agency"].strip() or None)
        view = await svc.registration.register_endpoint(agency, wanted, who.actor(client_address(request)))
    except UserError as err:
        form.fail(_field_of(err, "host"), ui_message(request, err))
        return await endpoints_page(request, form, api_error(err).status, api_error(err).code == "out_of_scope")
    raise web.HTTPSeeOther(f"{UI}/endpoints/{view.id}?notice=registered")


async def endpoint_page(request: web.Request) -> web.Response:
    svc = services(request)
    who = principal(request)
    endpoint = await svc.endpoints.get(record_id(request), agency_filter(who))
    views = await svc.findings.page(FindingFilter(agency_id=agency_filter(who), endpoint_id=endpoint.id), limit=500)
    lang = language(request)
    findings = [
        {
            "id": view.id,
            "severity": view.severity,
            "title": finding_texts(view.key, view.title, view.remediation, lang).title,
            "state": "flapping" if view.flapping and view.state == "resolved" else finding_state(view),
            "first_seen": view.first_seen,
        }
        for view in sorted(views, key=lambda view: (view.state != "open", -view.severity, view.id))
    ]
    return render(
        request,
        "endpoint.html",
        endpoint=endpoint,
        interval=_interval_text(endpoint),
        worst_failure=next((check.status.value for check in endpoint.checks_status if check.status in FAILED), ""),
        findings=findings,
        notice=notice(request, ENDPOINT_NOTICES),
        may_write=may_write(request),
    )


def _interval_text(endpoint: EndpointView) -> str:
    seconds = set(endpoint.intervals.values())
    return format_duration(seconds.pop()) if len(seconds) == 1 else ""


def _edit_form(endpoint: EndpointView) -> Form:
    return Form(
        {
            "checks": list(endpoint.checks),
            "interval": _interval_text(endpoint),
            "labels": labels_text(endpoint.labels),
            "expected_ports": ports_text(endpoint.expected_ports),
        }
    )


async def edit_page(request: web.Request, form: Form | None = None, status: int = 200) -> web.Response:
    svc = services(request)
    require_writer(request)
    endpoint = await svc.endpoints.get(record_id(request), agency_filter(principal(request)))
    return render(
        request,
        "endpoint_edit.html",
        status,
        endpoint=endpoint,
        form=form or _edit_form(endpoint),
        check_names=svc.registration.rules.names_for("endpoint"),
    )


async def edit_endpoint(request: web.Request) -> web.StreamResponse:
    posted = await request.post()
    require_writer(request)
    form = endpoint_settings_form(posted, _checks(posted), words(request))
    if form.errors:
        return await edit_page(request, form, 400)
    interval, labels, ports = _settings(form)
    change = EndpointChange(form.values["checks"], interval, labels, ports)
    who = principal(request)
    endpoint_id = record_id(request)
    try:
        await services(request).registration.update_endpoint(
            endpoint_id, agency_filter(who), change, who.actor(client_address(request))
        )
    except UserError as err:
        if api_error(err).status == 404:
            raise
        form.fail(_field_of(err, "checks"), ui_message(request, err))
        return await edit_page(request, form, api_error(err).status)
    raise web.HTTPSeeOther(f"{UI}/endpoints/{endpoint_id}?notice=saved")


async def delete_page(request: web.Request) -> web.Response:
    require_writer(request)
    endpoint = await services(request).endpoints.get(record_id(request), agency_filter(principal(request)))
    return render(request, "endpoint_delete.html", endpoint=endpoint)


async def delete_endpoint(request: web.Request) -> web.StreamResponse:
    require_writer(request)
    who = principal(request)
    registration = services(request).registration
    await registration.remove_endpoint(record_id(request), agency_filter(who), who.actor(client_address(request)))
    raise web.HTTPSeeOther(f"{UI}/endpoints?notice=deleted")


async def rescan(request: web.Request) -> web.StreamResponse:
    require_writer(request)
    who = principal(request)
    endpoint_id = record_id(request)
    registration = services(request).registration
    await registration.request_rescan(endpoint_id, agency_filter(who), who.actor(client_address(request)))
    raise web.HTTPSeeOther(f"{UI}/endpoints/{endpoint_id}?notice=rescan_requested")


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/endpoints", endpoints_list),
    ("POST", "/endpoints", register_endpoint),
    ("GET", "/endpoints/{id}", endpoint_page),
    ("GET", "/endpoints/{id}/edit", edit_page),
    ("POST", "/endpoints/{id}/edit", edit_endpoint),
    ("GET", "/endpoints/{id}/delete", delete_page),
    ("POST", "/endpoints/{id}/delete", delete_endpoint),
    ("POST", "/endpoints/{id}/scans", rescan),
]

"""What the pages of endpoints and of domains share (one table, two kinds of asset, `monitor.models.AssetKind`): the
list with its page numbers and filters, registering, the asset's page with its checks and findings, the edit page,
delete with a confirmation, and the re-scan. web_endpoints and web_domains add what differs: each kind's form.

The pages of a kind are at /ui/{kind}s and use the templates {kind}s.html, {kind}.html, {kind}_edit.html and
{kind}_delete.html; the store answers another kind's id, as another agency's, with NotFound (a 404 page).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from pydantic import ValidationError

from checks.base import Check, CheckSummary
from monitor.api.auth import agency_filter
from monitor.api.context import client_address, services
from monitor.api.errors import Handler
from monitor.api.forms import Form, labels_text, parse_labels, ports_text
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
)
from monitor.catalogue import finding_texts
from monitor.durations import format_duration
from monitor.errors import UserError
from monitor.models import AssetKind, CheckHealth, EndpointStatus
from monitor.store.audit import Actor
from monitor.store.endpoint_store import EndpointQuery, EndpointView
from monitor.store.finding_queries import FindingFilter
from monitor.usecases.registration import EndpointChange, Registration

PAGE_SIZE = 50
FAILED = (CheckHealth.UNREACHABLE, CheckHealth.TIMED_OUT, CheckHealth.MISCONFIGURED, CheckHealth.CRASHED)  # a run
LIST_NOTICES = ("registered", "deleted")
ASSET_NOTICES = ("registered", "rescan_requested", "saved")

Route = tuple[str, str, Handler]
# Registers the asset a form describes for the agency: Registration.register_endpoint or .register_domain.
Add = Callable[[Registration, str, Actor], Awaitable[EndpointView]]


def pages_of(kind: AssetKind) -> str:
    return f"{UI}/{kind}s"


def check_names(request: web.Request, kind: AssetKind) -> list[str]:
    """The checks an asset of `kind` may have, as the register and edit forms offer them."""
    return services(request).registration.rules.names_for(kind)


def posted_checks(posted: MultiDictProxy[Any]) -> list[str]:
    return [str(name) for name in posted.getall("checks", [])]


def field_of(err: UserError, fields: Sequence[str], default: str) -> str:
    """The form field a use case's complaint is about, else `default`."""
    return err.field if err.field in fields else default


def settings_of(form: Form) -> tuple[str, dict[str, str]]:
    """Interval ("" for the default) and labels, as the form checked them."""
    return form.values["interval"], parse_labels(form.values["labels"]) or {}


def interval_text(asset: EndpointView) -> str:
    seconds = set(asset.intervals.values())
    return format_duration(seconds.pop()) if len(seconds) == 1 else ""


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


async def _scope_values(request: web.Request, kind: AssetKind, agency: str) -> list[str]:
    """The agency's scope an asset of `kind` may lie in: domains and networks for an endpoint, domains for a domain."""
    scopes = await services(request).scopes.scopes(agency)
    return [entry.value for entry in scopes if kind == "endpoint" or entry.kind == "domain"]


async def list_page(request: web.Request, kind: AssetKind, form: Form, status: int = 200,
                    scope_of: str | None = None) -> web.Response:  # fmt: skip
    """The assets of `kind` a page at a time, filtered, with the register form. `scope_of`: the agency whose scope
    the name typed lies outside of; the page then shows that scope and the way to ask for more."""
    svc = services(request)
    label = _label_filter(request)
    status_filter = _status_filter(request)
    which = EndpointQuery(agency_filter(principal(request)), label=label, status=status_filter, kind=kind)
    total = await svc.endpoints.count(which)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(_page_number(request), pages)
    views = await svc.endpoints.page(
        which.agency_id, label=label, status=status_filter, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, kind=kind
    )
    return render(
        request,
        f"{kind}s.html",
        status,
        assets=views,
        page=page,
        pages=pages,
        total=total,
        label_filter=f"{label[0]}={label[1]}" if label else "",
        status_filter=status_filter.value if status_filter else "",
        statuses=[status.value for status in reversed(EndpointStatus)],
        check_names=check_names(request, kind),
        form=form,
        scope_hint=None if scope_of is None else await _scope_values(request, kind, scope_of),
        notice=notice(request, LIST_NOTICES),
        may_write=may_write(request),
    )


async def register(request: web.Request, kind: AssetKind, form: Form, add: Add, fields: Sequence[str],
                   default_field: str) -> web.StreamResponse:  # fmt: skip
    """Register what the checked form describes (`add`), for the signed-in agency or the one an admin named; a
    use case's complaint is shown at its field (else at `default_field`) in the reader's words."""
    require_writer(request)
    if form.errors:
        return await list_page(request, kind, form, 400)
    who = principal(request)
    agency = ""
    try:
        agency = target_agency(who, form.values["agency"].strip() or None)
        view = await add(services(request).registration, agency, who.actor(client_address(request)))
    except UserError as err:
        form.fail(field_of(err, fields, default_field), ui_message(request, err))
        outside = api_error(err).code == "out_of_scope"
        return await list_page(request, kind, form, api_error(err).status, agency if outside else None)
    raise web.HTTPSeeOther(f"{pages_of(kind)}/{view.id}?notice=registered")


async def check_summaries(request: web.Request, asset: EndpointView, lang: str) -> list[CheckSummary]:
    """What each of the asset's checks that has a summary (`Check.summary`) says about its latest stored details,
    in the asset's order of checks; a check without a good run yet, or whose stored details no longer parse as its
    details model (a schema change), shows none."""
    registry = services(request).config.check_registry
    with_summary = [name for name in asset.checks if name in registry and registry[name].summary is not Check.summary]
    stored = await services(request).endpoints.latest_details(asset.id, with_summary)
    summaries = []
    for name in with_summary:
        if name not in stored:
            continue
        check = registry[name]
        try:
            details = check.details_model.model_validate(stored[name])
        except ValidationError:
            continue
        found = check().summary(details, lang)
        if found is not None:
            summaries.append(found)
    return summaries


async def asset_page(request: web.Request, kind: AssetKind) -> web.Response:
    """The asset with the last run of each check and its findings, open ones first, the worst first."""
    svc = services(request)
    who = principal(request)
    asset = await svc.endpoints.get(record_id(request), agency_filter(who), kind)
    views = await svc.findings.page(FindingFilter(agency_id=agency_filter(who), endpoint_id=asset.id), limit=500)
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
        f"{kind}.html",
        asset=asset,
        interval=interval_text(asset),
        worst_failure=next((check.status.value for check in asset.checks_status if check.status in FAILED), ""),
        findings=findings,
        summaries=await check_summaries(request, asset, lang),
        notice=notice(request, ASSET_NOTICES),
        may_write=may_write(request),
    )


def _current_settings(asset: EndpointView) -> Form:
    """The edit form filled with the asset's settings (a domain's expected ports are none: its form has no field)."""
    return Form(
        {
            "checks": list(asset.checks),
            "interval": interval_text(asset),
            "labels": labels_text(asset.labels),
            "expected_ports": ports_text(asset.expected_ports),
        }
    )


async def edit_page(request: web.Request, kind: AssetKind, form: Form | None = None,
                    status: int = 200) -> web.Response:  # fmt: skip
    require_writer(request)
    asset = await services(request).endpoints.get(record_id(request), agency_filter(principal(request)), kind)
    return render(
        request,
        f"{kind}_edit.html",
        status,
        asset=asset,
        form=form or _current_settings(asset),
        check_names=check_names(request, kind),
    )


async def save_settings(request: web.Request, kind: AssetKind, form: Form, change: Callable[[Form], EndpointChange],
                        fields: Sequence[str]) -> web.StreamResponse:  # fmt: skip
    """Save the checked edit form (`change` reads it once it has no errors); a complaint is shown at its field."""
    require_writer(request)
    if form.errors:
        return await edit_page(request, kind, form, 400)
    who = principal(request)
    asset_id = record_id(request)
    try:
        await services(request).registration.update_endpoint(
            asset_id, agency_filter(who), change(form), who.actor(client_address(request)), kind
        )
    except UserError as err:
        if api_error(err).status == 404:
            raise
        form.fail(field_of(err, fields, "checks"), ui_message(request, err))
        return await edit_page(request, kind, form, api_error(err).status)
    raise web.HTTPSeeOther(f"{pages_of(kind)}/{asset_id}?notice=saved")


def routes(kind: AssetKind, blank_form: Callable[[list[str]], Form], register_handler: Handler,
           edit_handler: Handler) -> list[Route]:  # fmt: skip
    """The pages of one kind of asset: the list (its register form `blank_form` of the kind's checks, posted to
    `register_handler`), the asset's page, edit (posted to `edit_handler`), delete and re-scan."""

    async def listing(request: web.Request) -> web.Response:
        return await list_page(request, kind, blank_form(check_names(request, kind)))

    async def page(request: web.Request) -> web.Response:
        return await asset_page(request, kind)

    async def edit(request: web.Request) -> web.Response:
        return await edit_page(request, kind)

    async def confirm_delete(request: web.Request) -> web.Response:
        require_writer(request)
        asset = await services(request).endpoints.get(record_id(request), agency_filter(principal(request)), kind)
        return render(request, f"{kind}_delete.html", asset=asset)

    async def delete(request: web.Request) -> web.StreamResponse:
        require_writer(request)
        who = principal(request)
        await services(request).registration.remove_endpoint(
            record_id(request), agency_filter(who), who.actor(client_address(request)), kind
        )
        raise web.HTTPSeeOther(f"{pages_of(kind)}?notice=deleted")

    async def rescan(request: web.Request) -> web.StreamResponse:
        require_writer(request)
        who = principal(request)
        asset_id = record_id(request)
        await services(request).registration.request_rescan(
            asset_id, agency_filter(who), who.actor(client_address(request)), kind
        )
        raise web.HTTPSeeOther(f"{pages_of(kind)}/{asset_id}?notice=rescan_requested")

    base = f"/{kind}s"
    return [
        ("GET", base, listing),
        ("POST", base, register_handler),
        ("GET", f"{base}/{{id}}", page),
        ("GET", f"{base}/{{id}}/edit", edit),
        ("POST", f"{base}/{{id}}/edit", edit_handler),
        ("GET", f"{base}/{{id}}/delete", confirm_delete),
        ("POST", f"{base}/{{id}}/delete", delete),
        ("POST", f"{base}/{{id}}/scans", rescan),
    ]

"""The inbox of discovered assets: what discovery saw inside the agency's scope and nobody registered. Staff confirm
one (registered as an endpoint or a domain, by registration's rules) or dismiss it with a reason."""

from __future__ import annotations

import json
from typing import Any, Literal

from aiohttp import web

from monitor.api.auth import agency_filter
from monitor.api.context import client_address, services
from monitor.api.web_base import (
    UI,
    api_error,
    may_write,
    notice,
    principal,
    record_id,
    render,
    require_writer,
    ui_message,
    words,
)
from monitor.errors import UserError
from monitor.store.discovery_store import CANDIDATE_STATES, CandidateView

NOTICES = ("discovery_confirmed", "discovery_dismissed")


async def discoveries(request: web.Request) -> web.Response:
    state = request.query.get("state", "candidate")
    if state not in (*CANDIDATE_STATES, "all"):
        state = "candidate"
    store = services(request).store
    who = principal(request)
    views = await store.discovery.candidates(agency_filter(who), None if state == "all" else state)
    runs = await store.discovery.runs(who.agency) if who.agency else []
    return render(
        request, "discoveries.html", candidates=views, state=state, states=(*CANDIDATE_STATES, "all"),
        notice=notice(request, NOTICES), may_write=may_write(request), runs=runs,
    )  # fmt: skip


async def discovery_page(
    request: web.Request, errors: dict[str, str] | None = None, form: dict[str, str] | None = None, status: int = 200
) -> web.Response:
    view = await services(request).store.discovery.get(record_id(request), agency_filter(principal(request)))
    return render(
        request, "discovery.html", status, candidate=view, evidence=_evidence(view), errors=errors or {},
        form=form or {"as": "endpoint" if view.port else "domain", "port": "", "reason": ""},
        may_write=may_write(request) and view.state != "registered",
    )  # fmt: skip


async def discovery(request: web.Request) -> web.Response:
    return await discovery_page(request)


async def confirm(request: web.Request) -> web.StreamResponse:
    require_writer(request)
    posted = await request.post()
    form = {"as": str(posted.get("as", "")), "port": str(posted.get("port", "")).strip(), "reason": ""}
    kind: Literal["endpoint", "domain"] | None = form["as"] if form["as"] in ("endpoint", "domain") else None  # type: ignore[assignment]
    port: int | None = None
    if form["port"]:
        if not form["port"].isdigit() or not 1 <= int(form["port"]) <= 65535:
            return await discovery_page(request, {"port": words(request)["form_port"]}, form, 400)
        port = int(form["port"])
    who = principal(request)
    try:
        await services(request).discovery.confirm(
            record_id(request), agency_filter(who), who.actor(client_address(request)), kind, port
        )
    except UserError as err:
        if api_error(err).status == 404:
            raise
        field = "port" if err.field in ("port", "as") else "confirm"
        return await discovery_page(request, {field: ui_message(request, err)}, form, api_error(err).status)
    raise web.HTTPSeeOther(f"{UI}/discoveries?notice=discovery_confirmed")


async def dismiss(request: web.Request) -> web.StreamResponse:
    require_writer(request)
    reason = str((await request.post()).get("reason", ""))
    form = {"as": "", "port": "", "reason": reason}
    who = principal(request)
    try:
        await services(request).discovery.dismiss(
            record_id(request), agency_filter(who), reason, who.actor(client_address(request))
        )
    except UserError as err:
        if api_error(err).status == 404:
            raise
        return await discovery_page(request, {"reason": words(request)["form_dismiss_reason"]}, form, 400)
    raise web.HTTPSeeOther(f"{UI}/discoveries?notice=discovery_dismissed")


def _evidence(view: CandidateView) -> list[tuple[str, str]]:
    """(source, its evidence as indented JSON): shown as text, escaped; it is what the network said."""
    return [(source, json.dumps(value, indent=2, ensure_ascii=False)) for source, value in view.evidence.items()]


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/discoveries", discoveries),
    ("GET", "/discoveries/{id}", discovery),
    ("POST", "/discoveries/{id}/confirm", confirm),
    ("POST", "/discoveries/{id}/dismiss", dismiss),
]

"""The scope page: what the agency owns, its requests for more, and the request itself (proven by a TXT record)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from monitor.api.auth import agency_filter
from monitor.api.context import client_address, services
from monitor.api.forms import host_error
from monitor.api.web_base import (
    UI,
    api_error,
    notice,
    principal,
    record_id,
    render,
    ui_message,
    words,
)
from monitor.errors import UserError

NOTICES = ("scope_requested", "scope_verified")


async def scope_page(request: web.Request, form: dict[str, str] | None = None,
                     errors: dict[str, str] | None = None, status: int = 200) -> web.Response:  # fmt: skip
    who = principal(request)
    scopes = services(request).scopes
    own = who.agency
    return render(
        request,
        "scope.html",
        status,
        scopes=await scopes.scopes(own) if own else [],
        requests=await scopes.list(agency_filter(who)),
        may_request=who.role == "agency",
        form=form or {"value": ""},
        errors=errors or {},
        notice=notice(request, NOTICES),
    )


async def scope(request: web.Request) -> web.Response:
    return await scope_page(request)


async def request_scope(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    value = str((await request.post()).get("value", ""))
    form = {"value": value}
    if who.role != "agency" or who.agency is None:  # admins add scope directly (API, CLI)
        raise web.HTTPForbidden()
    if host_error(value, words(request)) is not None:
        return await scope_page(request, form, {"value": words(request)["form_scope_value"]}, 400)
    try:
        await services(request).scopes.request(who.agency, value, who.actor(client_address(request)))
    except UserError as err:
        return await scope_page(request, form, {"value": ui_message(request, err)}, api_error(err).status)
    raise web.HTTPSeeOther(f"{UI}/scope?notice=scope_requested")


async def verify_request(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    svc = services(request)
    try:
        await svc.scopes.verify(
            record_id(request), agency_filter(who), svc.resolver.txt, who.actor(client_address(request))
        )
    except UserError as err:
        if api_error(err).status == 404:
            raise
        message = words(request)["error_txt_missing"] if err.field == "value" else ui_message(request, err)
        return await scope_page(request, errors={"verify": message}, status=api_error(err).status)
    raise web.HTTPSeeOther(f"{UI}/scope?notice=scope_verified")


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/scope", scope),
    ("POST", "/scope/requests", request_scope),
    ("POST", "/scope/requests/{id}/verify", verify_request),
]

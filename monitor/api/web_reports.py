"""The reports pages: an agency's contacts (who receives the weekly report) and its archived reports with each
contact's delivery status. An agency's session sees only its own agency (any other: 404); admins all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from monitor.api.context import client_address, services
from monitor.api.routes_reports import own_agency, weekly_reports
from monitor.api.web_base import UI, notice, principal, record_id, render, require_writer, ui_message, words
from monitor.errors import Conflict, InvalidInput, UserError
from monitor.models import LANGUAGES
from monitor.reports.maker import MEDIA_TYPES
from monitor.reports.week import IsoWeek
from monitor.usecases.contacts import (
    ROLES,
    ContactRequest,
    Contacts,
    contact_language,
    contact_name,
    contact_role,
    email_address,
)

NOTICES = ("contact_added", "contact_removed")
_FIELDS: dict[str, tuple[Callable[[str], Any], str]] = {
    "name": (contact_name, "form_contact_name"),
    "email": (email_address, "form_contact_email"),
    "role": (contact_role, "form_contact_role"),
    "language": (contact_language, "form_contact_language"),
}


def _agency(request: web.Request) -> str:
    return own_agency(principal(request), request.match_info["slug"])


async def reports_home(request: web.Request) -> web.StreamResponse:
    """An agency goes to its own reports; the CERT chooses an agency."""
    who = principal(request)
    if who.agency is not None:
        raise web.HTTPSeeOther(f"{UI}/agencies/{who.agency}/reports")
    agencies = await services(request).store.registry.list_agencies()
    return render(request, "reports_home.html", agencies=agencies)


async def reports_page(request: web.Request) -> web.Response:
    slug = _agency(request)
    store = services(request).store
    files, deliveries = await store.reports.archive_list(slug), await store.reports.deliveries(slug)
    return render(request, "reports.html", slug=slug, weeks=weekly_reports(slug, files, deliveries))


async def report_pdf(request: web.Request) -> web.Response:
    slug = _agency(request)
    language = request.query.get("language", "de")
    try:
        week = str(IsoWeek.parse(request.match_info["week"]))
    except InvalidInput:
        raise web.HTTPNotFound() from None
    if language not in LANGUAGES:
        raise web.HTTPNotFound()
    content = await services(request).store.reports.archived(slug, week, language, "pdf")
    if content is None:
        raise web.HTTPNotFound()
    filename = f"posture-{slug}-{week}-{language}.pdf"
    return web.Response(
        body=content,
        content_type=MEDIA_TYPES["pdf"],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def contacts_page(request: web.Request, form: dict[str, str] | None = None,
                        errors: dict[str, str] | None = None, status: int = 200) -> web.Response:  # fmt: skip
    slug = _agency(request)
    return render(
        request,
        "contacts.html",
        status,
        slug=slug,
        contacts=await Contacts(services(request).store.contacts).of_agency(slug),
        roles=ROLES,
        may_edit=principal(request).role in ("admin", "agency"),
        form=form or {"name": "", "email": "", "role": "security", "language": "de"},
        errors=errors or {},
        notice=notice(request, NOTICES),
    )


async def contacts(request: web.Request) -> web.Response:
    return await contacts_page(request)


async def add_contact(request: web.Request) -> web.StreamResponse:
    require_writer(request)
    slug = _agency(request)
    posted = await request.post()
    form = {name: str(posted.get(name, "")) for name in _FIELDS}
    t = words(request)
    errors: dict[str, str] = {}
    for name, (rule, message) in _FIELDS.items():
        try:
            rule(form[name])
        except InvalidInput:
            errors[name] = t[message]
    if errors:
        return await contacts_page(request, form, errors, 400)
    contact = ContactRequest(form["name"], form["email"], form["role"], form["language"])
    try:
        await Contacts(services(request).store.contacts).add(
            slug, contact, principal(request).actor(client_address(request))
        )
    except Conflict:
        return await contacts_page(request, form, {"email": t["error_contact_conflict"]}, 409)
    except UserError as err:
        return await contacts_page(request, form, {"email": ui_message(request, err)}, 400)
    raise web.HTTPSeeOther(f"{UI}/agencies/{slug}/contacts?notice=contact_added")


async def remove_contact(request: web.Request) -> web.StreamResponse:
    require_writer(request)
    slug = _agency(request)
    actor = principal(request).actor(client_address(request))
    await Contacts(services(request).store.contacts).remove(slug, record_id(request), actor)
    raise web.HTTPSeeOther(f"{UI}/agencies/{slug}/contacts?notice=contact_removed")


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/reports", reports_home),
    ("GET", "/agencies/{slug}/reports", reports_page),
    ("GET", "/agencies/{slug}/reports/{week}.pdf", report_pdf),
    ("GET", "/agencies/{slug}/contacts", contacts),
    ("POST", "/agencies/{slug}/contacts", add_contact),
    ("POST", "/agencies/{slug}/contacts/{id}/delete", remove_contact),
]

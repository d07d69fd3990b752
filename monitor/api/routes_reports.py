"""An agency's report contacts, and its archived weekly reports with their delivery status (an agency token sees and
manages only its own agency's; any other agency is 404, as elsewhere)."""

from __future__ import annotations

from aiohttp import web

from monitor.api import schemas as s
from monitor.api.auth import ROLE_AGENCY, ROLE_ANY
from monitor.api.context import client_address, services
from monitor.api.errors import ApiError
from monitor.api.routing import Call, Operation
from monitor.errors import InvalidInput
from monitor.reports.maker import MEDIA_TYPES
from monitor.reports.week import IsoWeek
from monitor.store.access_store import Principal
from monitor.store.contact_store import ContactView
from monitor.store.report_store import ArchiveEntry, DeliveryView
from monitor.usecases.contacts import ContactRequest, Contacts


def own_agency(principal: Principal, slug: str) -> str:
    """The agency in the path, which an agency token may only name if it is its own (else: 404)."""
    if not principal.reads_everything and slug != principal.agency:
        raise ApiError(404, "not_found", f"no agency {slug!r}", "slug")
    return slug


def contact_reply(view: ContactView) -> s.Contact:
    return s.Contact(
        id=view.id,
        agency=view.agency,
        name=view.name,
        email=view.email,
        role=view.role,
        language=view.language,
        created_at=view.created_at,
    )


def _contacts(call: Call) -> Contacts:
    return Contacts(services(call.request).store.contacts)


async def list_contacts(call: Call) -> s.ContactList:
    views = await _contacts(call).of_agency(own_agency(call.principal, call.path["slug"]))
    return s.ContactList(items=[contact_reply(view) for view in views])


async def create_contact(call: Call) -> s.Contact:
    body: s.ContactCreate = call.body
    agency = own_agency(call.principal, call.path["slug"])
    actor = call.principal.actor(client_address(call.request))
    request = ContactRequest(body.name, body.email, body.role, body.language)
    return contact_reply(await _contacts(call).add(agency, request, actor))


async def update_contact(call: Call) -> s.Contact:
    body: s.ContactUpdate = call.body
    agency = own_agency(call.principal, call.path["slug"])
    actor = call.principal.actor(client_address(call.request))
    changes = body.model_dump(exclude_none=True)
    return contact_reply(await _contacts(call).change(agency, call.path["id"], changes, actor))


async def delete_contact(call: Call) -> None:
    agency = own_agency(call.principal, call.path["slug"])
    await _contacts(call).remove(agency, call.path["id"], call.principal.actor(client_address(call.request)))


def report_url(agency: str, week: str, language: str) -> str:
    suffix = "" if language == "de" else f"?language={language}"
    return f"/api/v1/agencies/{agency}/reports/{week}.pdf{suffix}"


def weekly_reports(agency: str, files: list[ArchiveEntry], deliveries: list[DeliveryView]) -> list[s.WeeklyReport]:
    weeks = sorted({entry.week for entry in files} | {d.week for d in deliveries}, reverse=True)
    return [
        s.WeeklyReport(
            week=week,
            files=[
                s.ReportFile(
                    language=entry.language,
                    format=entry.format,
                    size=entry.size,
                    created_at=entry.created_at,
                    url=report_url(agency, week, entry.language) if entry.format == "pdf" else None,
                )
                for entry in files
                if entry.week == week
            ],
            deliveries=[
                s.ReportDelivery(
                    contact_id=d.contact_id,
                    contact_name=d.contact_name,
                    email=d.email,
                    language=d.language,
                    status=d.status,
                    attempts=d.attempts,
                    last_error=d.last_error,
                    next_attempt_at=d.next_attempt_at,
                    sent_at=d.sent_at,
                )
                for d in deliveries
                if d.week == week
            ],
        )
        for week in weeks
    ]


async def list_reports(call: Call) -> s.WeeklyReportList:
    agency = own_agency(call.principal, call.path["slug"])
    reports = services(call.request).store.reports
    files, deliveries = await reports.archive_list(agency), await reports.deliveries(agency)
    return s.WeeklyReportList(items=weekly_reports(agency, files, deliveries))


async def get_report_pdf(call: Call) -> web.Response:
    query: s.ReportQuery = call.query
    agency = own_agency(call.principal, call.path["slug"])
    try:
        week = str(IsoWeek.parse(call.path["week"]))
    except InvalidInput:
        raise ApiError(404, "not_found", f"no report for week {call.path['week']!r}", "week") from None
    content = await services(call.request).store.reports.archived(agency, week, query.language, "pdf")
    if content is None:
        raise ApiError(404, "not_found", f"no {query.language} report of {agency!r} for {week}", "week")
    filename = f"posture-{agency}-{week}-{query.language}.pdf"
    return web.Response(
        body=content,
        content_type=MEDIA_TYPES["pdf"],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


OPERATIONS = [
    Operation("GET", "/agencies/{slug}/contacts", list_contacts, "The agency's report contacts", ROLE_ANY,
              "contacts", response=s.ContactList, errors=(404,)),
    Operation("POST", "/agencies/{slug}/contacts", create_contact,
              "Add a contact who receives the weekly report (name, e-mail, role, language)", ROLE_AGENCY, "contacts",
              body=s.ContactCreate, response=s.Contact, status=201, errors=(404, 409)),
    Operation("PATCH", "/agencies/{slug}/contacts/{id}", update_contact, "Change a contact", ROLE_AGENCY,
              "contacts", body=s.ContactUpdate, response=s.Contact, errors=(404, 409)),
    Operation("DELETE", "/agencies/{slug}/contacts/{id}", delete_contact, "Remove a contact", ROLE_AGENCY,
              "contacts", status=204, errors=(404,)),
    Operation("GET", "/agencies/{slug}/reports", list_reports,
              "The archived weekly reports, newest first, with each contact's delivery status", ROLE_ANY, "reports",
              response=s.WeeklyReportList, errors=(404,)),
    Operation("GET", "/agencies/{slug}/reports/{week}.pdf", get_report_pdf, "An archived weekly report as PDF",
              ROLE_ANY, "reports", query=s.ReportQuery, media_type="application/pdf", errors=(404,)),
]  # fmt: skip

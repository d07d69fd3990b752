"""Endpoints: an agency's staff register, change and remove their own, inside their scope; and ask for re-scans."""

from __future__ import annotations

from typing import Any

from monitor.api import schemas as s
from monitor.api.auth import ROLE_AGENCY, ROLE_ANY, agency_filter
from monitor.api.context import client_address, services
from monitor.api.errors import ApiError
from monitor.api.routing import Call, Operation
from monitor.errors import InvalidInput
from monitor.models import EndpointStatus, Severity
from monitor.scope import normalise_host
from monitor.store.access_store import Principal
from monitor.store.endpoint_store import EndpointView
from monitor.usecases.registration import EndpointChange, EndpointRequest


def endpoint_reply(view: EndpointView) -> s.Endpoint:
    return s.Endpoint(host=view.host, port=view.port, expected_ports=list(view.expected_ports), **asset_posture(view))


def asset_posture(view: EndpointView) -> dict[str, Any]:
    """The fields an endpoint's and a domain's replies share: what is checked, how often, and how it stands."""
    return {
        "id": view.id,
        "agency": view.agency,
        "checks": list(view.checks),
        "labels": dict(view.labels),
        "intervals": dict(view.intervals),
        "created_at": view.created_at,
        "open_findings": view.open_findings,
        "worst_severity": None if view.worst_severity is None else Severity(view.worst_severity).label,
        "last_scan_at": view.last_scan_at,
        "status": view.status.value,
        "checks_status": check_runs(view),
    }


def check_runs(view: EndpointView) -> list[s.CheckRun]:
    return [
        s.CheckRun(
            name=check.name,
            status=check.status.value,
            consecutive_failures=check.consecutive_failures,
            last_run_at=check.last_run_at,
            next_due=check.next_due,
            reason=check.reason,
            untested=list(check.untested),
        )
        for check in view.checks_status
    ]


def target_agency(principal: Principal, requested: str | None) -> str:
    if principal.is_admin:
        if requested is None:
            raise InvalidInput("agency", "an admin must name the agency")
        return requested
    if requested is not None and requested != principal.agency:
        raise ApiError(404, "not_found", f"no agency {requested!r}", "agency")
    assert principal.agency is not None
    return principal.agency


def endpoint_request(body: s.EndpointCreate) -> EndpointRequest:
    return EndpointRequest(body.host, body.port, body.checks, body.interval, body.labels, body.expected_ports)


async def create_endpoint(call: Call) -> s.Endpoint:
    body: s.EndpointCreate = call.body
    agency = target_agency(call.principal, body.agency)
    actor = call.principal.actor(client_address(call.request))
    view = await services(call.request).registration.register_endpoint(agency, endpoint_request(body), actor)
    return endpoint_reply(view)


async def list_endpoints(call: Call) -> s.EndpointPage:
    query: s.EndpointQuery = call.query
    host = normalise_host(query.host, "host") if query.host else None
    status = EndpointStatus(query.status) if query.status else None
    views = await services(call.request).endpoints.page(
        agency_filter(call.principal),
        after=query.after,
        limit=query.limit,
        agency=query.agency,
        host=host,
        status=status,
    )
    return s.EndpointPage(
        items=[endpoint_reply(view) for view in views],
        next_after=views[-1].id if len(views) == query.limit else None,
    )


async def get_endpoint(call: Call) -> s.Endpoint:
    return endpoint_reply(await services(call.request).endpoints.get(call.path["id"], agency_filter(call.principal)))


async def update_endpoint(call: Call) -> s.Endpoint:
    body: s.EndpointUpdate = call.body
    change = EndpointChange(body.checks, body.interval, body.labels, body.expected_ports)
    actor = call.principal.actor(client_address(call.request))
    registration = services(call.request).registration
    return endpoint_reply(
        await registration.update_endpoint(call.path["id"], agency_filter(call.principal), change, actor)
    )


async def delete_endpoint(call: Call) -> None:
    actor = call.principal.actor(client_address(call.request))
    await services(call.request).registration.remove_endpoint(call.path["id"], agency_filter(call.principal), actor)


async def request_scan(call: Call) -> s.ScanRequested:
    actor = call.principal.actor(client_address(call.request))
    registration = services(call.request).registration
    requested_at, checks = await registration.request_rescan(call.path["id"], agency_filter(call.principal), actor)
    return s.ScanRequested(endpoint_id=call.path["id"], requested_at=requested_at, checks=checks)


OPERATIONS = [
    Operation("POST", "/endpoints", create_endpoint, "Register an endpoint inside the agency's scope", ROLE_AGENCY,
              "endpoints", body=s.EndpointCreate, response=s.Endpoint, status=201, errors=(404, 409)),
    Operation("GET", "/endpoints", list_endpoints, "Endpoints with their posture and status, by id, a page at a time",
              ROLE_ANY, "endpoints", query=s.EndpointQuery, response=s.EndpointPage),
    Operation("GET", "/endpoints/{id}", get_endpoint, "One endpoint, with the last run of each check", ROLE_ANY,
              "endpoints", response=s.Endpoint, errors=(404,)),
    Operation("PATCH", "/endpoints/{id}", update_endpoint, "Change checks, interval, labels or expected ports",
              ROLE_AGENCY, "endpoints", body=s.EndpointUpdate, response=s.Endpoint, errors=(404,)),
    Operation("DELETE", "/endpoints/{id}", delete_endpoint, "Remove an endpoint and its findings", ROLE_AGENCY,
              "endpoints", status=204, errors=(404,)),
    Operation("POST", "/endpoints/{id}/scans", request_scan,
              "Re-scan now to verify a fix (rate limited per endpoint); a fix seen resolves its finding",
              ROLE_AGENCY, "scans", response=s.ScanRequested, status=202, errors=(404, 429)),
]  # fmt: skip

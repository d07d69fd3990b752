"""Endpoints: an agency's staff register, change and remove their own, inside their scope; and ask for re-scans."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.api import schemas as s
from monitor.api.auth import ROLE_AGENCY, ROLE_ANY, agency_filter
from monitor.api.context import Services, client_address, services
from monitor.api.errors import ApiError
from monitor.api.routing import Call, Operation
from monitor.durations import MIN_INTERVAL_S, parse_duration
from monitor.errors import InvalidInput
from monitor.models import Severity
from monitor.scope import normalise_host, parse_port
from monitor.scope_resolution import HostUnresolvable, ScopeViolation, check_addresses
from monitor.store.access_store import Principal
from monitor.store.endpoint_store import EndpointView


def endpoint_reply(view: EndpointView) -> s.Endpoint:
    return s.Endpoint(
        id=view.id,
        agency=view.agency,
        host=view.host,
        port=view.port,
        checks=list(view.checks),
        labels=dict(view.labels),
        expected_ports=list(view.expected_ports),
        intervals=dict(view.intervals),
        created_at=view.created_at,
        open_findings=view.open_findings,
        worst_severity=None if view.worst_severity is None else Severity(view.worst_severity).label,
        last_scan_at=view.last_scan_at,
    )


def check_names(svc: Services, names: Sequence[str] | None) -> list[str]:
    if names is None:
        return list(svc.config.check_names)
    unknown = [name for name in names if name not in svc.config.check_names]
    if unknown:
        raise InvalidInput("checks", f"unknown check {unknown[0]!r}; known: {', '.join(svc.config.check_names)}")
    return list(dict.fromkeys(names))


def interval_seconds(raw: str | None, checks: Sequence[str]) -> dict[str, float] | None:
    if raw is None:
        return None
    try:
        seconds = parse_duration(raw, minimum_s=MIN_INTERVAL_S)
    except ValueError as err:
        raise InvalidInput("interval", str(err)) from None
    return {check: seconds for check in checks}


def validate_labels(labels: dict[str, str] | None) -> dict[str, str] | None:
    if labels is None:
        return None
    for key, value in labels.items():
        if not key.strip() or len(key) > 64 or len(value) > 200:
            raise InvalidInput("labels", "keys 1-64 characters, values up to 200")
    return labels


def validate_ports(ports: list[int] | None) -> list[int] | None:
    return None if ports is None else [parse_port(port, "expected_ports") for port in ports]


async def in_scope_host(svc: Services, agency: str, raw_host: str) -> str:
    """Normalise the host and check it, and every address it resolves to now, against the agency's scope."""
    host = normalise_host(raw_host)
    scopes = [entry for _, entry in await svc.registry.list_scopes(agency)]
    try:
        # outside the scope is refused before any DNS query: a third party's name is never looked up for it
        check_addresses(host, [], scopes)
        check_addresses(host, await svc.resolver.addresses(host), scopes)
    except HostUnresolvable as err:
        raise InvalidInput("host", f"{host} does not resolve: {err.reason}") from None
    except ScopeViolation as err:
        allowed = ", ".join(entry.value for entry in scopes) or "nothing yet"
        raise ApiError(400, "out_of_scope", f"{host}: {err.reason} (scope of {agency!r}: {allowed})", "host") from None
    return host


def target_agency(principal: Principal, requested: str | None) -> str:
    if principal.is_admin:
        if requested is None:
            raise InvalidInput("agency", "an admin must name the agency")
        return requested
    if requested is not None and requested != principal.agency:
        raise ApiError(404, "not_found", f"no agency {requested!r}", "agency")
    assert principal.agency is not None
    return principal.agency


async def register(
    svc: Services,
    principal: Principal,
    source: str,
    agency: str,
    body: s.EndpointCreate,
) -> EndpointView:
    """Register an endpoint for `agency` (the API and the web UI both come here)."""
    checks = check_names(svc, body.checks)
    intervals = interval_seconds(body.interval, checks)
    labels = validate_labels(body.labels)
    ports = validate_ports(body.expected_ports)
    host = await in_scope_host(svc, agency, body.host)
    record = await svc.registry.add_endpoint(
        agency, host, body.port, checks, svc.config.cadence, principal.actor(source), intervals, labels, ports or ()
    )
    return await svc.endpoints.get(record.id, None)


async def create_endpoint(call: Call) -> s.Endpoint:
    body: s.EndpointCreate = call.body
    agency = target_agency(call.principal, body.agency)
    view = await register(services(call.request), call.principal, client_address(call.request), agency, body)
    return endpoint_reply(view)


async def list_endpoints(call: Call) -> s.EndpointPage:
    query: s.EndpointQuery = call.query
    host = normalise_host(query.host, "host") if query.host else None
    views = await services(call.request).endpoints.page(
        agency_filter(call.principal), after=query.after, limit=query.limit, agency=query.agency, host=host
    )
    return s.EndpointPage(
        items=[endpoint_reply(view) for view in views],
        next_after=views[-1].id if len(views) == query.limit else None,
    )


async def get_endpoint(call: Call) -> s.Endpoint:
    return endpoint_reply(await services(call.request).endpoints.get(call.path["id"], agency_filter(call.principal)))


async def update_endpoint(call: Call) -> s.Endpoint:
    body: s.EndpointUpdate = call.body
    svc = services(call.request)
    agency_id = agency_filter(call.principal)
    current = await svc.endpoints.get(call.path["id"], agency_id)
    checks = check_names(svc, body.checks) if body.checks is not None else None
    intervals = interval_seconds(body.interval, checks or current.checks)
    view = await svc.endpoints.update(
        current.id,
        agency_id,
        call.principal.actor(client_address(call.request)),
        svc.config.cadence,
        checks=checks,
        intervals=intervals,
        labels=validate_labels(body.labels),
        expected_ports=validate_ports(body.expected_ports),
    )
    return endpoint_reply(view)


async def delete_endpoint(call: Call) -> None:
    actor = call.principal.actor(client_address(call.request))
    await services(call.request).endpoints.remove(call.path["id"], agency_filter(call.principal), actor)


async def request_scan(call: Call) -> s.ScanRequested:
    svc = services(call.request)
    actor = call.principal.actor(client_address(call.request))
    requested_at, checks = await svc.endpoints.request_rescan(
        call.path["id"], agency_filter(call.principal), svc.config.rescan_min_interval, actor
    )
    return s.ScanRequested(endpoint_id=call.path["id"], requested_at=requested_at, checks=checks)


OPERATIONS = [
    Operation("POST", "/endpoints", create_endpoint, "Register an endpoint inside the agency's scope", ROLE_AGENCY,
              "endpoints", body=s.EndpointCreate, response=s.Endpoint, status=201, errors=(404, 409)),
    Operation("GET", "/endpoints", list_endpoints, "Endpoints with their posture, by id, a page at a time",
              ROLE_ANY, "endpoints", query=s.EndpointQuery, response=s.EndpointPage),
    Operation("GET", "/endpoints/{id}", get_endpoint, "One endpoint", ROLE_ANY, "endpoints",
              response=s.Endpoint, errors=(404,)),
    Operation("PATCH", "/endpoints/{id}", update_endpoint, "Change checks, interval, labels or expected ports",
              ROLE_AGENCY, "endpoints", body=s.EndpointUpdate, response=s.Endpoint, errors=(404,)),
    Operation("DELETE", "/endpoints/{id}", delete_endpoint, "Remove an endpoint and its findings", ROLE_AGENCY,
              "endpoints", status=204, errors=(404,)),
    Operation("POST", "/endpoints/{id}/scans", request_scan,
              "Re-scan now to verify a fix (rate limited per endpoint); a fix seen resolves its finding",
              ROLE_AGENCY, "scans", response=s.ScanRequested, status=202, errors=(404, 429)),
]  # fmt: skip

"""Domains: an agency's staff register, change and remove the names they own (DNSSEC, mail), inside their domain
scope; the same roles, tenant isolation, audit and re-scans as endpoints (one table, one store: a domain has no
port)."""

from __future__ import annotations

from monitor.api import schemas as s
from monitor.api.auth import ROLE_AGENCY, ROLE_ANY, agency_filter
from monitor.api.context import client_address, services
from monitor.api.routes_endpoints import asset_posture, target_agency
from monitor.api.routing import Call, Operation
from monitor.models import EndpointStatus
from monitor.scope import normalise_host
from monitor.store.endpoint_store import EndpointView
from monitor.usecases.registration import DomainRequest, EndpointChange


def domain_reply(view: EndpointView) -> s.Domain:
    return s.Domain(name=view.host, **asset_posture(view))


async def create_domain(call: Call) -> s.Domain:
    body: s.DomainCreate = call.body
    agency = target_agency(call.principal, body.agency)
    actor = call.principal.actor(client_address(call.request))
    request = DomainRequest(body.name, body.checks, body.interval, body.labels)
    return domain_reply(await services(call.request).registration.register_domain(agency, request, actor))


async def list_domains(call: Call) -> s.DomainPage:
    query: s.DomainQuery = call.query
    views = await services(call.request).endpoints.page(
        agency_filter(call.principal),
        after=query.after,
        limit=query.limit,
        agency=query.agency,
        host=normalise_host(query.name, "name") if query.name else None,
        status=EndpointStatus(query.status) if query.status else None,
        kind="domain",
    )
    return s.DomainPage(
        items=[domain_reply(view) for view in views],
        next_after=views[-1].id if len(views) == query.limit else None,
    )


async def get_domain(call: Call) -> s.Domain:
    endpoints = services(call.request).endpoints
    return domain_reply(await endpoints.get(call.path["id"], agency_filter(call.principal), "domain"))


async def update_domain(call: Call) -> s.Domain:
    body: s.DomainUpdate = call.body
    change = EndpointChange(body.checks, body.interval, body.labels)
    actor = call.principal.actor(client_address(call.request))
    registration = services(call.request).registration
    return domain_reply(
        await registration.update_endpoint(call.path["id"], agency_filter(call.principal), change, actor, "domain")
    )


async def delete_domain(call: Call) -> None:
    actor = call.principal.actor(client_address(call.request))
    registration = services(call.request).registration
    await registration.remove_endpoint(call.path["id"], agency_filter(call.principal), actor, "domain")


async def request_domain_scan(call: Call) -> s.ScanRequested:
    actor = call.principal.actor(client_address(call.request))
    registration = services(call.request).registration
    requested_at, checks = await registration.request_rescan(
        call.path["id"], agency_filter(call.principal), actor, "domain"
    )
    return s.ScanRequested(endpoint_id=call.path["id"], requested_at=requested_at, checks=checks)


OPERATIONS = [
    Operation("POST", "/domains", create_domain, "Register a domain inside the agency's domain scope", ROLE_AGENCY,
              "domains", body=s.DomainCreate, response=s.Domain, status=201, errors=(404, 409)),
    Operation("GET", "/domains", list_domains, "Domains with their posture and status, by id, a page at a time",
              ROLE_ANY, "domains", query=s.DomainQuery, response=s.DomainPage),
    Operation("GET", "/domains/{id}", get_domain, "One domain, with the last run of each check", ROLE_ANY,
              "domains", response=s.Domain, errors=(404,)),
    Operation("PATCH", "/domains/{id}", update_domain, "Change checks, interval or labels", ROLE_AGENCY, "domains",
              body=s.DomainUpdate, response=s.Domain, errors=(404,)),
    Operation("DELETE", "/domains/{id}", delete_domain, "Remove a domain and its findings", ROLE_AGENCY, "domains",
              status=204, errors=(404,)),
    Operation("POST", "/domains/{id}/scans", request_domain_scan,
              "Re-scan now to verify a fix (rate limited per domain); a fix seen resolves its finding",
              ROLE_AGENCY, "scans", response=s.ScanRequested, status=202, errors=(404, 429)),
]  # fmt: skip

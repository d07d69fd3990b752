"""Discovered assets: each agency's inbox of hosts and services seen inside its scope that nobody registered.
Staff confirm one (it is registered, under registration's scope rules) or dismiss it with a reason."""

from __future__ import annotations

from monitor.api import schemas as s
from monitor.api.auth import ROLE_AGENCY, ROLE_ANY, agency_filter
from monitor.api.context import client_address, services
from monitor.api.errors import ApiError
from monitor.api.routes_admin import own_agency
from monitor.api.routing import Call, Operation
from monitor.models import asset_kind
from monitor.store.discovery_store import CandidateView


def discovery_reply(view: CandidateView) -> s.Discovery:
    return s.Discovery(
        id=view.id, agency=view.agency, host=view.host, port=view.port, sources=list(view.sources),
        evidence=dict(view.evidence), exposure=view.exposure.label, state=view.state,
        first_seen=view.first_seen, last_seen=view.last_seen, decided_at=view.decided_at,
        decided_by=view.decided_by, reason=view.reason, asset_id=view.asset_id,
    )  # fmt: skip


async def list_discoveries(call: Call) -> s.DiscoveryPage:
    query: s.DiscoveryQuery = call.query
    store = services(call.request).store
    agency_id = agency_filter(call.principal)
    if query.agency is not None:
        if agency_id is not None and query.agency != call.principal.agency:
            raise ApiError(404, "not_found", f"no agency {query.agency!r}", "agency")
        agency_id = (await store.registry.agency(query.agency)).id
    views = await store.discovery.candidates(agency_id, query.state, query.limit, query.offset)
    return s.DiscoveryPage(items=[discovery_reply(view) for view in views])


async def get_discovery(call: Call) -> s.Discovery:
    store = services(call.request).store
    return discovery_reply(await store.discovery.get(call.path["id"], agency_filter(call.principal)))


async def confirm_discovery(call: Call) -> s.DiscoveryConfirmed:
    body: s.DiscoveryConfirm = call.body
    actor = call.principal.actor(client_address(call.request))
    view, asset = await services(call.request).discovery.confirm(
        call.path["id"], agency_filter(call.principal), actor, body.as_, body.port
    )
    return s.DiscoveryConfirmed(discovery=discovery_reply(view), asset_id=asset.id, asset_kind=asset_kind(asset.port))


async def dismiss_discovery(call: Call) -> s.Discovery:
    body: s.DiscoveryDismiss = call.body
    actor = call.principal.actor(client_address(call.request))
    view = await services(call.request).discovery.dismiss(
        call.path["id"], agency_filter(call.principal), body.reason, actor
    )
    return discovery_reply(view)


async def get_discovery_settings(call: Call) -> s.DiscoverySettingsReply:
    agency = own_agency(call)
    enabled = await services(call.request).store.discovery.auto_register(agency)
    return s.DiscoverySettingsReply(agency=agency, auto_register=enabled)


async def change_discovery_settings(call: Call) -> s.DiscoverySettingsReply:
    body: s.DiscoverySettings = call.body
    agency = own_agency(call)
    actor = call.principal.actor(client_address(call.request))
    await services(call.request).store.discovery.set_auto_register(agency, body.auto_register, actor)
    return s.DiscoverySettingsReply(agency=agency, auto_register=body.auto_register)


OPERATIONS = [
    Operation("GET", "/discoveries", list_discoveries,
              "Hosts and services discovered inside the agency's scope and not registered, newest first",
              ROLE_ANY, "discovery", query=s.DiscoveryQuery, response=s.DiscoveryPage, errors=(404,)),
    Operation("GET", "/discoveries/{id}", get_discovery, "One discovered asset with its evidence", ROLE_ANY,
              "discovery", response=s.Discovery, errors=(404,)),
    Operation("POST", "/discoveries/{id}/confirm", confirm_discovery,
              "Register a discovered asset as an endpoint or a domain (the scope rules of registration apply)",
              ROLE_AGENCY, "discovery", body=s.DiscoveryConfirm, response=s.DiscoveryConfirmed,
              errors=(404, 409)),
    Operation("POST", "/discoveries/{id}/dismiss", dismiss_discovery,
              "Dismiss a discovered asset with a reason; it stays dismissed when seen again", ROLE_AGENCY,
              "discovery", body=s.DiscoveryDismiss, response=s.Discovery, errors=(404,)),
    Operation("GET", "/agencies/{slug}/discovery", get_discovery_settings,
              "Whether the agency's discovered assets are registered at once", ROLE_ANY, "discovery",
              response=s.DiscoverySettingsReply, errors=(404,)),
    Operation("PUT", "/agencies/{slug}/discovery", change_discovery_settings,
              "Register discovered assets at once (auto_register) or keep them in the inbox", ROLE_AGENCY,
              "discovery", body=s.DiscoverySettings, response=s.DiscoverySettingsReply, errors=(404,)),
]  # fmt: skip

"""Agencies, scopes, scope requests and tokens: the CERT's administration, and an agency's own token and scope."""

from __future__ import annotations

from monitor.api import schemas as s
from monitor.api.auth import ROLE_ADMIN, ROLE_ANY, ROLE_READ_ALL, agency_filter
from monitor.api.context import client_address, services
from monitor.api.errors import ApiError
from monitor.api.routing import Call, Operation
from monitor.errors import InvalidInput
from monitor.store.access_store import TokenRecord
from monitor.store.registry import AgencyRecord
from monitor.store.scope_requests import ScopeRequestView, ScopeView


def _scope(view: ScopeView) -> s.Scope:
    return s.Scope(id=view.id, agency=view.agency, kind=view.kind, value=view.value, created_at=view.created_at)


def _request(view: ScopeRequestView) -> s.ScopeRequest:
    return s.ScopeRequest(
        id=view.id,
        agency=view.agency,
        value=view.value,
        state=view.state,
        txt_record=view.txt_record,
        created_at=view.created_at,
        decided_at=view.decided_at,
        decided_by=view.decided_by,
    )


def _token(record: TokenRecord) -> s.Token:
    return s.Token(
        id=record.id,
        role=record.role,
        agency=record.agency,
        label=record.label,
        created_at=record.created_at,
        last_used_at=record.last_used_at,
        revoked_at=record.revoked_at,
    )


async def create_agency(call: Call) -> s.Agency:
    body: s.AgencyCreate = call.body
    record = await services(call.request).registration.add_agency(
        body.slug, body.name, call.principal.actor(client_address(call.request))
    )
    return s.Agency(slug=record.slug, name=record.name, endpoints=0)


async def list_agencies(call: Call) -> s.AgencyList:
    records = await services(call.request).store.registry.list_agencies()
    return s.AgencyList(items=[s.Agency(slug=r.slug, name=r.name, endpoints=r.endpoints) for r in records])


def _agency_detail(record: AgencyRecord) -> s.AgencyDetail:
    settings = {name: dict(values) for name, values in record.check_settings.items()}
    return s.AgencyDetail(
        slug=record.slug,
        name=record.name,
        endpoints=record.endpoints,
        check_settings=settings,
        alert_language=record.alert_language,
    )


async def get_agency(call: Call) -> s.AgencyDetail:
    return _agency_detail(await services(call.request).store.registry.agency(call.path["slug"]))


async def update_agency(call: Call) -> s.AgencyDetail:
    body: s.AgencyUpdate = call.body
    actor = call.principal.actor(client_address(call.request))
    registration = services(call.request).registration
    try:
        record = await registration.change_agency_settings(
            call.path["slug"], body.check_settings, actor, body.alert_language
        )
    except InvalidInput as err:
        field = err.field if err.field == "alert_language" else f"check_settings.{err.field}"
        raise InvalidInput(field, err.reason) from None
    return _agency_detail(record)


def own_agency(call: Call) -> str:
    """The agency in the path, which an agency token may only name if it is its own (else: 404)."""
    slug: str = call.path["slug"]
    if not call.principal.reads_everything and slug != call.principal.agency:
        raise ApiError(404, "not_found", f"no agency {slug!r}", "slug")
    return slug


async def list_scopes(call: Call) -> s.ScopeList:
    views = await services(call.request).scopes.scopes(own_agency(call))
    return s.ScopeList(items=[_scope(view) for view in views])


async def add_scope(call: Call) -> s.Scope:
    body: s.ScopeCreate = call.body
    actor = call.principal.actor(client_address(call.request))
    return _scope(await services(call.request).scopes.add(call.path["slug"], body.value, actor))


async def request_scope(call: Call) -> s.ScopeRequest:
    body: s.ScopeRequestCreate = call.body
    actor = call.principal.actor(client_address(call.request))
    return _request(await services(call.request).scopes.request(own_agency(call), body.value, actor))


async def list_scope_requests(call: Call) -> s.ScopeRequestList:
    query: s.ScopeRequestQuery = call.query
    views = await services(call.request).scopes.list(agency_filter(call.principal), query.state)
    return s.ScopeRequestList(items=[_request(view) for view in views])


async def verify_scope_request(call: Call) -> s.ScopeRequest:
    svc = services(call.request)
    actor = call.principal.actor(client_address(call.request))
    view = await svc.scopes.verify(call.path["id"], agency_filter(call.principal), svc.resolver.txt, actor)
    return _request(view)


async def decide_scope_request(call: Call) -> s.ScopeRequest:
    body: s.ScopeDecision = call.body
    actor = call.principal.actor(client_address(call.request))
    return _request(await services(call.request).scopes.decide(call.path["id"], body.approve, actor))


async def create_token(call: Call) -> s.TokenIssued:
    body: s.TokenCreate = call.body
    actor = call.principal.actor(client_address(call.request))
    issued = await services(call.request).access.create_token(body.role, body.agency, body.label, actor)
    return s.TokenIssued(**_token(issued.record).model_dump(), token=issued.token)


async def list_tokens(call: Call) -> s.TokenList:
    records = await services(call.request).access.list_tokens(agency_filter(call.principal))
    return s.TokenList(items=[_token(record) for record in records])


async def revoke_token(call: Call) -> s.Token:
    actor = call.principal.actor(client_address(call.request))
    record = await services(call.request).access.revoke(call.path["id"], actor, agency_filter(call.principal))
    return _token(record)


async def rotate_token(call: Call) -> s.TokenIssued:
    actor = call.principal.actor(client_address(call.request))
    issued = await services(call.request).access.rotate(call.principal, actor)
    return s.TokenIssued(**_token(issued.record).model_dump(), token=issued.token)


OPERATIONS = [
    Operation("POST", "/agencies", create_agency, "Create an agency", ROLE_ADMIN, "agencies",
              body=s.AgencyCreate, response=s.Agency, status=201, errors=(409,)),
    Operation("GET", "/agencies", list_agencies, "List agencies", ROLE_READ_ALL, "agencies", response=s.AgencyList),
    Operation("GET", "/agencies/{slug}", get_agency, "An agency and its check settings", ROLE_READ_ALL, "agencies",
              response=s.AgencyDetail, errors=(404,)),
    Operation("PATCH", "/agencies/{slug}", update_agency,
              "Change an agency's check settings (trust anchors, compliance profiles) for all its endpoints, or the "
              "language of its alerts",
              ROLE_ADMIN, "agencies", body=s.AgencyUpdate, response=s.AgencyDetail, errors=(404,)),
    Operation("GET", "/agencies/{slug}/scopes", list_scopes, "An agency's scope", ROLE_ANY, "scopes",
              response=s.ScopeList, errors=(404,)),
    Operation("POST", "/agencies/{slug}/scopes", add_scope, "Add a domain or CIDR to an agency's scope",
              ROLE_ADMIN, "scopes", body=s.ScopeCreate, response=s.Scope, status=201, errors=(404, 409)),
    Operation("POST", "/agencies/{slug}/scope-requests", request_scope,
              "Propose a domain; it joins the scope once its TXT record is verified or an admin approves",
              ("admin", "agency"), "scopes", body=s.ScopeRequestCreate, response=s.ScopeRequest, status=201,
              errors=(404, 409)),
    Operation("GET", "/scope-requests", list_scope_requests, "Scope requests (an agency sees its own)", ROLE_ANY,
              "scopes", query=s.ScopeRequestQuery, response=s.ScopeRequestList),
    Operation("POST", "/scope-requests/{id}/verify", verify_scope_request,
              "Look up the TXT record posture-verification=<token> and activate the scope entry",
              ("admin", "agency"), "scopes", response=s.ScopeRequest, errors=(404, 409)),
    Operation("POST", "/scope-requests/{id}/decision", decide_scope_request, "Approve or reject a scope request",
              ROLE_ADMIN, "scopes", body=s.ScopeDecision, response=s.ScopeRequest, errors=(404, 409)),
    Operation("POST", "/tokens", create_token, "Issue a token (shown once)", ROLE_ADMIN, "tokens",
              body=s.TokenCreate, response=s.TokenIssued, status=201, errors=(404,)),
    Operation("GET", "/tokens", list_tokens, "List tokens (an agency sees its own)", ROLE_ANY, "tokens",
              response=s.TokenList),
    Operation("POST", "/tokens/rotate", rotate_token, "Replace the calling token: a new one, the old one revoked",
              ROLE_ANY, "tokens", response=s.TokenIssued, status=201, errors=(404,)),
    Operation("DELETE", "/tokens/{id}", revoke_token, "Revoke a token", ("admin", "agency"), "tokens",
              response=s.Token, errors=(404,)),
]  # fmt: skip

"""Bearer tokens: who is calling, and may their role do this?"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from monitor.api.context import client_address, services
from monitor.api.errors import ApiError
from monitor.store.access_store import Principal

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ROLE_ADMIN = ("admin",)
ROLE_READ_ALL = ("admin", "analyst")
ROLE_AGENCY = ("admin", "agency")  # writes about endpoints and findings: the agency's staff, or a CERT admin
ROLE_ANY = ("admin", "analyst", "agency")
ROLE_METRICS = ("admin", "analyst", "metrics")  # /metrics: every agency's posture, so never an agency token


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def principal_of(request: web.Request, token: str) -> Principal | None:
    """The token's principal, or None for a failed sign-in (counted per client address and per token), or 429
    while that address or token has failed too often. A valid token is never refused for others' failures."""
    svc = services(request)
    principal = await svc.access.authenticate(token)
    if principal is not None:
        return principal
    address = client_address(request)
    wait = svc.auth_limiter.retry_after(address, token)
    if wait > 0:
        err = ApiError(429, "too_many_failures", "too many failed sign-ins from this address or with this token")
        err.headers["Retry-After"] = str(int(wait + 0.999))
        raise err
    svc.auth_limiter.failed(address, token)
    return None


async def authenticate(request: web.Request, roles: Sequence[str]) -> Principal:
    token = bearer_token(request)
    if token is None:
        raise _unauthorized("send 'Authorization: Bearer <token>'")
    principal = await principal_of(request, token)
    if principal is None:
        raise _unauthorized("the token is unknown or revoked")
    if principal.role not in roles:
        raise ApiError(403, "forbidden", f"a {principal.role} token may not do this", None)
    return principal


def metrics_guard(handler: Handler) -> Handler:
    """/metrics shows every agency's weaknesses: only a metrics (Prometheus), analyst or admin token reads it;
    anything else is 401 without data."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        token = bearer_token(request)
        principal = await principal_of(request, token) if token is not None else None
        if principal is None or principal.role not in ROLE_METRICS:
            raise _unauthorized("/metrics needs 'Authorization: Bearer <token>' of a metrics, analyst or admin token")
        return await handler(request)

    return guarded


def _unauthorized(message: str) -> ApiError:
    err = ApiError(401, "unauthorized", message, None)
    err.headers["WWW-Authenticate"] = 'Bearer realm="posture-monitor"'
    return err


def agency_filter(principal: Principal) -> int | None:
    """The agency every query of this caller is limited to; None for admins and analysts."""
    return None if principal.reads_everything else principal.agency_id

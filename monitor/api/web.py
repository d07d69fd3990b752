"""The agency web UI: server-rendered pages (aiohttp-jinja2), German by default, English on request.

Sign-in with a token gives a session cookie (HttpOnly, SameSite=Strict, Secure behind TLS); every form carries a
CSRF token; templates escape everything, because banners and certificate fields come from scanned servers.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from pydantic import ValidationError

from monitor.api import schemas as s
from monitor.api.auth import agency_filter, principal_of
from monitor.api.context import client_address, services
from monitor.api.errors import ApiError, Handler, from_user_error, from_validation_error
from monitor.api.i18n import DEFAULT_LANGUAGE, LANGUAGES, translator
from monitor.api.routes_endpoints import endpoint_request, target_agency
from monitor.api.routes_findings import finding_reply
from monitor.errors import UserError
from monitor.models import Severity
from monitor.store.access_store import SessionInfo
from monitor.store.finding_queries import FindingFilter

UI = "/ui"
SESSION_COOKIE = "posture_session"
LOGIN_COOKIE = "posture_login"  # the sign-in form's CSRF token, before there is a session
LANG_COOKIE = "posture_lang"
NOTICES = ("registered", "rescan_requested", "accepted")
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SESSION = web.RequestKey("session", SessionInfo)


def language(request: web.Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE, DEFAULT_LANGUAGE)
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def _cookie(response: web.StreamResponse, request: web.Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=UI,
        httponly=True,
        samesite="Strict",
        secure=services(request).config.secure_cookies,
    )


def see_other(location: str) -> web.Response:
    """A redirect that can carry cookies (an HTTPException may not be returned)."""
    return web.Response(status=303, headers={"Location": location})


def _severity(value: int | None) -> str | None:
    return None if value is None else Severity(value).label


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    session = request.get(SESSION)
    lang = language(request)
    context.update(
        t=translator(lang),
        lang=lang,
        languages=LANGUAGES,
        here=request.path_qs,
        principal=session.principal if session else None,
        csrf=session.csrf_token if session else context.get("csrf", ""),
        severity_label=_severity,
    )
    return aiohttp_jinja2.render_template(template, request, context, status=status)


@web.middleware
async def web_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Pages need a session (except sign-in); POSTs need the session's CSRF token; pages get strict headers."""
    if not request.path.startswith(UI):
        return await handler(request)
    public = request.path in (f"{UI}/login", f"{UI}/static/style.css") or request.path.startswith(f"{UI}/lang/")
    if not public:
        info = await services(request).access.session(request.cookies.get(SESSION_COOKIE, ""))
        if info is None:
            raise web.HTTPSeeOther(f"{UI}/login")
        request[SESSION] = info
        if request.method == "POST":
            form = await request.post()
            if not hmac.compare_digest(str(form.get("csrf", "")), info.csrf_token):
                return render(request, "error.html", 403, message=translator(language(request))["bad_csrf"])
    try:
        response = await handler(request)
    except UserError as err:
        api = from_user_error(err)
        response = render(request, "error.html", api.status, message=_message(request, api))
    except ApiError as err:
        response = render(request, "error.html", err.status, message=_message(request, err))
    except web.HTTPNotFound:
        response = render(request, "error.html", 404, message=translator(language(request))["not_found"])
    response.headers.update(
        {
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        }
    )
    return response


def _message(request: web.Request, err: ApiError) -> str:
    words = translator(language(request))
    return f"{words.get('error_' + err.code, words['error_invalid_input'])} ({err.message})"


async def login_page(request: web.Request) -> web.Response:
    csrf = secrets.token_urlsafe(32)
    response = render(request, "login.html", csrf=csrf, error=None)
    _cookie(response, request, LOGIN_COOKIE, csrf, 3600)
    return response


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    expected = request.cookies.get(LOGIN_COOKIE, "")
    words = translator(language(request))
    if not expected or not hmac.compare_digest(str(form.get("csrf", "")), expected):
        return render(request, "login.html", 403, csrf=expected, error=words["bad_csrf"])
    try:
        principal = await principal_of(request, str(form.get("token", "")).strip())
    except ApiError as err:  # too many failed sign-ins from this address
        response = render(request, "login.html", err.status, csrf=expected, error=words["too_many_failures"])
        response.headers.update(err.headers)
        return response
    if principal is None:
        return render(request, "login.html", 401, csrf=expected, error=words["bad_token"])
    if principal.role == "metrics":
        return render(request, "login.html", 403, csrf=expected, error=words["metrics_token"])
    cookie, _ = await services(request).access.create_session(principal)
    response = see_other(f"{UI}/endpoints")
    _cookie(response, request, SESSION_COOKIE, cookie, 8 * 3600)
    response.del_cookie(LOGIN_COOKIE, path=UI)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    await services(request).access.end_session(request.cookies.get(SESSION_COOKIE, ""))
    response = see_other(f"{UI}/login")
    response.del_cookie(SESSION_COOKIE, path=UI)
    return response


async def switch_language(request: web.Request) -> web.StreamResponse:
    code = request.match_info["code"]
    target = request.query.get("next", f"{UI}/endpoints")
    if not target.startswith(f"{UI}/") or target.startswith("//") or "\\" in target:
        target = f"{UI}/endpoints"  # never an open redirect
    response = see_other(target)
    if code in LANGUAGES:
        _cookie(response, request, LANG_COOKIE, code, 365 * 86400)
    return response


async def alert_link(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther(f"{UI}/{request.path.strip('/').split('/')[0]}/{_id(request)}")


async def home(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther(f"{UI}/endpoints")


async def endpoints_page(request: web.Request, form: dict[str, Any] | None = None,
                         errors: dict[str, str] | None = None, status: int = 200) -> web.Response:  # fmt: skip
    svc = services(request)
    principal = request[SESSION].principal
    try:
        after = int(request.query.get("after", "0"))
    except ValueError:
        after = 0
    views = await svc.endpoints.page(agency_filter(principal), after=max(0, after), limit=50)
    return render(
        request,
        "endpoints.html",
        status,
        endpoints=views,
        next_after=views[-1].id if len(views) == 50 else None,
        check_names=list(svc.config.check_names),
        form=form or {"host": "", "port": "443", "checks": list(svc.config.check_names), "agency": ""},
        errors=errors or {},
        notice=_notice(request),
        may_write=principal.role in ("admin", "agency"),
    )


def _notice(request: web.Request) -> str | None:
    notice = request.query.get("notice")
    return notice if notice in NOTICES else None


async def endpoints_list(request: web.Request) -> web.Response:
    return await endpoints_page(request)


async def register_endpoint(request: web.Request) -> web.StreamResponse:
    posted = await request.post()
    principal = request[SESSION].principal
    svc = services(request)
    host, port_text, agency_text = (str(posted.get(name, "")) for name in ("host", "port", "agency"))
    checks = [str(name) for name in posted.getall("checks", [])]
    form: dict[str, Any] = {"host": host, "port": port_text, "checks": checks, "agency": agency_text}
    try:
        if principal.role not in ("admin", "agency"):
            raise ApiError(403, "forbidden", principal.role, None)
        port: int | str = int(port_text) if port_text.strip().isdigit() else port_text
        body = s.EndpointCreate.model_validate({"host": host, "port": port, "checks": checks or None}, strict=False)
        agency = target_agency(principal, agency_text or None)
        actor = principal.actor(client_address(request))
        view = await svc.registration.register_endpoint(agency, endpoint_request(body), actor)
    except ValidationError as err:
        api = from_validation_error(err)
        return await endpoints_page(request, form, {api.field or "host": _message(request, api)}, 400)
    except (UserError, ApiError) as err:
        api = from_user_error(err) if isinstance(err, UserError) else err
        field = api.field if api.field in ("host", "port", "checks", "agency") else "host"
        return await endpoints_page(request, form, {field: _message(request, api)}, api.status)
    raise web.HTTPSeeOther(f"{UI}/endpoints/{view.id}?notice=registered")


def _id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= s.MAX_INT:
        raise web.HTTPNotFound()
    return int(raw)


async def endpoint_page(request: web.Request) -> web.Response:
    svc = services(request)
    principal = request[SESSION].principal
    endpoint = await svc.endpoints.get(_id(request), agency_filter(principal))
    findings = await svc.findings.page(
        FindingFilter(agency_id=agency_filter(principal), endpoint_id=endpoint.id), limit=500
    )
    return render(
        request,
        "endpoint.html",
        endpoint=endpoint,
        findings=[finding_reply(view) for view in findings],
        notice=_notice(request),
        may_write=principal.role in ("admin", "agency"),
    )


async def rescan(request: web.Request) -> web.StreamResponse:
    principal = request[SESSION].principal
    if principal.role not in ("admin", "agency"):
        raise ApiError(403, "forbidden", principal.role, None)
    endpoint_id = _id(request)
    actor = principal.actor(client_address(request))
    await services(request).registration.request_rescan(endpoint_id, agency_filter(principal), actor)
    raise web.HTTPSeeOther(f"{UI}/endpoints/{endpoint_id}?notice=rescan_requested")


async def finding_page(request: web.Request, errors: dict[str, str] | None = None, status: int = 200) -> web.Response:
    svc = services(request)
    principal = request[SESSION].principal
    view = await svc.findings.get(_id(request), agency_filter(principal))
    return render(
        request,
        "finding.html",
        status,
        finding=finding_reply(view),
        history=await svc.findings.history(view),
        errors=errors or {},
        notice=_notice(request),
        may_write=principal.role in ("admin", "agency"),
        default_until=(services(request).store.clock.now() + timedelta(days=90)).date().isoformat(),
    )


async def finding_detail(request: web.Request) -> web.Response:
    return await finding_page(request)


async def accept_risk(request: web.Request) -> web.StreamResponse:
    svc = services(request)
    principal = request[SESSION].principal
    finding_id = _id(request)
    posted = await request.post()
    try:
        if principal.role not in ("admin", "agency"):
            raise ApiError(403, "forbidden", principal.role, None)
        try:
            day = date.fromisoformat(str(posted.get("until", "")))
        except ValueError:
            raise ApiError(400, "invalid_input", "YYYY-MM-DD", "until") from None
        until = datetime.combine(day, time(23, 59, 59), UTC)
        if until > svc.store.clock.now() + timedelta(days=svc.config.max_accept_days):
            raise ApiError(400, "invalid_input", f"≤ {svc.config.max_accept_days} days", "until")
        reason = str(posted.get("reason", ""))[:1000]
        actor = principal.actor(client_address(request))
        await svc.findings.accept_risk(finding_id, agency_filter(principal), until, reason, actor)
    except (UserError, ApiError) as err:
        api = from_user_error(err) if isinstance(err, UserError) else err
        if api.status == 404:
            raise
        return await finding_page(request, {api.field or "reason": _message(request, api)}, api.status)
    raise web.HTTPSeeOther(f"{UI}/findings/{finding_id}?notice=accepted")


async def stylesheet(_request: web.Request) -> web.Response:
    return web.Response(body=STYLE, content_type="text/css")


STYLE = resources.files("monitor.api").joinpath("static/style.css").read_bytes()


def setup_web(app: web.Application) -> None:
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("monitor.api", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    app.middlewares.append(web_middleware)
    app.router.add_get(UI, home)
    app.router.add_get(f"{UI}/", home)
    app.router.add_get(f"{UI}/static/style.css", stylesheet)
    app.router.add_get(f"{UI}/login", login_page)
    app.router.add_post(f"{UI}/login", login)
    app.router.add_post(f"{UI}/logout", logout)
    app.router.add_get(f"{UI}/lang/{{code}}", switch_language)
    app.router.add_get(f"{UI}/endpoints", endpoints_list)
    app.router.add_post(f"{UI}/endpoints", register_endpoint)
    app.router.add_get(f"{UI}/endpoints/{{id}}", endpoint_page)
    app.router.add_post(f"{UI}/endpoints/{{id}}/scans", rescan)
    app.router.add_get(f"{UI}/findings/{{id}}", finding_detail)
    app.router.add_post(f"{UI}/findings/{{id}}/acceptance", accept_risk)
    # Alerts link to {POSTURE_UI_BASE_URL}/findings/{id} and /endpoints/{id}: send those to the UI's pages.
    app.router.add_get("/findings/{id}", alert_link)
    app.router.add_get("/endpoints/{id}", alert_link)

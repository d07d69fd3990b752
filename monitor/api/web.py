"""The agency web UI: server-rendered pages (aiohttp-jinja2), German by default, English on request.

Sign-in with a token gives a session cookie (HttpOnly, SameSite=Strict, Secure behind TLS); every form carries a
CSRF token; templates escape everything, because banners and certificate fields come from scanned servers.
The pages themselves are in web_endpoints, web_domains, web_findings and web_scope; what they share is in web_base,
and what the pages of endpoints and domains share (the two kinds of asset) in web_assets.
"""

from __future__ import annotations

import hmac
import secrets
from importlib import resources

import aiohttp_jinja2
import jinja2
from aiohttp import web

from monitor.api import web_discoveries, web_domains, web_endpoints, web_findings, web_reports, web_scope
from monitor.api.auth import principal_of
from monitor.api.context import services
from monitor.api.errors import ApiError, Handler
from monitor.api.web_base import (
    LANG_COOKIE,
    SESSION,
    SESSION_COOKIE,
    UI,
    api_error,
    record_id,
    render,
    see_other,
    set_cookie,
    ui_message,
    words,
)
from monitor.errors import UserError
from monitor.models import LANGUAGES

LOGIN_COOKIE = "posture_login"  # the sign-in form's CSRF token, before there is a session
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PUBLIC = (f"{UI}/login", f"{UI}/static/style.css")


async def _signed_in(request: web.Request) -> web.StreamResponse | None:
    """None when the request has a live session (now in request[SESSION]); else the way to the sign-in page,
    which says why a session that existed has ended."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    access = services(request).access
    info = await access.session(cookie)
    if info is not None:
        request[SESSION] = info
        return None
    if not cookie:
        return see_other(f"{UI}/login")
    ending = "revoked" if await access.session_revoked(cookie) else "expired"
    response = see_other(f"{UI}/login?ended={ending}")
    response.del_cookie(SESSION_COOKIE, path=UI)
    return response


@web.middleware
async def web_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Pages need a session (except sign-in); POSTs need the session's CSRF token; pages get strict headers."""
    if not request.path.startswith(UI):
        return await handler(request)
    if request.path not in PUBLIC and not request.path.startswith(f"{UI}/lang/"):
        to_sign_in = await _signed_in(request)
        if to_sign_in is not None:
            return to_sign_in
        if request.method == "POST":
            form = await request.post()
            if not hmac.compare_digest(str(form.get("csrf", "")), request[SESSION].csrf_token):
                return render(request, "error.html", 403, message=words(request)["bad_csrf"])
    try:
        response = await handler(request)
    except (UserError, ApiError) as err:
        response = render(request, "error.html", api_error(err).status, message=ui_message(request, err))
    except web.HTTPNotFound:
        response = render(request, "error.html", 404, message=words(request)["not_found"])
    response.headers.update(
        {
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        }
    )
    return response


async def login_page(request: web.Request) -> web.Response:
    csrf = secrets.token_urlsafe(32)
    ended = request.query.get("ended")
    t = words(request)
    message = {"expired": t["session_ended"], "revoked": t["token_revoked"]}.get(ended or "")
    response = render(request, "login.html", csrf=csrf, error=None, ended=message)
    set_cookie(response, request, LOGIN_COOKIE, csrf, 3600)
    return response


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    expected = request.cookies.get(LOGIN_COOKIE, "")
    t = words(request)
    if not expected or not hmac.compare_digest(str(form.get("csrf", "")), expected):
        return render(request, "login.html", 403, csrf=expected, error=t["bad_csrf"], ended=None)
    try:
        principal = await principal_of(request, str(form.get("token", "")).strip())
    except ApiError as err:  # too many failed sign-ins from this address
        response = render(request, "login.html", err.status, csrf=expected, error=t["too_many_failures"], ended=None)
        response.headers.update(err.headers)
        return response
    if principal is None:
        return render(request, "login.html", 401, csrf=expected, error=t["bad_token"], ended=None)
    if principal.role == "metrics":
        return render(request, "login.html", 403, csrf=expected, error=t["metrics_token"], ended=None)
    cookie, _ = await services(request).access.create_session(principal)
    response = see_other(f"{UI}/endpoints")
    set_cookie(response, request, SESSION_COOKIE, cookie, 8 * 3600)
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
        set_cookie(response, request, LANG_COOKIE, code, 365 * 86400)
    return response


async def alert_link(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther(f"{UI}/{request.path.strip('/').split('/')[0]}/{record_id(request)}")


async def home(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther(f"{UI}/endpoints")


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
    add = app.router.add_route
    add("GET", UI, home)
    add("GET", f"{UI}/", home)
    add("GET", f"{UI}/static/style.css", stylesheet)
    add("GET", f"{UI}/login", login_page)
    add("POST", f"{UI}/login", login)
    add("POST", f"{UI}/logout", logout)
    add("GET", f"{UI}/lang/{{code}}", switch_language)
    pages = (
        *web_endpoints.ROUTES,
        *web_domains.ROUTES,
        *web_findings.ROUTES,
        *web_scope.ROUTES,
        *web_discoveries.ROUTES,
        *web_reports.ROUTES,
    )
    for method, path, handler in pages:
        add(method, f"{UI}{path}", handler)
    # Alerts link to {POSTURE_UI_BASE_URL}/findings/{id}, /endpoints/{id} and /domains/{id}: send those to the UI's
    # pages.
    for alerted in ("findings", "endpoints", "domains", "discoveries"):
        add("GET", f"/{alerted}/{{id}}", alert_link)

"""What every page of the web UI shares: the session, the reader's language, rendering, and errors in words."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup, escape

from monitor.api import schemas as s
from monitor.api.context import services
from monitor.api.errors import ApiError, from_user_error
from monitor.api.i18n import local_date, local_time, translator
from monitor.errors import RateLimited, UserError
from monitor.models import DEFAULT_LANGUAGE, LANGUAGES, Severity
from monitor.store.access_store import Principal, SessionInfo

UI = "/ui"
SESSION_COOKIE = "posture_session"
LANG_COOKIE = "posture_lang"
SESSION = web.RequestKey("session", SessionInfo)

# A use case's complaint about a field, in the reader's words: (error code, field) → message key. The forms
# check each field first (monitor/api/forms.py), so what reaches these is what only the use case can know.
_FIELD_MESSAGES = {
    ("invalid_input", "host"): "error_unresolvable",
    ("invalid_input", "id"): "error_not_accepted",
    ("invalid_input", "reason"): "form_reason",
    ("invalid_input", "value"): "form_scope_value",
    ("invalid_input", "checks"): "form_checks",
    ("invalid_input", "interval"): "form_interval",
    ("invalid_input", "labels"): "form_labels",
    ("invalid_input", "expected_ports"): "form_expected_ports",
    ("invalid_input", "name"): "form_domain_invalid",
    ("out_of_scope", "name"): "error_domain_out_of_scope",
    ("conflict", "domain"): "error_domain_conflict",
    ("invalid_input", "agency"): "form_agency",
    ("not_found", "agency"): "form_agency",
    ("conflict", "value"): "error_scope_conflict",
    ("conflict", "state"): "error_scope_decided",
}


def language(request: web.Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE, DEFAULT_LANGUAGE)
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def words(request: web.Request) -> dict[str, str]:
    return translator(language(request))


def set_cookie(response: web.StreamResponse, request: web.Request, name: str, value: str, max_age: int) -> None:
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


def principal(request: web.Request) -> Principal:
    return request[SESSION].principal


def may_write(request: web.Request) -> bool:
    return principal(request).role in ("admin", "agency")


def require_writer(request: web.Request) -> None:
    if not may_write(request):
        raise ApiError(403, "forbidden", principal(request).role, None)


def record_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= s.MAX_INT:
        raise web.HTTPNotFound()
    return int(raw)


def notice(request: web.Request, allowed: tuple[str, ...]) -> str | None:
    chosen = request.query.get("notice")
    return chosen if chosen in allowed else None


def prose(text: str) -> Markup:
    """Catalogue text as HTML: escaped, with its `code spans` (configuration lines to copy) set as code."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: plain text
        return escape(text)
    code = Markup("<code>{}</code>")
    return Markup("").join(code.format(part) if index % 2 else part for index, part in enumerate(parts))


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    session = request.get(SESSION)
    lang = language(request)
    t = translator(lang)
    context.update(
        t=t,
        lang=lang,
        languages=LANGUAGES,
        here=request.path_qs,
        principal=session.principal if session else None,
        csrf=session.csrf_token if session else context.get("csrf", ""),
        severity_label=lambda value: None if value is None else Severity(value).label,
        when=lambda moment: local_time(moment, lang) if moment else "",
        day=lambda moment: local_date(moment, lang) if moment else "",
        check_label=lambda name: t.get(f"check_{name}", name),
        prose=prose,
    )
    return aiohttp_jinja2.render_template(template, request, context, status=status)


def api_error(err: UserError | ApiError) -> ApiError:
    return from_user_error(err) if isinstance(err, UserError) else err


def ui_message(request: web.Request, err: UserError | ApiError) -> str:
    """The error as one sentence in the reader's language: never the library's or the use case's English."""
    t = words(request)
    if isinstance(err, RateLimited):
        ready = services(request).store.clock.now() + timedelta(seconds=err.retry_after_s)
        return t["error_rate_limited_until"].format(time=local_time(ready, language(request)))
    api = api_error(err)
    key = _FIELD_MESSAGES.get((api.code, api.field or ""), f"error_{api.code}")
    return t.get(key, t["error_invalid_input"])

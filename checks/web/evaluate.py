"""The web check's judgement: facts → observations. Pure; the clock is the caller's `now`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from checks.base import FindingSpec
from checks.web import csp, findings, security_txt
from checks.web.models import CookieFact, WebConfig, WebDetails
from checks.web.observatory import policies, referrer_policy
from monitor.models import Observation, Severity

REDIRECTS = (301, 302, 303, 307, 308)
UNSAFE_REFERRER = ("unsafe-url", "no-referrer-when-downgrade")
# sources that let any script (or plugin content) run: wildcards, whole schemes, inline data
OPEN_SOURCES = frozenset({"*", "http:", "https:", "data:", "http://*", "https://*", "http://*.*", "https://*.*"})


def evaluate(details: WebDetails, cfg: WebConfig, now: datetime) -> list[Observation]:
    found: list[Observation] = []
    for rule in (_redirect, _csp, _framing, _nosniff, _referrer):
        observation = rule(details)
        if observation is not None:
            found.append(observation)
    cookies = _cookies(details, cfg)
    if cookies is not None:
        found.append(cookies)
    found.extend(_security_txt(details, cfg, now))
    return found


def untested_keys(details: WebDetails) -> tuple[str, ...]:
    """What this run could not look at: port 80 that answered nothing usable, a security.txt request that failed."""
    untested: list[str] = []
    if details.http is not None and not details.http.responses:
        untested.append(findings.NO_REDIRECT.key)
    if any(entry.error for entry in details.security_txt) and details.security_txt_found is None:
        untested.append("web.security_txt.*")
    return tuple(untested)


def _observe(spec: FindingSpec, **detail: Any) -> Observation:
    return spec.observe({name: value for name, value in detail.items() if value is not None})


def _redirect(details: WebDetails) -> Observation | None:
    if details.http is None or not details.http.responses:
        return None  # nothing on port 80 is fine: there is nothing to redirect
    first = details.http.responses[0]
    location = first.first("location")
    if first.status not in REDIRECTS or location is None:
        return _observe(findings.NO_REDIRECT, url=first.url, status=first.status)
    target = details.http.responses[1].url if len(details.http.responses) > 1 else details.http.stopped or location
    if not target.lower().startswith("https://"):
        return _observe(findings.NO_REDIRECT, url=first.url, status=first.status, location=location)
    if details.http.stopped is not None and len(details.http.responses) == 1:
        # to HTTPS, but on another host: the first hop must stay on the host (its HSTS is set there)
        return findings.NO_REDIRECT.observe(
            {"url": first.url, "status": first.status, "location": location}, severity=Severity.LOW
        )
    return None


def _csp(details: WebDetails) -> Observation | None:
    page = details.page
    if page is None:
        return None
    header, equiv = policies(details, page)
    try:
        policy = csp.parse([*header, *equiv])
    except csp.InvalidPolicy as err:
        return _observe(findings.CSP_MISSING, reason=str(err), value="; ".join(header + equiv))
    if not header and not equiv:
        report_only = page.first("content-security-policy-report-only")
        return _observe(findings.CSP_MISSING, report_only=report_only)
    problems: list[dict[str, str]] = []
    scripts = csp.effective(policy, "script-src")
    named = "script-src" if "script-src" in policy else "default-src" if "default-src" in policy else None
    open_scripts = sorted(scripts & OPEN_SOURCES)
    if not csp.has_nonce_or_hash(scripts):
        open_scripts += sorted(scripts & {"'unsafe-inline'", "'unsafe-eval'"})
    if open_scripts:
        problems.append(_directive(named or "script-src", policy, open_scripts))
    objects = csp.effective(policy, "object-src")
    named_objects = "object-src" if "object-src" in policy else "default-src" if "default-src" in policy else None
    if objects & OPEN_SOURCES:
        problems.append(_directive(named_objects or "object-src", policy, sorted(objects & OPEN_SOURCES)))
    if not problems:
        return None
    first = problems[0]
    return _observe(findings.CSP_UNSAFE, directive=first["directive"], value=first["setting"], directives=problems)


def _directive(name: str, policy: csp.Policy, offending: list[str]) -> dict[str, str]:
    value = " ".join(sorted(policy[name])) if name in policy else "(not set: any source)"
    return {"directive": name, "setting": value, "sources": " ".join(offending)}


def _framing(details: WebDetails) -> Observation | None:
    page = details.page
    if page is None:
        return None
    xfo = page.first("x-frame-options")
    if xfo is not None and xfo.strip().lower() in ("deny", "sameorigin"):
        return None
    try:  # frame-ancestors counts only from a header: a meta element cannot set it
        policy = csp.parse(csp.split_policies(page.header("content-security-policy")))
    except csp.InvalidPolicy:
        policy = {}
    ancestors = policy.get("frame-ancestors")
    if ancestors and not ancestors & {"*", "http:", "https:", "http://*", "https://*"}:
        return None
    return _observe(findings.XFO_MISSING, value=xfo, frame_ancestors=" ".join(sorted(ancestors or ())) or None)


def _nosniff(details: WebDetails) -> Observation | None:
    page = details.page
    if page is None:
        return None
    value = page.first("x-content-type-options")
    if value is not None and value.strip().lower() == "nosniff":
        return None
    return _observe(findings.NOSNIFF_MISSING, value=value)


def _referrer(details: WebDetails) -> Observation | None:
    page = details.page
    if page is None:
        return None
    values = [*page.header("referrer-policy"), *(m.value for m in details.meta if m.name.lower() == "referrer")]
    policy = referrer_policy(values)
    if policy in UNSAFE_REFERRER:
        return _observe(findings.REFERRER_UNSAFE, value=policy)
    return None


def _cookies(details: WebDetails, cfg: WebConfig) -> Observation | None:
    markers = tuple(marker.lower() for marker in cfg.session_cookie_markers)
    problems: dict[str, dict[str, str]] = {}
    for response in details.https.responses:
        for cookie in response.cookies:
            missing = _missing_flags(cookie, markers)
            if missing:
                problems[cookie.name] = {"cookie": cookie.name, "missing": ", ".join(missing)}
    if not problems:
        return None
    return _observe(findings.COOKIES_INSECURE, cookies=list(problems.values()))


def _missing_flags(cookie: CookieFact, markers: tuple[str, ...]) -> list[str]:
    missing = [] if cookie.secure else ["Secure"]
    if not cookie.http_only and any(marker in cookie.name.lower() for marker in markers):
        missing.append("HttpOnly")
    return missing


def _security_txt(details: WebDetails, cfg: WebConfig, now: datetime) -> list[Observation]:
    if not details.security_txt:
        return []
    found = details.security_txt_found
    if found is None:
        if any(entry.error for entry in details.security_txt):
            return []  # untested, not missing
        tried = [f"{entry.url} ({entry.status})" for entry in details.security_txt]
        return [_observe(findings.SECURITY_TXT_MISSING, tried=tried)]
    verdict = security_txt.judge(found)
    result: list[Observation] = []
    if verdict.problems:
        result.append(_observe(findings.SECURITY_TXT_INVALID, url=found.url, problems=list(verdict.problems)))
    if verdict.expires is not None:
        left = verdict.expires - now
        expires = verdict.expires.isoformat()
        if left.total_seconds() <= 0:
            result.append(_observe(findings.SECURITY_TXT_EXPIRED, url=found.url, expires=expires))
        elif left.days < cfg.security_txt_warning_days:
            result.append(_observe(findings.SECURITY_TXT_EXPIRING, url=found.url, expires=expires, days_left=left.days))
    return result

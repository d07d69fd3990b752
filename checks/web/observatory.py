"""The MDN HTTP Observatory's score and grade, computed on our facts. Pure.

A port of the tests and scoring of `@mdn/mdn-http-observatory` 1.4.8 (algorithm version 4; `src/analyzer/tests/*`,
`src/grader/charts.js` SCORE_TABLE and GRADE_CHART, `src/scanner/index.js`): every test yields one expectation with a
modifier; the score starts at 100 and adds every modifier, but the bonuses (positive modifiers) count only when the
score without them is already 90 or more; the grade is the chart's entry for the score rounded down to a multiple
of 5 (100 and above: A+). docs/web.md lists the modifiers and docs/web-vs-observatory.md the differences.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from checks.web import csp
from checks.web.fetch import PROBE_ORIGIN
from checks.web.models import ObservatoryTest, ResponseFacts, WebDetails

ALGORITHM_VERSION = 4
MINIMUM_SCORE_FOR_EXTRA_CREDIT = 90
SIX_MONTHS_S = 15_552_000
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})

MODIFIERS: dict[str, int] = {
    "csp-implemented-with-no-unsafe-default-src-none": 10,
    "csp-implemented-with-no-unsafe": 5,
    "csp-implemented-with-unsafe-inline-in-style-src-only": 0,
    "csp-implemented-with-insecure-scheme-in-passive-content-only": -10,
    "csp-implemented-with-unsafe-eval": -10,
    "csp-implemented-with-unsafe-inline": -20,
    "csp-implemented-with-insecure-scheme": -20,
    "csp-header-invalid": -25,
    "csp-not-implemented": -25,
    "csp-not-implemented-but-reporting-enabled": -25,
    "csp-implemented-but-duplicate-directives": 0,
    "cookies-secure-with-httponly-sessions-and-samesite": 5,
    "cookies-secure-with-httponly-sessions": 0,
    "cookies-not-found": 0,
    "cookies-without-secure-flag-but-protected-by-hsts": -5,
    "cookies-session-without-secure-flag-but-protected-by-hsts": -10,
    "cookies-without-secure-flag": -20,
    "cookies-samesite-flag-invalid": -20,
    "cookies-anticsrf-without-samesite-flag": -20,
    "cookies-session-without-httponly-flag": -30,
    "cookies-session-without-secure-flag": -40,
    "cross-origin-resource-sharing-not-implemented": 0,
    "cross-origin-resource-sharing-implemented-with-public-access": 0,
    "cross-origin-resource-sharing-implemented-with-restricted-access": 0,
    "cross-origin-resource-sharing-implemented-with-universal-access": -50,
    "redirection-all-redirects-preloaded": 0,
    "redirection-to-https": 0,
    "redirection-not-needed-no-http": 0,
    "redirection-off-host-from-http": -5,
    "redirection-not-to-https-on-initial-redirection": -10,
    "redirection-not-to-https": -20,
    "redirection-missing": -20,
    "redirection-invalid-cert": -20,
    "referrer-policy-private": 5,
    "referrer-policy-not-implemented": 0,
    "referrer-policy-unsafe": -5,
    "referrer-policy-header-invalid": -5,
    "hsts-preloaded": 5,
    "hsts-implemented-max-age-at-least-six-months": 0,
    "hsts-implemented-max-age-less-than-six-months": -10,
    "hsts-not-implemented": -20,
    "hsts-header-invalid": -20,
    "hsts-not-implemented-no-https": -20,
    "hsts-invalid-cert": -20,
    "sri-implemented-and-all-scripts-loaded-securely": 5,
    "sri-implemented-and-external-scripts-loaded-securely": 5,
    "sri-not-implemented-response-not-html": 0,
    "sri-not-implemented-but-no-scripts-loaded": 0,
    "sri-not-implemented-but-all-scripts-loaded-from-secure-origin": 0,
    "sri-not-implemented-but-external-scripts-loaded-securely": -5,
    "sri-implemented-but-external-scripts-not-loaded-securely": -20,
    "sri-not-implemented-and-external-scripts-not-loaded-securely": -50,
    "x-content-type-options-nosniff": 0,
    "x-content-type-options-not-implemented": -5,
    "x-content-type-options-header-invalid": -5,
    "x-frame-options-implemented-via-csp": 5,
    "x-frame-options-sameorigin-or-deny": 0,
    "x-frame-options-allow-from-origin": 0,
    "x-frame-options-not-implemented": -20,
    "x-frame-options-header-invalid": -20,
    "corp-header-invalid": -5,
    "corp-implemented-with-cross-origin": 0,
    "corp-implemented-with-same-origin": 10,
    "corp-implemented-with-same-site": 10,
    "corp-not-implemented": 0,
    "html-not-parseable": -20,
}

GRADES: tuple[tuple[int, str], ...] = (
    (100, "A+"), (90, "A"), (85, "A-"), (80, "B+"), (70, "B"), (65, "B-"), (60, "C+"), (50, "C"), (45, "C-"),
    (40, "D+"), (30, "D"), (25, "D-"), (0, "F"),
)  # fmt: skip


def grade_for(score: int) -> str:
    return next(grade for floor, grade in GRADES if max(score, 0) - max(score, 0) % 5 >= floor)


def score(tests: tuple[ObservatoryTest, ...]) -> int:
    with_bonus = 100 + sum(test.modifier for test in tests)
    without = 100 + sum(test.modifier for test in tests if test.modifier < 0)
    return max(0, with_bonus if without >= MINIMUM_SCORE_FOR_EXTRA_CREDIT else without)


Outcome = tuple[str, bool]  # an expectation and whether the Observatory counts it as passed


def gradable(details: WebDetails) -> bool:
    """The Observatory grades a page that answered 2xx, 3xx, 401 or 403 only."""
    page = details.page
    return page is not None and (200 <= page.status < 400 or page.status in (401, 403))


def tests(details: WebDetails) -> tuple[ObservatoryTest, ...]:
    page = details.page
    if page is None:
        return ()
    results: dict[str, Outcome] = {
        "content-security-policy": csp_test(details, page),
        "cookies": cookies_test(details),
        "cross-origin-resource-sharing": cors_test(page),
        "redirection": redirection_test(details),
        "referrer-policy": referrer_test(details, page),
        "strict-transport-security": hsts_test(details, page),
        "subresource-integrity": sri_test(details, page),
        "x-content-type-options": xcto_test(page),
        "x-frame-options": xfo_test(details, page),
        "cross-origin-resource-policy": corp_test(details, page),
    }
    return tuple(
        ObservatoryTest(name=name, result=outcome[0], modifier=MODIFIERS[outcome[0]], passed=outcome[1])
        for name, outcome in results.items()
    )


def meta(details: WebDetails, name: str) -> list[str]:
    return [m.value for m in details.meta if m.name.lower() == name]


def policies(details: WebDetails, page: ResponseFacts) -> tuple[list[str], list[str]]:
    return csp.split_policies(page.header("content-security-policy")), csp.split_policies(
        meta(details, "content-security-policy")
    )


def csp_test(details: WebDetails, page: ResponseFacts) -> Outcome:
    header, equiv = policies(details, page)
    try:
        policy = csp.parse([*header, *equiv])
    except csp.InvalidPolicy:
        return "csp-header-invalid", False
    try:
        header_only = csp.parse(header)
    except csp.InvalidPolicy:
        header_only = {}
    try:
        meta_only = csp.parse_meta(equiv)
    except csp.InvalidPolicy:
        meta_only = {}
    if not header_only and not meta_only:
        if page.header("content-security-policy-report-only"):
            return "csp-not-implemented-but-reporting-enabled", False
        return "csp-not-implemented", False
    result: str | None = None
    scripts = csp.effective(policy, "script-src")
    if csp.has_nonce_or_hash(scripts) or "'strict-dynamic'" not in scripts:
        scripts = csp.script_sources(policy)
    elif "'strict-dynamic'" in scripts:
        result = "csp-header-invalid"  # 'strict-dynamic' without a nonce or hash
    styles = csp.style_sources(policy)
    objects = csp.effective(policy, "object-src")
    passive = {"img-src", "media-src"}
    active = [s for d, sources in policy.items() if d not in passive and d != "script-src" for s in sources]
    active += list(scripts)
    passive_sources = [s for d in sorted(passive) for s in (policy.get(d) or policy.get("default-src") or set())]
    broad_inline = csp.DANGEROUSLY_BROAD | csp.UNSAFE_INLINE

    def first(candidate: str) -> None:
        nonlocal result
        if result is None:
            result = candidate

    if scripts & broad_inline or objects & csp.DANGEROUSLY_BROAD:
        first("csp-implemented-with-unsafe-inline")
    if any(s.startswith(("http:", "ftp:")) for s in active):
        first("csp-implemented-with-insecure-scheme")
    if "'unsafe-eval'" in scripts | styles:
        first("csp-implemented-with-unsafe-eval")
    if any(s.startswith(("http:", "ftp:")) for s in passive_sources):
        first("csp-implemented-with-insecure-scheme-in-passive-content-only")
    if styles & broad_inline:
        first("csp-implemented-with-unsafe-inline-in-style-src-only")
    if policy.get("default-src") == {"'none'"}:
        first("csp-implemented-with-no-unsafe-default-src-none")
    first("csp-implemented-with-no-unsafe")
    assert result is not None
    passed = result in (
        "csp-implemented-with-no-unsafe",
        "csp-implemented-with-no-unsafe-default-src-none",
        "csp-implemented-with-unsafe-inline-in-style-src-only",
        "csp-implemented-with-insecure-scheme-in-passive-content-only",
    )
    if passed and csp.DUPLICATES in policy:
        result = "csp-implemented-but-duplicate-directives"
    return result, passed


COOKIE_ORDER = (
    "cookies-without-secure-flag-but-protected-by-hsts",
    "cookies-without-secure-flag",
    "cookies-session-without-secure-flag-but-protected-by-hsts",
    "cookies-samesite-flag-invalid",
    "cookies-anticsrf-without-samesite-flag",
    "cookies-session-without-httponly-flag",
    "cookies-session-without-secure-flag",
)


def cookies_test(details: WebDetails) -> Outcome:
    page = details.page
    hsts = page is not None and hsts_test(details, page)[1]
    result: str | None = None

    def worse(candidate: str) -> None:
        nonlocal result
        if result is None or COOKIE_ORDER.index(candidate) > COOKIE_ORDER.index(result):
            result = candidate

    jar = {cookie.name: cookie for response in details.https.responses for cookie in response.cookies}
    jar.pop("heroku-session-affinity", None)
    for cookie in jar.values():
        if cookie.same_site is not None and cookie.same_site.strip().lower() not in ("lax", "strict", "none"):
            worse("cookies-samesite-flag-invalid")
    if not jar:
        return "cookies-not-found", True
    missing_same_site = False
    for cookie in jar.values():
        name = cookie.name.lower()
        session = "login" in name or "sess" in name
        same_site = (cookie.same_site or "").strip().lower()
        same_site_set = same_site in ("lax", "strict", "none")
        if not cookie.secure and same_site == "none":
            worse("cookies-samesite-flag-invalid")
        if not cookie.secure:
            worse("cookies-without-secure-flag-but-protected-by-hsts" if hsts else "cookies-without-secure-flag")
        if "csrf" in name and not same_site_set:
            worse("cookies-anticsrf-without-samesite-flag")
        if session and not cookie.secure:
            worse(
                "cookies-session-without-secure-flag-but-protected-by-hsts"
                if hsts
                else "cookies-session-without-secure-flag"
            )
        if session and not cookie.http_only:
            worse("cookies-session-without-httponly-flag")
        missing_same_site = missing_same_site or not same_site_set
    if result is None:
        result = (
            "cookies-secure-with-httponly-sessions"
            if missing_same_site
            else "cookies-secure-with-httponly-sessions-and-samesite"
        )
    return result, result in (
        "cookies-secure-with-httponly-sessions",
        "cookies-secure-with-httponly-sessions-and-samesite",
    )


def cors_test(page: ResponseFacts) -> Outcome:
    allowed = page.first("access-control-allow-origin")
    if allowed is None:
        return "cross-origin-resource-sharing-not-implemented", True
    value = allowed[:256].strip().lower()
    if value == "*":
        return "cross-origin-resource-sharing-implemented-with-public-access", True
    credentials = (page.first("access-control-allow-credentials") or "").strip().lower()
    if allowed.strip() == PROBE_ORIGIN and credentials == "true":
        return "cross-origin-resource-sharing-implemented-with-universal-access", False
    return "cross-origin-resource-sharing-implemented-with-restricted-access", True


def redirection_test(details: WebDetails) -> Outcome:
    http = details.http
    if http is None or not http.responses:
        return "redirection-not-needed-no-http", True
    route = [response.url for response in http.responses]
    if http.stopped is not None:
        route.append(http.stopped)
    parts = [urlsplit(url) for url in route]
    if any(p.scheme == "https" for p in parts) and details.certificate_verified is False:
        return "redirection-invalid-cert", False
    if len(route) == 1:
        return "redirection-missing", False
    if parts[-1].scheme != "https":
        return "redirection-not-to-https", False
    if parts[1].scheme == "http":
        return "redirection-not-to-https-on-initial-redirection", False
    if parts[0].scheme == "http" and parts[1].scheme == "https" and parts[0].hostname != parts[1].hostname:
        return "redirection-off-host-from-http", False
    return "redirection-to-https", True


REFERRER_GOOD = ("no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin")
REFERRER_BAD = ("origin", "origin-when-cross-origin", "unsafe-url", "no-referrer-when-downgrade")


def referrer_policy(values: list[str]) -> str:
    """The policy a browser applies: the last recognised token (W3C Referrer Policy §11.1); "" when none is."""
    tokens = [token.strip().lower() for value in values for token in value.split(",")]
    known = [token for token in tokens if token in REFERRER_GOOD + REFERRER_BAD]
    return known[-1] if known else ""


def referrer_test(details: WebDetails, page: ResponseFacts) -> Outcome:
    values = [*page.header("referrer-policy"), *meta(details, "referrer")]
    if not values:
        return "referrer-policy-not-implemented", True
    policy = referrer_policy(values)
    if policy in REFERRER_GOOD:
        return "referrer-policy-private", True
    if policy in REFERRER_BAD:
        return "referrer-policy-unsafe", False
    return "referrer-policy-header-invalid", False


_LEADING_INTEGER = re.compile(r"\s*([+-]?\d+)")


def hsts_test(details: WebDetails, page: ResponseFacts) -> Outcome:
    if details.certificate_verified is False:
        return "hsts-invalid-cert", False
    values = page.header("strict-transport-security")
    if not values:
        return "hsts-not-implemented", False
    header = values[0][:1024]
    max_age: int | None = None
    if "," in header:
        return "hsts-header-invalid", False
    for parameter in (p.strip().lower() for p in header.split(";")):
        if parameter.startswith("max-age="):
            number = _LEADING_INTEGER.match(parameter[8:128])
            if number is None:  # JavaScript's parseInt gives NaN, which the Observatory then counts as long enough
                return "hsts-implemented-max-age-at-least-six-months", True
            max_age = int(number.group(1))
    if max_age is None:
        return "hsts-header-invalid", False
    if max_age < SIX_MONTHS_S:
        return "hsts-implemented-max-age-less-than-six-months", False
    return "hsts-implemented-max-age-at-least-six-months", True


SRI_ORDER = (
    "sri-implemented-and-all-scripts-loaded-securely",
    "sri-implemented-and-external-scripts-loaded-securely",
    "sri-implemented-but-external-scripts-not-loaded-securely",
    "sri-not-implemented-but-external-scripts-loaded-securely",
    "sri-not-implemented-and-external-scripts-not-loaded-securely",
    "sri-not-implemented-response-not-html",
)


def sri_test(details: WebDetails, page: ResponseFacts) -> Outcome:
    media = (page.first("content-type") or "").split(";", 1)[0]
    if media and media not in HTML_TYPES:
        return "sri-not-implemented-response-not-html", True
    result: str | None = None

    def worse(candidate: str) -> None:
        nonlocal result
        if result is None or SRI_ORDER.index(candidate) > SRI_ORDER.index(result):
            result = candidate

    site = _registered_domain(details.host)
    foreign = False
    for script in details.scripts:
        src = script.src.strip()
        relative_protocol = src.startswith("//") and not src.startswith("///")
        full = src.lower().startswith(("http://", "https://"))
        relative_origin = not relative_protocol and not full
        same_domain = True
        if full:
            same_domain = site is not None and _registered_domain(urlsplit(src).hostname or "") == site
        secure_origin = relative_origin or (same_domain and not relative_protocol)
        secure_scheme = src.lower().startswith("https://") or relative_origin
        if not secure_origin:
            foreign = True
            if script.integrity and not secure_scheme:
                worse("sri-implemented-but-external-scripts-not-loaded-securely")
            elif not script.integrity and secure_scheme:
                worse("sri-not-implemented-but-external-scripts-loaded-securely")
            elif not script.integrity:
                worse("sri-not-implemented-and-external-scripts-not-loaded-securely")
        elif script.integrity and secure_scheme and result is None:
            result = "sri-implemented-and-all-scripts-loaded-securely"
    if not details.scripts and not details.inline_scripts:
        result = "sri-not-implemented-but-no-scripts-loaded"
    elif result is None:
        result = (
            "sri-implemented-and-external-scripts-loaded-securely"
            if foreign
            else "sri-not-implemented-but-all-scripts-loaded-from-secure-origin"
        )
    passed = result in (
        "sri-implemented-and-all-scripts-loaded-securely",
        "sri-implemented-and-external-scripts-loaded-securely",
        "sri-not-implemented-response-not-html",
        "sri-not-implemented-but-all-scripts-loaded-from-secure-origin",
        "sri-not-implemented-but-no-scripts-loaded",
    )
    return result, passed


def _registered_domain(host: str) -> str | None:
    """The last two labels of a name (the Observatory asks the public suffix list, through tldts: the same for
    names under .de, .com and .org; docs/web-vs-observatory.md); None for an address."""
    name = host.strip("[]").rstrip(".").lower()
    if not name or name.replace(".", "").isdigit() or ":" in name or "." not in name:
        return None
    return ".".join(name.split(".")[-2:])


def xcto_test(page: ResponseFacts) -> Outcome:
    header = page.first("x-content-type-options")
    if header is None:
        return "x-content-type-options-not-implemented", False
    if header[:256].strip().lower() == "nosniff":
        return "x-content-type-options-nosniff", True
    return "x-content-type-options-header-invalid", False


def xfo_test(details: WebDetails, page: ResponseFacts) -> Outcome:
    header = page.first("x-frame-options")
    if header is None:
        result = "x-frame-options-not-implemented"
    else:
        value = header[:1024].strip().lower()
        if value in ("deny", "sameorigin"):
            result = "x-frame-options-sameorigin-or-deny"
        elif value.startswith("allow-from"):
            result = "x-frame-options-allow-from-origin"
        else:
            result = "x-frame-options-header-invalid"
    header_policies, equiv = policies(details, page)
    try:
        policy = csp.parse([*header_policies, *equiv])
    except csp.InvalidPolicy:
        policy = {}
    if "frame-ancestors" in policy:
        result = "x-frame-options-implemented-via-csp"
    return result, result != "x-frame-options-not-implemented" and result != "x-frame-options-header-invalid"


def corp_test(details: WebDetails, page: ResponseFacts) -> Outcome:
    header = page.first("cross-origin-resource-policy")
    equiv = meta(details, "cross-origin-resource-policy")
    value = header if header else (equiv[-1] if equiv else None)
    if not value:
        return "corp-not-implemented", True
    known = {
        "same-site": "corp-implemented-with-same-site",
        "same-origin": "corp-implemented-with-same-origin",
        "cross-origin": "corp-implemented-with-cross-origin",
    }
    result = known.get(value[:256].strip().lower(), "corp-header-invalid")
    return result, result != "corp-header-invalid"

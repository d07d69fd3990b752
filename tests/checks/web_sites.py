"""The web lab's sites for the tests and the peer comparison: a good one, and one per finding key (each differs
from the good site in the one thing the key is about)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.web_lab import GOOD_HEADERS, Site, security_txt

HOSTILE_COOKIE = "<script>alert(1)</script>"
# another host, on loopback: nothing listens there, so a peer that follows the redirect stays on this machine
OFF_HOST = "https://127.0.1.250/"
NOT_FOUND = "location ^~ /.well-known/ { return 404; }\n    location = /security.txt { return 404; }\n"


def without(*names: str) -> dict[str, str]:
    return {name: value for name, value in GOOD_HEADERS.items() if name not in names}


def with_csp(policy: str) -> dict[str, str]:
    return {**GOOD_HEADERS, "Content-Security-Policy": policy}


def _date(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def sites() -> list[Site]:
    return [
        Site("good"),
        Site("no_port_80", http="none"),
        Site("no_redirect", http="plain"),
        Site("redirect_off_host", http=OFF_HOST),
        Site("csp_missing", headers=without("Content-Security-Policy")),
        Site(
            "csp_unsafe", headers=with_csp("default-src 'self'; script-src 'self' 'unsafe-inline'; frame-ancestors *")
        ),
        Site("csp_wildcard_objects", headers=with_csp("default-src 'self'; object-src *; frame-ancestors 'self'")),
        Site(
            "xfo_missing",
            headers={**without("X-Frame-Options"), "Content-Security-Policy": "default-src 'self'; object-src 'none'"},
        ),
        Site("nosniff_missing", headers=without("X-Content-Type-Options")),
        Site("referrer_unsafe", headers={**GOOD_HEADERS, "Referrer-Policy": "unsafe-url"}),
        Site("cookies_insecure", cookies=("lang=de; Path=/", "SESSIONID=abc; Path=/; Secure", f"{HOSTILE_COOKIE}=1")),
        Site("security_txt_missing", security_txt=None, extra=NOT_FOUND),
        Site("security_txt_invalid", security_txt="Expires: tomorrow\nthis is not a field\n"),
        Site("security_txt_expired", security_txt=security_txt(expires=_date(-3))),
        Site("security_txt_expiring", security_txt=security_txt(expires=_date(10))),
    ]


# the keys each site must raise (beyond these, nothing above info)
EXPECTED: dict[str, set[str]] = {
    "good": set(),
    "no_port_80": set(),
    "no_redirect": {"web.https.no_redirect"},
    "redirect_off_host": {"web.https.no_redirect"},
    "csp_missing": {"web.headers.csp_missing"},
    "csp_unsafe": {"web.headers.csp_unsafe"},
    "csp_wildcard_objects": {"web.headers.csp_unsafe"},
    "xfo_missing": {"web.headers.xfo_missing"},
    "nosniff_missing": {"web.headers.nosniff_missing"},
    "referrer_unsafe": {"web.headers.referrer_unsafe"},
    "cookies_insecure": {"web.cookies.insecure"},
    "security_txt_missing": {"web.security_txt.missing"},
    "security_txt_invalid": {"web.security_txt.invalid"},
    "security_txt_expired": {"web.security_txt.expired"},
    "security_txt_expiring": {"web.security_txt.expiring"},
}

"""The web check's latest details at a glance (Check.summary): the Observatory-compatible grade and score, the
security headers the page sent (and which of the judged ones it did not), its cookies' flags and security.txt, in
German or English. Pure. Every value a server sent stays a plain string here: the page escapes it."""

from __future__ import annotations

from checks.base import CheckSummary, SummaryRow
from checks.web import observatory
from checks.web.models import CookieFact, ObservatoryTest, WebDetails

# the headers the Observatory-compatible score judges, with the test that judges each: shown even when missing
JUDGED: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", "content-security-policy"),
    ("Strict-Transport-Security", "strict-transport-security"),
    ("X-Frame-Options", "x-frame-options"),
    ("X-Content-Type-Options", "x-content-type-options"),
    ("Referrer-Policy", "referrer-policy"),
    ("Cross-Origin-Resource-Policy", "cross-origin-resource-policy"),
)
# security headers shown when the page sent them (not judged, or judged only when present)
OPTIONAL: tuple[str, ...] = (
    "Content-Security-Policy-Report-Only",
    "Permissions-Policy",
    "Cross-Origin-Opener-Policy",
    "Cross-Origin-Embedder-Policy",
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
)
# <meta http-equiv> the score reads as well as the headers
META: tuple[str, ...] = ("Content-Security-Policy", "Referrer", "Cross-Origin-Resource-Policy")

WORDS: dict[str, dict[str, str]] = {
    "de": {
        "title": "Web-Sicherheit",
        "graded": "Note {grade} ({score} von 100 Punkten)",
        "no_answer": "Keine Note: keine Antwort über HTTPS",
        "not_gradable": "Keine Note: die Seite antwortete mit HTTP {status}",
        "page": "Bewertete Antwort",
        "not_set": "nicht gesetzt",
        "points": "{modifier:+d} Punkte",
        "meta": "{name} (meta-Tag)",
        "cookie": "Cookie",
        "no_cookies": "keine gesetzt",
        "yes": "ja",
        "no": "nein",
        "missing": "fehlt",
        "empty": "leer",
        "security_txt": "security.txt",
        "signed": "signiert",
        "not_found": "nicht gefunden",
        "not_fetched": "nicht abrufbar",
    },
    "en": {
        "title": "Web security",
        "graded": "Grade {grade} ({score} of 100 points)",
        "no_answer": "No grade: no answer over HTTPS",
        "not_gradable": "No grade: the page answered HTTP {status}",
        "page": "Response judged",
        "not_set": "not set",
        "points": "{modifier:+d} points",
        "meta": "{name} (meta tag)",
        "cookie": "Cookie",
        "no_cookies": "none set",
        "yes": "yes",
        "no": "no",
        "missing": "missing",
        "empty": "empty",
        "security_txt": "security.txt",
        "signed": "signed",
        "not_found": "not found",
        "not_fetched": "could not be fetched",
    },
}


def words(language: str) -> dict[str, str]:
    return WORDS["de" if language.split("-", 1)[0].strip().lower() == "de" else "en"]


def verdict(details: WebDetails) -> tuple[int | None, str | None, tuple[ObservatoryTest, ...]]:
    """Score, grade and tests as recorded next to the facts; derived again when the details lack them (facts
    stored before the grade was recorded). None, None, () for a page the Observatory does not grade."""
    if not observatory.gradable(details):
        return None, None, ()
    if details.score is not None and details.grade is not None and details.tests:
        return details.score, details.grade, details.tests
    tests = observatory.tests(details)
    score = observatory.score(tests)
    return score, observatory.grade_for(score), tests


def summary(details: WebDetails, language: str) -> CheckSummary:
    w = words(language)
    page = details.page
    score, grade, tests = verdict(details)
    if score is not None:
        headline = w["graded"].format(grade=grade, score=score)
    elif page is None:
        headline = w["no_answer"]
    else:
        headline = w["not_gradable"].format(status=page.status)
    rows: list[SummaryRow] = []
    if page is not None:
        rows.append(SummaryRow(w["page"], page.url, server_text=True, note=f"HTTP {page.status}"))
        modifiers = {test.name: test.modifier for test in tests}
        # a bonus counts only when the score without bonuses reaches the Observatory's minimum for extra credit
        penalties = 100 + sum(modifier for modifier in modifiers.values() if modifier < 0)
        bonus_counts = penalties >= observatory.MINIMUM_SCORE_FOR_EXTRA_CREDIT
        for name, test in JUDGED:
            modifier = modifiers.get(test, 0)
            modifier = modifier if modifier < 0 or bonus_counts else 0
            note = w["points"].format(modifier=modifier) if modifier else ""
            values = page.header(name)
            if not values:
                rows.append(SummaryRow(name, w["not_set"], note=note))
            for value in values:
                rows.append(SummaryRow(name, value, server_text=True, note=note))
        for name in OPTIONAL:
            rows.extend(SummaryRow(name, value, server_text=True) for value in page.header(name))
        for name in META:
            rows.extend(
                SummaryRow(w["meta"].format(name=name), tag.value, server_text=True)
                for tag in details.meta
                if tag.name.lower() == name.lower()
            )
        rows.extend(_cookies(details, w))
    rows.append(_security_txt(details, w))
    return CheckSummary(title=w["title"], headline=headline, rows=tuple(rows))


def _cookies(details: WebDetails, w: dict[str, str]) -> list[SummaryRow]:
    """The cookies the HTTPS responses set, by name (the last one of a name, as a browser keeps it): names and
    flags, never values (the check does not store them)."""
    jar: dict[str, CookieFact] = {}
    for response in details.https.responses:
        for cookie in response.cookies:
            jar[cookie.name] = cookie
    if not jar:
        return [SummaryRow(w["cookie"], w["no_cookies"])]

    def flag(value: bool) -> str:
        return w["yes"] if value else w["no"]

    rows = []
    for cookie in jar.values():
        same_site = w["missing"] if cookie.same_site is None else (cookie.same_site.strip() or w["empty"])
        note = f"Secure: {flag(cookie.secure)} · HttpOnly: {flag(cookie.http_only)} · SameSite: {same_site}"
        rows.append(SummaryRow(w["cookie"], cookie.name, server_text=True, note=note))
    return rows


def _security_txt(details: WebDetails, w: dict[str, str]) -> SummaryRow:
    found = details.security_txt_found
    if found is not None:
        return SummaryRow(w["security_txt"], found.url, server_text=True, note=w["signed"] if found.signed else "")
    failed = any(entry.error for entry in details.security_txt)
    return SummaryRow(w["security_txt"], w["not_fetched"] if failed else w["not_found"])

"""The web check's pure parts: CSP, cookies, security.txt, the Observatory score and grade, redirect hops."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from checks.base import CheckContext
from checks.web import WebCheck, WebConfig, WebDetails, csp, observatory, security_txt
from checks.web.fetch import Endpoint, dechunk, get, parse_cookie, parse_head, same_host_hop
from checks.web.models import Fetched, HeaderFact, ObservatoryTest, ResponseFacts

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def page(**headers: str) -> WebDetails:
    sent = tuple(HeaderFact(name=name.replace("_", "-"), value=value) for name, value in headers.items())
    response = ResponseFacts(url="https://www.example.test/", status=200, headers=sent)
    return WebDetails(host="www.example.test", https=Fetched(responses=(response,)))


def keys(details: WebDetails) -> set[str]:
    return {o.key for o in WebCheck().evaluate(details, WebConfig(), CheckContext(now=NOW))}


def test_a_directive_twice_makes_the_policy_invalid_but_report_uri_twice_does_not() -> None:
    with pytest.raises(csp.InvalidPolicy):
        csp.parse(["script-src 'self'; script-src https:"])
    assert csp.DUPLICATES in csp.parse(["default-src 'self'; report-uri /a; report-uri /b"])


@pytest.mark.parametrize(
    ("policy", "unsafe"),
    [
        ("default-src 'self'; object-src 'none'", False),
        ("script-src 'self' 'unsafe-inline'; object-src 'none'", True),
        ("script-src 'nonce-abc' 'unsafe-inline'; object-src 'none'", False),  # ignored next to a nonce
        ("script-src 'self' 'unsafe-eval'; object-src 'none'", True),
        ("script-src https:; object-src 'none'", True),
        ("script-src 'self' data:; object-src 'none'", True),
        ("default-src 'self'; object-src *", True),
        ("img-src 'self'", True),  # no script-src nor default-src: any script
    ],
)
def test_csp_unsafe_follows_the_script_and_object_sources(policy: str, unsafe: bool) -> None:
    found = keys(page(Content_Security_Policy=policy, X_Frame_Options="DENY", X_Content_Type_Options="nosniff"))
    assert ("web.headers.csp_unsafe" in found) is unsafe


def test_frame_ancestors_replaces_x_frame_options_but_only_from_a_header() -> None:
    framed = page(
        Content_Security_Policy="default-src 'self'; frame-ancestors 'none'", X_Content_Type_Options="nosniff"
    )
    assert "web.headers.xfo_missing" not in keys(framed)
    assert "web.headers.xfo_missing" in keys(page(Content_Security_Policy="default-src 'self'; frame-ancestors *"))


@pytest.mark.parametrize(("value", "unsafe"), [("unsafe-url", True), ("no-referrer, unsafe-url", True),
                                               ("unsafe-url, strict-origin", False), ("origin", False)])  # fmt: skip
def test_the_last_known_referrer_policy_counts(value: str, unsafe: bool) -> None:
    assert ("web.headers.referrer_unsafe" in keys(page(Referrer_Policy=value))) is unsafe


def test_a_cookie_keeps_its_name_and_flags_and_loses_its_value() -> None:
    cookie = parse_cookie("SID=secret-value; Path=/; Secure; HttpOnly; SameSite")
    assert cookie is not None and cookie.name == "SID" and cookie.secure and cookie.http_only
    assert cookie.same_site == "" and "secret" not in cookie.model_dump_json()
    assert parse_cookie("no equals sign") is None


def txt(body: str, content_type: str = "text/plain; charset=utf-8") -> security_txt.Verdict:
    return security_txt.judge(security_txt.parse("https://x.test/.well-known/security.txt", 200, content_type,
                                                 body.encode()))  # fmt: skip


def test_a_valid_security_txt_and_its_expiry() -> None:
    verdict = txt("# comment\nContact: mailto:cert@x.test\nExpires: 2027-01-01T00:00:00+01:00\n")
    assert verdict.problems == () and verdict.expires == datetime(2026, 12, 31, 23, tzinfo=UTC)


def test_a_signed_security_txt_is_read_inside_its_signature() -> None:
    body = (
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nContact: https://x.test/cert\n"
        "Expires: 2027-01-01T00:00:00Z\n-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\n"
    )
    assert txt(body).problems == ()


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        ("Expires: 2027-01-01T00:00:00Z\n", "text/plain", "no Contact field"),
        ("Contact: mailto:a@x.test\n", "text/plain", "no Expires field"),
        ("Contact: mailto:a@x.test\nExpires: 31.12.2027\n", "text/plain", "Expires is no RFC 3339 date-time"),
        ("Contact: a@x.test\nExpires: 2027-01-01T00:00:00Z\n", "text/plain", "not a URI"),
        ("Contact: mailto:a@x.test\nExpires: 2027-01-01T00:00:00Z\n", "text/html", "not text/plain"),
        ("Contact: mailto:a@x.test\nExpires: 2027-01-01T00:00:00Z\nno field here\n", "text/plain", "lines that"),
    ],
)
def test_security_txt_problems(body: str, content_type: str, problem: str) -> None:
    assert any(problem in found for found in txt(body, content_type).problems)


def test_expired_and_expiring_security_txt() -> None:
    def facts(expires: datetime) -> WebDetails:
        base = page()
        parsed = security_txt.parse(
            "https://www.example.test/.well-known/security.txt", 200, "text/plain",
            f"Contact: mailto:a@x.test\nExpires: {expires.isoformat()}\n".encode(),
        )  # fmt: skip
        return base.model_copy(update={"security_txt": (parsed,)})

    assert "web.security_txt.expired" in keys(facts(NOW - timedelta(hours=1)))
    assert "web.security_txt.expiring" in keys(facts(NOW + timedelta(days=29)))
    assert not {k for k in keys(facts(NOW + timedelta(days=31))) if k.startswith("web.security_txt")}


GRADES = [(135, "A+"), (100, "A+"), (99, "A"), (90, "A"), (85, "A-"), (84, "B+"), (70, "B"), (50, "C"), (45, "C-"),
          (25, "D-"), (24, "F"), (-5, "F")]  # fmt: skip


@pytest.mark.parametrize(("score", "grade"), GRADES)
def test_the_grade_chart(score: int, grade: str) -> None:
    assert observatory.grade_for(score) == grade


def test_bonuses_count_only_when_the_score_without_them_is_an_a() -> None:
    def tests(*modifiers: int) -> tuple[ObservatoryTest, ...]:
        return tuple(
            ObservatoryTest(name=str(i), result="x", modifier=m, passed=m >= 0) for i, m in enumerate(modifiers)
        )

    assert observatory.score(tests(-10, 5, 10)) == 105
    assert observatory.score(tests(-15, 5, 10)) == 85


def test_a_bare_page_grades_like_the_observatory() -> None:
    details = WebCheck().rejudged(page(), WebConfig(), CheckContext(now=NOW))
    # CSP -25, HSTS -20, X-Content-Type-Options -5, X-Frame-Options -20; no port 80 and no cookies: 0
    assert (details.score, details.grade) == (30, "D")


def test_redirect_hops_stay_on_the_host_and_its_ports() -> None:
    endpoint = Endpoint(host="www.example.test", address="127.0.0.1")
    assert same_host_hop(endpoint, "https://www.example.test/de/?a=1") == ("https", "/de/?a=1")
    assert same_host_hop(endpoint, "https://WWW.example.test./") == ("https", "/")
    assert same_host_hop(endpoint, "https://www.example.test:8443/") is None
    assert same_host_hop(endpoint, "https://evil.test/") is None
    assert same_host_hop(endpoint, "ftp://www.example.test/") is None
    assert same_host_hop(endpoint, "https://www.example.test@evil.test/") is None


def test_head_and_chunked_body_parsing() -> None:
    status, headers, cut = parse_head(b"HTTP/1.1 200 OK\r\nA: 1\r\n folded\r\nB:2\r\n\r\n")
    assert status == 200 and [(h.name, h.value) for h in headers] == [("A", "1 folded"), ("B", "2")] and not cut
    assert dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n") == b"abcde"
    assert dechunk(b"5\r\nab") == b"ab"  # cut by our cap


def test_details_survive_a_json_round_trip() -> None:
    details = WebCheck().rejudged(page(Content_Security_Policy="default-src 'none'"), WebConfig(), CheckContext())
    assert WebDetails.model_validate_json(details.model_dump_json()) == details


async def test_a_stated_content_length_ends_the_response_even_when_the_server_keeps_the_connection_open() -> None:
    """RFC 9112 §6.3: the body is Content-Length bytes; a server that ignores our `Connection: close` (as the metrics
    stack's little TLS server and many appliances do) must not cost the request its deadline."""
    body = b"<html><body>ok</body></html>"
    held: list[asyncio.StreamWriter] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        held.append(writer)  # never closed by the server

    server = await asyncio.start_server(answer, "127.0.0.81", 8080)
    async with server:
        endpoint = Endpoint(host="127.0.0.81", address="127.0.0.81", http_port=8080)
        started = time.monotonic()
        raw = await get(endpoint, "http", "/", timeout_s=5, max_body=1000)
        assert time.monotonic() - started < 2
        assert raw.body == body and raw.facts.status == 200 and not raw.facts.body_truncated
        short = await get(endpoint, "http", "/", timeout_s=5, max_body=10)  # the cap still applies
        assert short.body == body[:10] and short.facts.body_truncated
        for writer in held:
            writer.close()

"""The web check's summary on the endpoint page: grade and score, the security headers the site sent (escaped: a
server chooses them), the judged ones it did not send, cookie flags and security.txt, in German and English."""

from __future__ import annotations

import html
import random
import re
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from checks.base import CheckContext
from checks.web import WebCheck
from checks.web.models import (
    CookieFact,
    Fetched,
    HeaderFact,
    ResponseFacts,
    SecurityTxtFacts,
    WebConfig,
    WebDetails,
)
from monitor.cadence import Cadence
from monitor.models import CheckResult, CheckStatus, Observation
from monitor.store.audit import Actor
from monitor.store.registry import Registry
from monitor.store.work import WorkQueue
from tests.api.conftest import Api
from tests.api.test_web_ui import sign_in

ACTOR = Actor("test")
CADENCE = Cadence(default_interval_s=3600, jitter=0.0, rng=random.Random(1))
SCRIPT = "<script>alert(1)</script>"
HOSTILE_CSP = f"default-src 'self'; img-src {SCRIPT}"
HOSTILE_REFERRER = '"><img src=x onerror=alert(2)>'
COOKIE = "SESSION<b>id</b>"


def hostile_site() -> WebDetails:
    """What the web check stores for a site that sends attacker-chosen header values and one session cookie."""
    page = ResponseFacts(
        url="https://127.0.0.1/",
        status=200,
        headers=(
            HeaderFact(name="Content-Type", value="text/html; charset=utf-8"),
            HeaderFact(name="content-security-policy", value=HOSTILE_CSP),
            HeaderFact(name="X-Frame-Options", value="DENY"),
            HeaderFact(name="X-Content-Type-Options", value="nosniff"),
            HeaderFact(name="Referrer-Policy", value=HOSTILE_REFERRER),
            HeaderFact(name="Permissions-Policy", value=f"geolocation=() {SCRIPT}"),
        ),
        cookies=(CookieFact(name=COOKIE, secure=True, http_only=True, same_site="Lax"),),
    )
    return WebDetails(
        host="127.0.0.1",
        address="127.0.0.1",
        https=Fetched(responses=(page,)),
        html=True,
        security_txt=(SecurityTxtFacts(url="https://127.0.0.1/.well-known/security.txt", status=404),),
    )


async def store_result(engine: AsyncEngine, endpoint_id: int, details: WebDetails, judge: bool = True) -> None:
    """Record the result as the daemon does: the check's own judgement (`judged`: score and grade recorded next to
    the facts), written through the store's recording transaction. judge=False: facts stored without a verdict."""
    check = WebCheck()
    observations: list[Observation] = []
    if judge:
        details, observations = check.judged(details, WebConfig(), CheckContext())
    result = CheckResult(
        check="web",
        endpoint_id=endpoint_id,
        status=CheckStatus.OK,
        started_at=datetime.now(UTC),
        duration_s=0.1,
        details=details,
        observations=tuple(observations),
    )
    async with WorkQueue(engine, "test-1", CADENCE, lease_s=60).recording() as tx:
        await tx.upsert_latest([result])


async def page_text(api: Api, endpoint_id: int) -> str:
    async with api.client.get(f"/ui/endpoints/{endpoint_id}") as response:
        assert response.status == 200
        return await response.text()


def row(text: str, label: str) -> str:
    """The table row whose header cell is `label` (escaped as the page writes it)."""
    found = re.search(rf'<th scope="row"[^>]*>{re.escape(html.escape(label))}</th>(.*?)</tr>', text, re.S)
    assert found is not None, label
    return found.group(1)


async def test_the_endpoint_page_shows_grade_headers_and_cookies_escaped_in_german_and_english(api: Api) -> None:
    registry = Registry(api.engine)
    web = (await registry.add_endpoint("lk-a", "127.0.0.1", 443, ["web"], CADENCE, ACTOR)).id
    await store_result(api.engine, web, hostile_site())
    await sign_in(api, api.tokens.agency_a)

    german = await page_text(api, web)
    # CSP without unsafe sources +5, no HSTS -20, an invalid Referrer-Policy -5: 75 without the bonus, which counts
    # only from 90 (the Observatory's rule)
    assert "<h2>Web-Sicherheit</h2>" in german and "Note B (75 von 100 Punkten)" in german
    assert SCRIPT not in german and "<img" not in german and "<b>" not in german
    assert "default-src &#39;self&#39;; img-src &lt;script&gt;alert(1)&lt;/script&gt;" in row(
        german, "Content-Security-Policy"
    )
    assert "Punkte" not in row(german, "Content-Security-Policy")  # its +5 is a bonus, which does not count here
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in row(german, "Referrer-Policy")
    assert "nicht gesetzt" in row(german, "Strict-Transport-Security") and "-20 Punkte" in row(
        german, "Strict-Transport-Security"
    )
    assert "nicht gesetzt" in row(german, "Cross-Origin-Resource-Policy")
    assert "DENY" in row(german, "X-Frame-Options") and "nosniff" in row(german, "X-Content-Type-Options")
    assert "geolocation=() &lt;script&gt;" in row(german, "Permissions-Policy")
    cookie = row(german, "Cookie")
    assert "SESSION&lt;b&gt;id&lt;/b&gt;" in cookie
    assert "Secure: ja · HttpOnly: ja · SameSite: Lax" in cookie
    assert "nicht gefunden" in row(german, "security.txt")

    async with api.client.get(f"/ui/lang/en?next=/ui/endpoints/{web}") as switched:
        assert switched.status == 200
    english = await page_text(api, web)
    assert "<h2>Web security</h2>" in english and "Grade B (75 of 100 points)" in english
    assert SCRIPT not in english and "<img" not in english
    assert "not set" in row(english, "Strict-Transport-Security") and "-20 points" in row(
        english, "Strict-Transport-Security"
    )
    assert "Secure: yes · HttpOnly: yes · SameSite: Lax" in row(english, "Cookie")
    assert "not found" in row(english, "security.txt")


async def test_facts_stored_without_a_verdict_are_graded_with_the_checks_own_rules(api: Api) -> None:
    web = (await Registry(api.engine).add_endpoint("lk-a", "127.0.0.1", 443, ["web"], CADENCE, ACTOR)).id
    await store_result(api.engine, web, hostile_site(), judge=False)
    await sign_in(api, api.tokens.agency_a)
    assert "Note B (75 von 100 Punkten)" in await page_text(api, web)


async def test_a_page_the_observatory_does_not_grade_shows_its_headers_without_a_grade(api: Api) -> None:
    web = (await Registry(api.engine).add_endpoint("lk-a", "127.0.0.1", 443, ["web"], CADENCE, ACTOR)).id
    broken = hostile_site()
    failing = broken.https.responses[0].model_copy(update={"status": 500})
    await store_result(api.engine, web, broken.model_copy(update={"https": Fetched(responses=(failing,))}))
    await sign_in(api, api.tokens.agency_a)
    text = await page_text(api, web)
    assert "Keine Note: die Seite antwortete mit HTTP 500" in text and "Punkten)" not in text
    assert "nicht gesetzt" in row(text, "Strict-Transport-Security")


async def test_no_section_without_the_web_check_or_before_its_first_good_run(api: Api) -> None:
    registry = Registry(api.engine)
    other = (await registry.add_endpoint("lk-a", "127.0.0.2", 22, ["reachability"], CADENCE, ACTOR)).id
    pending = (await registry.add_endpoint("lk-a", "127.0.0.3", 443, ["web"], CADENCE, ACTOR)).id
    await sign_in(api, api.tokens.agency_a)
    for endpoint_id in (other, pending):
        text = await page_text(api, endpoint_id)
        assert "Web-Sicherheit" not in text and "Note " not in text, endpoint_id

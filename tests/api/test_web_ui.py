"""The web UI over HTTP: sign-in, session cookie, CSRF, escaping of scanned text, German and English."""

from __future__ import annotations

import re

from aiohttp import ClientSession

from tests.api.conftest import Api, add_finding

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def sign_in(api: Api, token: str) -> str:
    """Sign in through the form; returns the page CSRF token. The client keeps the cookies."""
    async with api.client.get("/ui/login") as page:
        csrf = CSRF.search(await page.text()).group(1)  # type: ignore[union-attr]
    async with api.client.post("/ui/login", data={"csrf": csrf, "token": token}, allow_redirects=False) as response:
        assert response.status == 303 and response.headers["Location"] == "/ui/endpoints"
        cookie = response.cookies["posture_session"]
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/ui"
    async with api.client.get("/ui/endpoints") as page:
        assert page.status == 200
        return CSRF.search(await page.text()).group(1)  # type: ignore[union-attr]


async def test_pages_need_a_session(api: Api) -> None:
    async with api.client.get("/ui/endpoints", allow_redirects=False) as response:
        assert (response.status, response.headers["Location"]) == (303, "/ui/login")


async def test_a_wrong_token_is_refused_in_german_by_default(api: Api) -> None:
    async with api.client.get("/ui/login") as page:
        text = await page.text()
        assert '<html lang="de">' in text and "Anmelden" in text
        csrf = CSRF.search(text).group(1)  # type: ignore[union-attr]
    async with api.client.post("/ui/login", data={"csrf": csrf, "token": "wrong"}) as response:
        assert response.status == 401 and "unbekannt oder wurde widerrufen" in await response.text()


async def test_sign_in_without_the_forms_csrf_token_is_refused(api: Api) -> None:
    async with api.client.post("/ui/login", data={"token": api.tokens.agency_a}, allow_redirects=False) as response:
        assert response.status == 403


async def test_a_form_post_without_the_session_csrf_token_is_refused(api: Api) -> None:
    await sign_in(api, api.tokens.agency_a)
    data = {"host": "127.0.0.1", "port": "443", "checks": "reachability"}
    async with api.client.post("/ui/endpoints", data=data, allow_redirects=False) as response:
        assert response.status == 403
    async with api.client.post("/ui/endpoints", data={**data, "csrf": "forged"}, allow_redirects=False) as response:
        assert response.status == 403
    assert (await api.call("GET", "/api/v1/endpoints", api.tokens.agency_a))[1]["items"] == []


async def test_register_with_inline_errors_then_success(api: Api) -> None:
    csrf = await sign_in(api, api.tokens.agency_a)
    data = {"csrf": csrf, "host": "www.lk-b.example", "port": "443", "checks": "reachability"}
    async with api.client.post("/ui/endpoints", data=data) as response:
        text = await response.text()
        assert response.status == 400 and 'id="host-error"' in text and "außerhalb des Prüfbereichs" in text
        assert 'value="www.lk-b.example"' in text  # what was typed stays
    async with api.client.post("/ui/endpoints", data={**data, "host": "127.0.0.1"}, allow_redirects=False) as response:
        assert response.status == 303 and "notice=registered" in response.headers["Location"]


async def test_text_from_scanned_servers_is_escaped(api: Api) -> None:
    _status, created = await api.call(
        "POST", "/api/v1/endpoints", api.tokens.agency_a, {"host": "127.0.0.1", "port": 22}
    )
    planted = "<script>alert(1)</script>"
    finding_id = await add_finding(
        # a key the catalogue does not know: its stored title is shown as it is, in every language
        api.engine,
        created["id"],
        key="custom.banner",
        title=f"Banner {planted}",
        detail={"banner": f"SSH-2.0-{planted}"},
    )
    await sign_in(api, api.tokens.agency_a)
    for path in (f"/ui/findings/{finding_id}", f"/ui/endpoints/{created['id']}"):
        async with api.client.get(path) as response:
            text = await response.text()
            assert response.status == 200 and "<script>" not in text, path
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
            assert "default-src 'none'" in response.headers["Content-Security-Policy"]


async def test_english_is_switchable_and_redirects_stay_local(api: Api) -> None:
    await sign_in(api, api.tokens.agency_a)
    async with api.client.get("/ui/lang/en?next=/ui/endpoints", allow_redirects=False) as response:
        assert response.status == 303 and response.headers["Location"] == "/ui/endpoints"
    async with api.client.get("/ui/endpoints") as page:
        text = await page.text()
        assert '<html lang="en">' in text and "Register endpoint" in text
    async with api.client.get("/ui/lang/de?next=//evil.example/", allow_redirects=False) as response:
        assert response.headers["Location"] == "/ui/endpoints"


async def test_another_agencys_finding_page_is_not_found(api: Api) -> None:
    _status, created = await api.call(
        "POST", "/api/v1/endpoints", api.tokens.agency_b, {"host": "www.lk-b.example", "port": 443}
    )
    finding_id = await add_finding(api.engine, created["id"])
    await sign_in(api, api.tokens.agency_a)
    for path in (f"/ui/findings/{finding_id}", f"/ui/endpoints/{created['id']}", "/ui/findings/x"):
        async with api.client.get(path) as response:
            assert response.status == 404, path


async def test_signing_out_ends_the_session(api: Api) -> None:
    csrf = await sign_in(api, api.tokens.agency_a)
    cookie = api.client.session.cookie_jar.filter_cookies(api.client.make_url("/ui/"))["posture_session"].value
    async with api.client.post("/ui/logout", data={"csrf": csrf}, allow_redirects=False) as response:
        assert response.status == 303
    async with (
        ClientSession(cookies={"posture_session": cookie}) as other,
        other.get(api.client.make_url("/ui/endpoints"), allow_redirects=False) as response,
    ):
        assert response.status == 303


async def test_alert_links_lead_to_the_ui(api: Api) -> None:
    for path, target in (("/findings/7", "/ui/findings/7"), ("/endpoints/3", "/ui/endpoints/3")):
        async with api.client.get(path, allow_redirects=False) as response:
            assert (response.status, response.headers["Location"]) == (303, target)
    async with api.client.get("/findings/x", allow_redirects=False) as response:
        assert response.status == 404


async def test_the_daemons_settings_give_the_api_its_cadence_and_secure_cookies() -> None:
    from monitor.api.context import api_config
    from monitor.settings import Settings

    config = api_config(Settings(default_interval="2h", ui_base_url="https://posture.example/ui"))
    assert config.cadence.default_interval_s == 7200 and config.secure_cookies


def test_catalogue_prose_sets_code_spans_and_escapes_the_rest() -> None:
    from monitor.api.web_base import prose

    assert prose("nginx: `ssl_protocols TLSv1.2;` <b>") == "nginx: <code>ssl_protocols TLSv1.2;</code> &lt;b&gt;"
    assert prose("an `unpaired <i> tick") == "an `unpaired &lt;i&gt; tick"


def test_every_word_of_the_ui_exists_in_both_languages() -> None:
    from monitor.api.i18n import MESSAGES

    assert set(MESSAGES["de"]) == set(MESSAGES["en"])
    assert [key for key, text in MESSAGES["de"].items() if not text.strip()] == []

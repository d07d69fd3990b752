"""The web UI's everyday actions over HTTP, each checked through the API or the database afterwards: edit and
delete an endpoint, undo an accepted risk, ask for more scope, page through and filter the list; and every
mistake answered in German, naming the field and the fix, with nothing written."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update

from monitor.cadence import Cadence
from monitor.store.audit import Actor
from monitor.store.registry import Registry
from monitor.store.tables import API_TOKEN, WEB_SESSION
from tests.api.conftest import Api, FakeResolver, add_finding
from tests.api.test_web_ui import sign_in

SEED = Actor("test-seed", "test")
USE_CASE_ENGLISH = ("outside the scope", "does not resolve", "only letters", "not a valid", "at least one")
LIBRARY_ENGLISH = ("Input should", "String should", "Value error", "Field required", "valid integer")


async def _register(api: Api, host: str = "127.0.0.1", port: int = 443, **extra: Any) -> dict[str, Any]:
    status, created = await api.call(
        "POST", "/api/v1/endpoints", api.tokens.agency_a, {"host": host, "port": port, **extra}
    )
    assert status == 201, created
    return dict(created)


async def _endpoint(api: Api, endpoint_id: int) -> tuple[int, Any]:
    return await api.call("GET", f"/api/v1/endpoints/{endpoint_id}", api.tokens.agency_a)


async def _post(api: Api, path: str, data: dict[str, Any]) -> tuple[int, str, str]:
    async with api.client.post(path, data=data, allow_redirects=False) as response:
        return response.status, response.headers.get("Location", ""), await response.text()


def _text_of(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


async def test_an_endpoint_is_edited_checks_interval_labels_and_expected_ports(api: Api) -> None:
    created = await _register(api)
    csrf = await sign_in(api, api.tokens.agency_a)
    async with api.client.get(f"/ui/endpoints/{created['id']}/edit") as page:
        assert page.status == 200 and "Endpunkt bearbeiten" in await page.text()
    form = {
        "csrf": csrf,
        "checks": "reachability",
        "interval": "6h",
        "labels": "standort=rathaus\nteam = it ",
        "expected_ports": "443, 80 22",
    }
    status, location, _ = await _post(api, f"/ui/endpoints/{created['id']}/edit", form)
    assert (status, location) == (303, f"/ui/endpoints/{created['id']}?notice=saved")
    _, endpoint = await _endpoint(api, created["id"])
    assert endpoint["labels"] == {"standort": "rathaus", "team": "it"}
    assert endpoint["expected_ports"] == [22, 80, 443]
    assert endpoint["intervals"] == {"reachability": 6 * 3600}
    async with api.client.get(f"/ui/endpoints/{created['id']}?notice=saved") as page:
        text = _text_of(await page.text())
        assert "Die Änderungen sind gespeichert." in text and "standort=rathaus" in text and "6h" in text
        assert "Erreichbarkeit" in text  # the check by its German name
    # an emptied interval goes back to the default, as the field's help says
    status, _, _ = await _post(api, f"/ui/endpoints/{created['id']}/edit", form | {"interval": ""})
    assert status == 303 and (await _endpoint(api, created["id"]))[1]["intervals"] == {}


async def test_a_wrong_edit_names_each_field_in_german_and_changes_nothing(api: Api) -> None:
    created = await _register(api, labels={"standort": "rathaus"})
    csrf = await sign_in(api, api.tokens.agency_a)
    form = {"csrf": csrf, "interval": "oft", "labels": "ohne-gleichheitszeichen", "expected_ports": "80, 70000"}
    status, _, page = await _post(api, f"/ui/endpoints/{created['id']}/edit", form)
    text = _text_of(page)
    assert status == 400
    assert "Bitte mindestens eine Prüfung auswählen." in text  # every check unticked: not silently "all"
    assert "Bitte eine Dauer wie 15m, 6h oder 1d angeben" in text
    assert "je Zeile ein Label als schlüssel=wert" in text
    assert "Portnummern von 1 bis 65535 mit Komma getrennt" in text
    assert 'id="interval-error"' in page and 'aria-invalid="true"' in page
    assert not [english for english in LIBRARY_ENGLISH if english in text]
    _, endpoint = await _endpoint(api, created["id"])
    assert endpoint["labels"] == {"standort": "rathaus"} and endpoint["intervals"] == {}


async def test_registration_mistakes_are_explained_in_german(api: Api) -> None:
    csrf = await sign_in(api, api.tokens.agency_a)
    cases = [
        ({"host": "https://www.lk-a.example/start"}, "host", "ohne https://"),
        ({"host": "www.lk-a.example:8443"}, "host", "im Feld „Port“"),
        ({"host": "bad_name!.lk-a.example"}, "host", "gültigen Hostnamen"),
        ({"host": "", "port": "443"}, "host", "Bitte einen Hostnamen oder eine IP-Adresse eingeben."),
        ({"port": "0"}, "port", "Portnummer von 1 bis 65535"),
        ({"port": "443a"}, "port", "Portnummer von 1 bis 65535"),
        ({"checks": None}, "checks", "mindestens eine Prüfung"),
        ({"host": "fehlt.lk-a.example"}, "host", "lässt sich nicht auflösen"),
        ({"host": "www.lk-b.example"}, "host", "außerhalb des Prüfbereichs Ihrer Behörde"),
    ]
    for change, field, expected in cases:
        form = {"csrf": csrf, "host": "127.0.0.1", "port": "443", "checks": "reachability"} | change
        status, _, page = await _post(api, "/ui/endpoints", {k: v for k, v in form.items() if v is not None})
        text = _text_of(page)
        assert status == 400, change
        assert f'id="{field}-error"' in page and expected in text, (change, text[-900:])
        assert not [english for english in LIBRARY_ENGLISH if english in text], change
        assert not [english for english in USE_CASE_ENGLISH if english in text], change
    # out of scope: the page leads to the scope request
    status, _, page = await _post(api, "/ui/endpoints", {"csrf": csrf, "host": "www.lk-b.example", "port": "443",
                                                           "checks": "reachability"})  # fmt: skip
    assert 'href="/ui/scope"' in page
    assert (await api.call("GET", "/api/v1/endpoints", api.tokens.agency_a))[1]["items"] == []


async def test_an_endpoint_is_deleted_after_a_confirmation(api: Api) -> None:
    created = await _register(api)
    csrf = await sign_in(api, api.tokens.agency_a)
    async with api.client.get(f"/ui/endpoints/{created['id']}/delete") as page:
        text = await page.text()
        assert "Endpunkt löschen?" in text and "nicht rückgängig" in text
    assert (await _endpoint(api, created["id"]))[0] == 200  # asking is not deleting
    status, location, _ = await _post(api, f"/ui/endpoints/{created['id']}/delete", {"csrf": csrf})
    assert (status, location) == (303, "/ui/endpoints?notice=deleted")
    assert (await _endpoint(api, created["id"]))[0] == 404


async def test_an_analyst_may_not_edit_or_delete(api: Api) -> None:
    created = await _register(api)
    csrf = await sign_in(api, api.tokens.analyst)
    for path in (f"/ui/endpoints/{created['id']}/edit", f"/ui/endpoints/{created['id']}/delete"):
        status, _, _ = await _post(api, path, {"csrf": csrf, "checks": "reachability"})
        assert status == 403, path
    assert (await _endpoint(api, created["id"]))[0] == 200


async def test_an_accepted_risk_is_undone(api: Api) -> None:
    created = await _register(api)
    finding_id = await add_finding(api.engine, created["id"])
    csrf = await sign_in(api, api.tokens.agency_a)
    until = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    form = {"csrf": csrf, "reason": "Ersatz bestellt", "until": until}
    assert (await _post(api, f"/ui/findings/{finding_id}/acceptance", form))[0] == 303
    path = f"/api/v1/findings/{finding_id}"
    assert (await api.call("GET", path, api.tokens.agency_a))[1]["state"] == "accepted"
    status, location, _ = await _post(api, f"/ui/findings/{finding_id}/acceptance/revoke", {"csrf": csrf})
    assert (status, location) == (303, f"/ui/findings/{finding_id}?notice=revoked")
    assert (await api.call("GET", path, api.tokens.agency_a))[1]["state"] == "open"
    async with api.client.get(location) as page:
        assert "wieder offen" in await page.text()


async def test_acceptance_mistakes_are_german(api: Api) -> None:
    created = await _register(api)
    finding_id = await add_finding(api.engine, created["id"])
    csrf = await sign_in(api, api.tokens.agency_a)
    far = (datetime.now(UTC) + timedelta(days=800)).date().isoformat()
    status, _, page = await _post(api, f"/ui/findings/{finding_id}/acceptance", {"csrf": csrf, "reason": " ",
                                                                                   "until": far})  # fmt: skip
    text = _text_of(page)
    assert status == 400 and "Bitte begründen Sie" in text and re.search(r"höchstens \d+ Tage ab heute", text)
    assert (await api.call("GET", f"/api/v1/findings/{finding_id}", api.tokens.agency_a))[1]["state"] == "open"


async def test_a_second_rescan_says_when_the_next_is_possible(api: Api) -> None:
    created = await _register(api)
    csrf = await sign_in(api, api.tokens.agency_a)
    assert (await _post(api, f"/ui/endpoints/{created['id']}/scans", {"csrf": csrf}))[0] == 303
    status, _, page = await _post(api, f"/ui/endpoints/{created['id']}/scans", {"csrf": csrf})
    text = _text_of(page)
    assert status == 429
    match = re.search(r"Die nächste ist ab (\d\d\.\d\d\.\d{4}, \d\d:\d\d) (MEZ|MESZ) möglich", text)
    assert match, text
    ready = datetime.strptime(match.group(1), "%d.%m.%Y, %H:%M")
    berlin_now = datetime.now(UTC).astimezone(ZoneInfo("Europe/Berlin")).replace(tzinfo=None)
    assert timedelta(minutes=3) <= ready - berlin_now <= timedelta(minutes=6)  # the fixture's 5-minute limit


async def test_a_revoked_token_or_an_expired_session_is_explained_at_sign_in(api: Api) -> None:
    await sign_in(api, api.tokens.agency_a)
    async with api.client.get("/ui/endpoints", allow_redirects=True) as page:
        assert page.status == 200
    async with api.engine.begin() as conn:
        await conn.execute(update(WEB_SESSION).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    async with api.client.get("/ui/endpoints", allow_redirects=False) as response:
        assert response.headers["Location"] == "/ui/login?ended=expired"
    async with api.client.get("/ui/login?ended=expired") as page:
        assert "Ihre Sitzung ist abgelaufen" in await page.text()

    await sign_in(api, api.tokens.agency_a)
    async with api.engine.begin() as conn:
        await conn.execute(update(API_TOKEN).values(revoked_at=datetime.now(UTC)))
    async with api.client.get("/ui/endpoints") as page:  # followed to the sign-in page
        text = await page.text()
        assert str(page.url).endswith("/ui/login?ended=revoked") and "Zugangstoken wurde widerrufen" in text


async def test_the_list_pages_both_ways_with_totals_and_filters_by_label(api: Api) -> None:
    registry = Registry(api.engine)
    for number in range(1, 121):
        labels = {"standort": "rathaus"} if number % 10 == 0 else {"standort": "bauhof"}
        await registry.add_endpoint(
            "lk-a", f"127.0.1.{number}", 443, ["reachability"], Cadence(3600), SEED, labels=labels
        )
    await sign_in(api, api.tokens.agency_a)
    async with api.client.get("/ui/endpoints?page=2") as page:
        text = _text_of(await page.text())
        html = await page.text()
    assert "Seite 2 von 3 · Endpunkte insgesamt: 120" in text
    assert 'href="/ui/endpoints?page=1" rel="prev"' in html and 'href="/ui/endpoints?page=3" rel="next"' in html
    assert "127.0.1.51" in text and "127.0.1.100" in text and "127.0.1.50 " not in text
    async with api.client.get("/ui/endpoints?page=3") as page:
        html = await page.text()
        assert "Seite 3 von 3" in html and 'rel="next"' not in html and html.count("/ui/endpoints/") == 20
    async with api.client.get("/ui/endpoints", params={"label": "standort=rathaus"}) as page:
        text = _text_of(await page.text())
    assert "Seite 1 von 1 · Endpunkte insgesamt: 12" in text and "127.0.1.10 " in text and "127.0.1.11 " not in text


async def test_an_agency_asks_for_more_scope_and_proves_it_by_dns(api: Api, resolver: FakeResolver) -> None:
    csrf = await sign_in(api, api.tokens.agency_a)
    status, _, page = await _post(api, "/ui/scope/requests", {"csrf": csrf, "value": "https://neu.example/"})
    assert status == 400 and "Bitte eine Domain wie" in page
    status, location, _ = await _post(api, "/ui/scope/requests", {"csrf": csrf, "value": "neu-a.example"})
    assert (status, location) == (303, "/ui/scope?notice=scope_requested")
    async with api.client.get(location) as page:
        html = await page.text()
    txt = re.search(r"<code>([^<]+)</code>", html)
    assert txt and "neu-a.example" in html and "wartet" in html
    request_id = re.search(r"/ui/scope/requests/(\d+)/verify", html)
    assert request_id
    verify = f"/ui/scope/requests/{request_id.group(1)}/verify"
    status, _, page = await _post(api, verify, {"csrf": csrf})
    assert status == 400 and "wurde (noch) nicht gefunden" in page
    resolver.txts["neu-a.example"] = [txt.group(1)]
    status, location, _ = await _post(api, verify, {"csrf": csrf})
    assert (status, location) == (303, "/ui/scope?notice=scope_verified")
    _, scopes = await api.call("GET", "/api/v1/agencies/lk-a/scopes", api.tokens.agency_a)
    assert "neu-a.example" in [scope["value"] for scope in scopes["items"]]


async def test_a_finding_reads_in_german_with_local_times_and_flapping_shown(api: Api) -> None:
    created = await _register(api)
    first_seen = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    finding_id = await add_finding(
        api.engine, created["id"], state="resolved", flapping=True, first_seen=first_seen, last_seen=first_seen
    )
    await sign_in(api, api.tokens.agency_a)
    async with api.client.get(f"/ui/findings/{finding_id}") as page:
        text = _text_of(await page.text())
    assert "Das Zertifikat des Servers ist abgelaufen" in text  # the catalogue's German title
    assert "01.07.2026, 12:00 MESZ" in text  # summer time in Lower Saxony
    assert "schwankend" in text and "The certificate has expired" not in text
    async with api.client.get(f"/ui/endpoints/{created['id']}") as page:
        assert "schwankend" in _text_of(await page.text())
    async with api.client.get(f"/ui/lang/en?next=/ui/findings/{finding_id}") as page:
        text = _text_of(await page.text())
    assert "The certificate has expired" in text and "2026-07-01 12:00 CEST" in text and "flapping" in text


async def test_the_findings_download_for_excel_speaks_the_readers_language(api: Api) -> None:
    created = await _register(api)
    await add_finding(api.engine, created["id"], accepted_reason="Ersatz im März bestellt")
    other = await api.call("POST", "/api/v1/endpoints", api.tokens.agency_b, {"host": "www.lk-b.example", "port": 443})
    await add_finding(api.engine, other[1]["id"])
    await sign_in(api, api.tokens.agency_a)
    async with api.client.get("/ui/endpoints") as page:
        assert 'href="/ui/exports/findings.csv"' in await page.text()
    async with api.client.get("/ui/exports/findings.csv") as response:
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
        raw = await response.read()
    text = raw.decode("utf-8")
    assert text.startswith("\ufeffid;agency;")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
    assert [row["agency"] for row in rows] == ["lk-a"]  # only the agency's own
    assert rows[0]["title"] == "Das Zertifikat des Servers ist abgelaufen"
    assert rows[0]["accepted_reason"] == "Ersatz im März bestellt"
    async with api.client.get("/ui/lang/en?next=/ui/exports/findings.csv") as response:
        assert "The certificate has expired" in (await response.read()).decode("utf-8")

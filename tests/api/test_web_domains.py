"""The web UI's domain pages over HTTP, on a real server and a real SQLite database: the list, registering through
the form (German by default, English on request), the mistakes in the reader's words, the domain's page, edit,
delete and re-scan; and another agency's domain, or an endpoint's id, is not found.

No domain check is in checks.REGISTRY yet: the server's rules get the test-only DomainCheck through the registry
they look the kinds of checks up in (ApiConfig.check_registry)."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from checks import REGISTRY
from monitor.api.app import build_app
from monitor.api.context import ApiConfig
from monitor.cadence import Cadence
from monitor.models import DOMAIN_PORT
from monitor.store.audit import Actor
from monitor.store.registry import Registry
from monitor.store.store import Store
from monitor.store.tables import CHECK_STATE
from monitor.usecases.registration import RegistrationRules, check_kind
from tests.api.conftest import Api, FakeResolver, add_finding, seed
from tests.api.test_web_ui import sign_in
from tests.fake_checks import DomainCheck, FakeConfig

DOMAIN_CHECK = DomainCheck.name
TEST_REGISTRY = {**REGISTRY, DOMAIN_CHECK: DomainCheck}
SEED = Actor("test-seed", "test")
USE_CASE_ENGLISH = ("outside the", "is an IP address", "already registered", "only letters", "at least one")
PLANTED = "<script>alert(1)</script>"


def config(check_names: tuple[str, ...] = ("reachability", DOMAIN_CHECK)) -> ApiConfig:
    return ApiConfig(
        check_names=check_names,
        check_registry=TEST_REGISTRY,
        check_configs={**ApiConfig().check_configs, DOMAIN_CHECK: FakeConfig()},
        rescan_min_interval=timedelta(minutes=5),
    )


@asynccontextmanager
async def serving(engine: AsyncEngine, resolver: FakeResolver, api_config: ApiConfig) -> AsyncIterator[Api]:
    tokens = await seed(engine)
    server = TestServer(build_app(Store(engine), api_config, resolver), host="127.0.0.1")
    async with TestClient(server) as client:
        yield Api(client, tokens, engine)


@pytest.fixture
async def api(engine: AsyncEngine, resolver: FakeResolver) -> AsyncIterator[Api]:
    async with serving(engine, resolver, config()) as running:
        yield running


async def _domain(api: Api, name: str = "lk-a.example", token: str | None = None, **extra: Any) -> dict[str, Any]:
    status, created = await api.call(
        "POST", "/api/v1/domains", token or api.tokens.agency_a, {"name": name, "checks": [DOMAIN_CHECK], **extra}
    )
    assert status == 201, created
    return dict(created)


async def _get_domain(api: Api, domain_id: int) -> tuple[int, Any]:
    return await api.call("GET", f"/api/v1/domains/{domain_id}", api.tokens.agency_a)


async def _post(api: Api, path: str, data: dict[str, Any]) -> tuple[int, str, str]:
    async with api.client.post(path, data=data, allow_redirects=False) as response:
        return response.status, response.headers.get("Location", ""), await response.text()


async def _get(api: Api, path: str) -> tuple[int, str]:
    async with api.client.get(path) as response:
        return response.status, await response.text()


def _text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_the_rules_look_the_kinds_of_checks_up_in_the_registry_they_are_given() -> None:
    rules = RegistrationRules(
        Cadence(3600), {DOMAIN_CHECK: FakeConfig()}, ("reachability", DOMAIN_CHECK), timedelta(minutes=5),
        TEST_REGISTRY,
    )  # fmt: skip
    assert rules.names_for("domain") == [DOMAIN_CHECK] and rules.names_for("endpoint") == ["reachability"]
    assert check_kind(DOMAIN_CHECK, TEST_REGISTRY) == "domain"
    assert check_kind(DOMAIN_CHECK) == "endpoint"  # unknown to checks.REGISTRY: taken for an endpoint check


async def test_a_domain_is_registered_through_the_german_form(api: Api) -> None:
    csrf = await sign_in(api, api.tokens.agency_a)
    status, page = await _get(api, "/ui/domains")
    text = _text_of(page)
    assert status == 200 and '<html lang="de">' in page
    assert "Noch keine Domains registriert." in text and "Domain registrieren" in text
    assert 'href="/ui/domains"' in page and 'href="/ui/endpoints"' in page  # both in the navigation
    # the form offers the domain checks only, ticked, and no port or expected ports
    assert f'name="checks" value="{DOMAIN_CHECK}" checked' in page and 'value="reachability"' not in page
    assert 'name="port"' not in page and 'name="expected_ports"' not in page
    form = {"csrf": csrf, "name": " WWW.LK-A.example. ", "checks": DOMAIN_CHECK, "interval": "6h",
            "labels": "team=it\nstandort=rathaus"}  # fmt: skip
    status, location, _ = await _post(api, "/ui/domains", form)
    assert status == 303 and re.fullmatch(r"/ui/domains/\d+\?notice=registered", location), location
    domain_id = int(location.split("/")[-1].split("?")[0])
    _, domain = await _get_domain(api, domain_id)
    assert domain["name"] == "www.lk-a.example" and domain["checks"] == [DOMAIN_CHECK]
    assert domain["labels"] == {"team": "it", "standort": "rathaus"}
    assert domain["intervals"] == {DOMAIN_CHECK: 6 * 3600}
    status, page = await _get(api, location)
    text = _text_of(page)
    assert status == 200 and "Die Domain wurde registriert." in text and "<h1>www.lk-a.example</h1>" in page
    assert "noch nicht geprüft" in text and "noch nicht gelaufen" in text and "6h" in text
    assert "team=it" in text and "Erwartete offene Ports" not in text and "Keine Befunde." in text
    status, page = await _get(api, "/ui/domains")
    text = _text_of(page)
    assert "Seite 1 von 1 · Domains insgesamt: 1" in text and f'href="/ui/domains/{domain_id}"' in page


async def test_registration_mistakes_are_explained_in_german_at_the_field(api: Api) -> None:
    csrf = await sign_in(api, api.tokens.agency_a)
    await _domain(api, "mail.lk-a.example")
    cases = [
        ({"name": "127.0.0.1"}, "name", "Eine Domain ist ein Name wie stadt-beispiel.de, keine IP-Adresse.", 400),
        ({"name": "[2001:db8::1]"}, "name", "keine IP-Adresse", 400),
        ({"name": "https://lk-a.example/start"}, "name", "ohne https://", 400),
        ({"name": "lk-a.example:53"}, "name", "Eine Domain hat keinen Port.", 400),
        ({"name": "bad_name!.lk-a.example"}, "name", "Bitte einen gültigen Domainnamen eingeben", 400),
        ({"name": " "}, "name", "Bitte einen Domainnamen eingeben", 400),
        ({"checks": None}, "checks", "Bitte mindestens eine Prüfung auswählen.", 400),
        ({"checks": "reachability"}, "checks", "Bitte mindestens eine Prüfung auswählen.", 400),  # an endpoint's
        ({"interval": "oft"}, "interval", "Bitte eine Dauer wie 15m, 6h oder 1d angeben", 400),
        ({"labels": "ohne-gleichheitszeichen"}, "labels", "je Zeile ein Label als schlüssel=wert", 400),
        ({"name": "www.lk-b.example"}, "name", "Diese Domain liegt außerhalb des Prüfbereichs Ihrer Behörde.", 400),
        ({"name": "MAIL.lk-a.example"}, "name", "Diese Domain ist bereits registriert.", 409),
    ]
    for change, field, expected, status_expected in cases:
        form = {"csrf": csrf, "name": "www.lk-a.example", "checks": DOMAIN_CHECK} | change
        status, _, page = await _post(api, "/ui/domains", {k: v for k, v in form.items() if v is not None})
        text = _text_of(page)
        assert status == status_expected, change
        assert f'id="{field}-error"' in page and expected in text, (change, text[-900:])
        assert field == "checks" or 'aria-invalid="true"' in page, change  # a fieldset is described, not invalid
        assert not [english for english in USE_CASE_ENGLISH if english in text], change
        if field == "name" and change["name"].strip():
            assert f'value="{change["name"]}"' in page, change  # what was typed stays
    _, listed = await api.call("GET", "/api/v1/domains", api.tokens.agency_a)
    assert [domain["name"] for domain in listed["items"]] == ["mail.lk-a.example"]  # nothing else was written


async def test_out_of_scope_explains_the_agencys_domain_scope_and_leads_to_the_scope_page(api: Api) -> None:
    csrf = await sign_in(api, api.tokens.agency_a)
    form = {"csrf": csrf, "name": "rathaus.example", "checks": DOMAIN_CHECK}
    status, _, page = await _post(api, "/ui/domains", form)
    text = _text_of(page)
    assert status == 400 and "außerhalb des Prüfbereichs Ihrer Behörde" in text
    # lk-a's scope is lk-a.example and 127.0.0.0/8: only the domain is named, a network holds no domain
    assert "Zum Prüfbereich der Behörde gehören diese Domains samt ihren Subdomains: lk-a.example." in text
    assert "127.0.0.0/8" not in text and 'href="/ui/scope"' in page
    # an agency without a domain in its scope is told so
    await sign_in(api, api.tokens.admin)
    registry = Registry(api.engine)
    await registry.add_agency("lk-c", "Landkreis C", SEED)
    await registry.add_scope("lk-c", "10.3.0.0/16", SEED)
    status, _, page = await _post(api, "/ui/domains", form | {"agency": "lk-c", "csrf": await _csrf(api)})
    assert status == 400 and "Zum Prüfbereich der Behörde gehört noch keine Domain." in _text_of(page)


async def _csrf(api: Api) -> str:
    _, page = await _get(api, "/ui/domains")
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


async def test_an_admin_names_the_agency_and_sees_every_agencys_domains(api: Api) -> None:
    await _domain(api, "lk-b.example", api.tokens.agency_b)
    csrf = await sign_in(api, api.tokens.admin)
    status, _, page = await _post(api, "/ui/domains", {"csrf": csrf, "name": "lk-a.example", "checks": DOMAIN_CHECK})
    assert status == 400 and 'id="agency-error"' in page and "Bitte das Kürzel einer Behörde angeben" in page
    form = {"csrf": csrf, "agency": "lk-a", "name": "lk-a.example", "checks": DOMAIN_CHECK}
    status, location, _ = await _post(api, "/ui/domains", form)
    assert status == 303 and location.startswith("/ui/domains/")
    _, page = await _get(api, "/ui/domains")
    text = _text_of(page)
    assert "Domains insgesamt: 2" in text and "lk-a " in text and "lk-b " in text and "Behörde" in text


async def test_an_analyst_reads_but_may_not_register(api: Api) -> None:
    created = await _domain(api)
    csrf = await sign_in(api, api.tokens.analyst)
    _, page = await _get(api, "/ui/domains")
    assert (
        "lk-a.example" in page
        and 'method="post" action="/ui/domains"' not in page
        and "Domain registrieren" not in page
    )
    _, page = await _get(api, f"/ui/domains/{created['id']}")
    assert "Jetzt erneut prüfen" not in page and "Domain löschen" not in page
    for path in ("/ui/domains", f"/ui/domains/{created['id']}/edit", f"/ui/domains/{created['id']}/delete",
                 f"/ui/domains/{created['id']}/scans"):  # fmt: skip
        status, _, _ = await _post(api, path, {"csrf": csrf, "name": "x.lk-a.example", "checks": DOMAIN_CHECK})
        assert status == 403, path
    assert (await _get_domain(api, created["id"]))[0] == 200


async def test_another_agencys_domain_or_an_endpoints_id_is_not_found(api: Api) -> None:
    theirs = await _domain(api, "lk-b.example", api.tokens.agency_b)
    _, endpoint = await api.call("POST", "/api/v1/endpoints", api.tokens.agency_a, {"host": "127.0.0.1", "port": 443})
    ours = await _domain(api)
    csrf = await sign_in(api, api.tokens.agency_a)
    for asset_id in (theirs["id"], endpoint["id"], 999999):
        for path in (f"/ui/domains/{asset_id}", f"/ui/domains/{asset_id}/edit", f"/ui/domains/{asset_id}/delete"):
            status, page = await _get(api, path)
            assert status == 404 and "Nicht gefunden." in page, path
        for action in ("edit", "delete", "scans"):
            status, _, _ = await _post(api, f"/ui/domains/{asset_id}/{action}", {"csrf": csrf, "checks": DOMAIN_CHECK})
            assert status == 404, (asset_id, action)
    assert (await _get(api, f"/ui/endpoints/{ours['id']}"))[0] == 404  # and a domain is no endpoint
    assert (await _get(api, "/ui/domains/x"))[0] == 404
    # nothing was changed or removed, and each list shows its own kind only
    assert (await api.call("GET", f"/api/v1/domains/{theirs['id']}", api.tokens.agency_b))[0] == 200
    assert (await api.call("GET", f"/api/v1/endpoints/{endpoint['id']}", api.tokens.agency_a))[0] == 200
    _, domains = await _get(api, "/ui/domains")
    _, endpoints = await _get(api, "/ui/endpoints")
    assert "Domains insgesamt: 1" in domains and "lk-b.example" not in domains and "127.0.0.1" not in domains
    assert "Endpunkte insgesamt: 1" in endpoints and "lk-a.example<" not in endpoints


async def test_a_domain_is_edited_and_a_wrong_edit_changes_nothing(api: Api) -> None:
    created = await _domain(api, labels={"standort": "rathaus"})
    csrf = await sign_in(api, api.tokens.agency_a)
    status, page = await _get(api, f"/ui/domains/{created['id']}/edit")
    assert status == 200 and "Domain bearbeiten: lk-a.example" in page and 'name="expected_ports"' not in page
    assert "standort=rathaus" in page and f'value="{DOMAIN_CHECK}" checked' in page
    form = {"csrf": csrf, "interval": "oft", "labels": "ohne-gleichheitszeichen"}
    status, _, page = await _post(api, f"/ui/domains/{created['id']}/edit", form)
    text = _text_of(page)
    assert status == 400 and "Bitte mindestens eine Prüfung auswählen." in text
    assert "Bitte eine Dauer wie 15m" in text and "je Zeile ein Label" in text
    assert (await _get_domain(api, created["id"]))[1]["labels"] == {"standort": "rathaus"}
    form = {"csrf": csrf, "checks": DOMAIN_CHECK, "interval": "1d", "labels": "standort=bauhof"}
    status, location, _ = await _post(api, f"/ui/domains/{created['id']}/edit", form)
    assert (status, location) == (303, f"/ui/domains/{created['id']}?notice=saved")
    _, domain = await _get_domain(api, created["id"])
    assert domain["labels"] == {"standort": "bauhof"} and domain["intervals"] == {DOMAIN_CHECK: 86400}
    _, page = await _get(api, location)
    assert "Die Änderungen sind gespeichert." in page and "standort=bauhof" in page and "1d" in page
    # an emptied interval goes back to the default
    assert (await _post(api, f"/ui/domains/{created['id']}/edit", form | {"interval": ""}))[0] == 303
    assert (await _get_domain(api, created["id"]))[1]["intervals"] == {}


async def test_a_domain_is_deleted_after_a_confirmation(api: Api) -> None:
    created = await _domain(api)
    csrf = await sign_in(api, api.tokens.agency_a)
    _, page = await _get(api, f"/ui/domains/{created['id']}")
    assert f'href="/ui/domains/{created["id"]}/delete"' in page
    status, page = await _get(api, f"/ui/domains/{created['id']}/delete")
    text = _text_of(page)
    assert status == 200 and "Domain löschen? lk-a.example" in text and "nicht rückgängig" in text
    assert (await _get_domain(api, created["id"]))[0] == 200  # asking is not deleting
    status, location, _ = await _post(api, f"/ui/domains/{created['id']}/delete", {"csrf": csrf})
    assert (status, location) == (303, "/ui/domains?notice=deleted")
    assert (await _get_domain(api, created["id"]))[0] == 404
    _, page = await _get(api, location)
    assert "Die Domain wurde gelöscht." in page and "Noch keine Domains registriert." in page


async def test_a_rescan_is_requested_and_a_second_says_when_the_next_is_possible(api: Api) -> None:
    created = await _domain(api)
    csrf = await sign_in(api, api.tokens.agency_a)
    status, location, _ = await _post(api, f"/ui/domains/{created['id']}/scans", {"csrf": csrf})
    assert (status, location) == (303, f"/ui/domains/{created['id']}?notice=rescan_requested")
    _, page = await _get(api, location)
    assert "Die erneute Prüfung ist angefordert" in page
    status, _, page = await _post(api, f"/ui/domains/{created['id']}/scans", {"csrf": csrf})
    match = re.search(r"Die nächste ist ab (\d\d\.\d\d\.\d{4}, \d\d:\d\d) (MEZ|MESZ) möglich", _text_of(page))
    assert status == 429 and match
    ready = datetime.strptime(match.group(1), "%d.%m.%Y, %H:%M")
    berlin_now = datetime.now(UTC).astimezone(ZoneInfo("Europe/Berlin")).replace(tzinfo=None)
    assert timedelta(minutes=3) <= ready - berlin_now <= timedelta(minutes=6)  # the fixture's 5-minute limit


async def test_the_domain_page_shows_each_checks_last_run_and_its_findings_escaped(api: Api) -> None:
    created = await _domain(api)
    async with api.engine.begin() as conn:
        await conn.execute(
            update(CHECK_STATE)
            .where(CHECK_STATE.c.endpoint_id == created["id"])
            .values(last_status="unreachable", consecutive_failures=2, last_run_at=datetime.now(UTC),
                    last_error=f"SERVFAIL from the resolver {PLANTED}")
        )  # fmt: skip
    finding_id = await add_finding(api.engine, created["id"], check=DOMAIN_CHECK, key="custom.dns",
                                   title=f"Zone {PLANTED}", detail={"zone": PLANTED})  # fmt: skip
    await sign_in(api, api.tokens.agency_a)
    status, page = await _get(api, f"/ui/domains/{created['id']}")
    text = _text_of(page)
    assert status == 200 and "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # failing (two failures in a row, one short of unreachable), said in a domain's words, above and in its row
    assert 'id="domain-status"' in page and "Prüfung fehlgeschlagen:" in text
    assert text.count("Die Nameserver der Domain haben nicht geantwortet") == 2 and "Der Server hat" not in text
    assert "nicht erreichbar (2 \u00d7 in Folge)" in text and "Technische Angabe: SERVFAIL from the resolver" in text
    assert f'href="/ui/findings/{finding_id}"' in page and "offen" in text


async def test_the_list_pages_through_domains_and_filters_by_status_and_label(api: Api) -> None:
    registry = Registry(api.engine)
    for number in range(1, 61):
        labels = {"standort": "rathaus"} if number % 10 == 0 else {"standort": "bauhof"}
        await registry.add_endpoint(
            "lk-a", f"d{number}.lk-a.example", DOMAIN_PORT, [DOMAIN_CHECK], Cadence(3600), SEED, labels=labels
        )
    await registry.add_endpoint("lk-a", "127.0.0.1", 443, ["reachability"], Cadence(3600), SEED)
    await sign_in(api, api.tokens.agency_a)
    _, page = await _get(api, "/ui/domains?page=2")
    assert "Seite 2 von 2 · Domains insgesamt: 60" in _text_of(page) and "d51.lk-a.example" in page
    assert 'href="/ui/domains?page=1" rel="prev"' in page and 'rel="next"' not in page
    _, page = await _get(api, "/ui/domains?label=standort%3Drathaus")
    assert "Seite 1 von 1 · Domains insgesamt: 6" in _text_of(page) and "d11.lk-a.example" not in page
    _, page = await _get(api, "/ui/domains?status=pending")
    assert "Domains insgesamt: 60" in _text_of(page)
    _, page = await _get(api, "/ui/domains?status=unreachable")
    assert "Noch keine Domains registriert." in page and 'href="/ui/domains">Filter zurücksetzen' in page


async def test_the_domain_pages_speak_english_on_request(api: Api) -> None:
    created = await _domain(api)
    csrf = await sign_in(api, api.tokens.agency_a)
    async with api.client.get("/ui/lang/en?next=/ui/domains", allow_redirects=False) as response:
        assert (response.status, response.headers["Location"]) == (303, "/ui/domains")
    _, page = await _get(api, "/ui/domains")
    text = _text_of(page)
    assert '<html lang="en">' in page and "Register domain" in text and "domains in all: 1" in text
    status, _, page = await _post(api, "/ui/domains", {"csrf": csrf, "name": "10.0.0.1", "checks": DOMAIN_CHECK})
    assert status == 400 and "A domain is a name such as town-example.de, not an IP address." in page
    status, _, page = await _post(api, "/ui/domains", {"csrf": csrf, "name": "x.example", "checks": DOMAIN_CHECK})
    assert status == 400 and "This domain is outside your agency's scope." in _text_of(page)
    _, page = await _get(api, f"/ui/domains/{created['id']}")
    assert "Re-scan now" in page and "Delete domain" in page and "State of the checks" in page
    _, page = await _get(api, f"/ui/domains/{created['id']}/delete")
    assert "Delete this domain?" in page


async def test_without_a_domain_check_the_page_says_so_instead_of_offering_a_form(
    engine: AsyncEngine, resolver: FakeResolver
) -> None:
    async with serving(engine, resolver, config(("reachability",))) as api:
        await sign_in(api, api.tokens.agency_a)
        status, page = await _get(api, "/ui/domains")
        assert status == 200 and 'id="no-domain-checks"' in page and "noch keine Prüfung eingerichtet" in page
        assert 'method="post" action="/ui/domains"' not in page


async def test_alert_links_to_a_domain_lead_to_its_page(api: Api) -> None:
    async with api.client.get("/domains/5", allow_redirects=False) as response:
        assert (response.status, response.headers["Location"]) == (303, "/ui/domains/5")


async def test_a_domains_finding_is_named_by_the_domain_and_leads_back_to_it(api: Api) -> None:
    created = await _domain(api)
    finding_id = await add_finding(api.engine, created["id"], check=DOMAIN_CHECK)
    await sign_in(api, api.tokens.agency_a)
    status, page = await _get(api, f"/ui/findings/{finding_id}")
    text = _text_of(page)
    assert status == 200 and f'<a href="/ui/domains/{created["id"]}">lk-a.example</a>' in page
    assert "<dt>Domain</dt>" in page and "<dt>Endpunkt</dt>" not in page and "lk-a.example:0" not in text
    assert '<a href="/ui/domains">Zurück zur Übersicht</a>' in page
    # an endpoint's finding still leads to its endpoint
    _, endpoint = await api.call("POST", "/api/v1/endpoints", api.tokens.agency_a, {"host": "127.0.0.1", "port": 443})
    other = await add_finding(api.engine, endpoint["id"])
    _, page = await _get(api, f"/ui/findings/{other}")
    assert f'<a href="/ui/endpoints/{endpoint["id"]}">127.0.0.1:443</a>' in page and "<dt>Endpunkt</dt>" in page
    # the download names each asset as the pages do: a domain by its name
    async with api.client.get("/ui/exports/findings.csv") as response:
        rows = list(csv.DictReader(io.StringIO((await response.read()).decode().removeprefix("\ufeff")), delimiter=";"))
    assert {row["id"]: row["endpoint"] for row in rows} == {
        str(finding_id): "lk-a.example",
        str(other): "127.0.0.1:443",
    }

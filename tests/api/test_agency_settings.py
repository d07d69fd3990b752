"""Agency check settings over the API: admins change them (a JSON merge patch), every change is audited, a bad
value is a 400 naming the field and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme
from sqlalchemy import select

from monitor.store.tables import AUDIT_LOG
from tests.api.conftest import Api

PATH = "/api/v1/agencies/lk-a"
CHANGES = ("agency.settings", "agency.alert_language")


async def test_an_admin_sets_the_agency_ca_bundle_and_profile(api: Api, tmp_path: Path) -> None:
    ca_file = tmp_path / "land-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca_file))
    patch = {"check_settings": {"tls": {"ca_file": str(ca_file), "profiles": ["mozilla_intermediate"]}}}
    status, reply = await api.call("PATCH", PATH, api.tokens.admin, patch)
    assert status == 200, reply
    assert reply == {
        "slug": "lk-a",
        "name": "Landkreis A",
        "endpoints": 0,
        "check_settings": patch["check_settings"],
        "alert_language": "de",
    }
    status, shown = await api.call("GET", PATH, api.tokens.analyst)
    assert (status, shown) == (200, reply)

    status, reply = await api.call("PATCH", PATH, api.tokens.admin, {"check_settings": {"tls": {"profiles": None}}})
    assert status == 200 and reply["check_settings"] == {"tls": {"ca_file": str(ca_file)}}
    async with api.engine.connect() as conn:
        rows = (await conn.execute(select(AUDIT_LOG).where(AUDIT_LOG.c.action == "agency.settings"))).all()
    assert [(row.target, row.detail["after"]) for row in rows] == [
        ("lk-a", patch["check_settings"]),
        ("lk-a", {"tls": {"ca_file": str(ca_file)}}),
    ]
    assert rows[1].detail["before"] == patch["check_settings"]


async def test_bad_settings_are_a_400_naming_the_field_and_change_nothing(api: Api, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a certificate")
    cases = [
        ({"tls": {"ca_file": str(tmp_path / "absent.pem")}}, "check_settings.tls.ca_file", "no such file"),
        ({"tls": {"ca_file": str(tmp_path / "notes.txt")}}, "check_settings.tls.ca_file", "no PEM certificate"),
        ({"tls": {"ca_file": "ca.pem"}}, "check_settings.tls.ca_file", "absolute path"),
        ({"tls": {"profiles": ["bsi"]}}, "check_settings.tls.profiles.0", "Input should be"),
        ({"tls": {"nonsense": 1}}, "check_settings.tls.nonsense", "unknown setting"),
        ({"nmap": {"ports": "22"}}, "check_settings.nmap", "unknown check"),
    ]
    for settings, field, message in cases:
        status, reply = await api.call("PATCH", PATH, api.tokens.admin, {"check_settings": settings})
        assert (status, reply["error"]["field"]) == (400, field), settings
        assert message in reply["error"]["message"]
    status, reply = await api.call("PATCH", PATH, api.tokens.admin, {"check_settings": {"tls": []}})
    assert (status, reply["error"]["code"]) == (400, "invalid_input")
    assert (await api.call("GET", PATH, api.tokens.admin))[1]["check_settings"] == {}
    async with api.engine.connect() as conn:
        assert (await conn.execute(select(AUDIT_LOG).where(AUDIT_LOG.c.action == "agency.settings"))).all() == []


async def test_an_admin_sets_the_alert_language_alone_or_with_check_settings(api: Api) -> None:
    assert (await api.call("GET", PATH, api.tokens.analyst))[1]["alert_language"] == "de"  # the default
    status, reply = await api.call("PATCH", PATH, api.tokens.admin, {"alert_language": "en"})
    assert (status, reply["alert_language"], reply["check_settings"]) == (200, "en", {})
    both = {"alert_language": "de", "check_settings": {"tls": {"profiles": ["bsi_tr_02102_2"]}}}
    status, reply = await api.call("PATCH", PATH, api.tokens.admin, both)
    assert (status, reply["alert_language"], reply["check_settings"]) == (200, "de", both["check_settings"])
    async with api.engine.connect() as conn:
        rows = (await conn.execute(select(AUDIT_LOG).order_by(AUDIT_LOG.c.id))).all()
    assert [(row.action, row.detail) for row in rows if row.action in CHANGES] == [
        ("agency.alert_language", {"before": "de", "after": "en"}),
        ("agency.settings", {"before": {}, "after": both["check_settings"]}),
        ("agency.alert_language", {"before": "en", "after": "de"}),
    ]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"alert_language": "fr"}, "alert_language", "Input should be 'de' or 'en'"),
        ({"alert_language": "DE"}, "alert_language", "Input should be 'de' or 'en'"),
        ({"alert_language": None}, "alert_language", "must not be null"),
        ({"check_settings": None}, "check_settings", "must not be null"),
        ({}, None, "nothing to change: give check_settings, alert_language or both"),
        ({"alert_language": "en", "check_settings": {"tls": {"nonsense": 1}}}, "check_settings.tls.nonsense", ""),
    ],
)
async def test_a_bad_alert_language_or_an_empty_patch_is_a_400_and_changes_nothing(
    api: Api, body: dict[str, object], field: str | None, message: str
) -> None:
    status, reply = await api.call("PATCH", PATH, api.tokens.admin, body)
    assert (status, reply["error"]["field"]) == (400, field), reply
    assert message in reply["error"]["message"]
    assert (await api.call("GET", PATH, api.tokens.admin))[1]["alert_language"] == "de"
    async with api.engine.connect() as conn:
        assert (await conn.execute(select(AUDIT_LOG).where(AUDIT_LOG.c.action.in_(CHANGES)))).all() == []


async def test_only_admins_change_agency_settings(api: Api) -> None:
    body = {"check_settings": {"tls": {"profiles": ["mozilla_intermediate"]}}}
    for token in (api.tokens.analyst, api.tokens.agency_a):
        assert (await api.call("PATCH", PATH, token, body))[0] == 403
    assert (await api.call("GET", PATH, api.tokens.agency_a))[0] == 403
    assert (await api.call("PATCH", "/api/v1/agencies/lk-zz", api.tokens.admin, body))[0] == 404
    assert (await api.call("GET", PATH, api.tokens.admin))[1]["check_settings"] == {}


async def test_the_operations_are_in_the_openapi_document(api: Api) -> None:
    _, document = await api.call("GET", "/api/v1/openapi.json", None)
    operations = document["paths"]["/api/v1/agencies/{slug}"]
    assert set(operations) == {"get", "patch"}
    assert operations["patch"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/AgencyUpdate")
    assert {"check_settings", "alert_language"} <= set(document["components"]["schemas"]["AgencyDetail"]["properties"])
    assert "alert_language" in document["components"]["schemas"]["AgencyUpdate"]["properties"]

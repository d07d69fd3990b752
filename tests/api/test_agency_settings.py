"""Agency check settings over the API: admins change them (a JSON merge patch), every change is audited, a bad
value is a 400 naming the field and changes nothing."""

from __future__ import annotations

from pathlib import Path

import trustme
from sqlalchemy import select

from monitor.store.tables import AUDIT_LOG
from tests.api.conftest import Api

PATH = "/api/v1/agencies/lk-a"


async def test_an_admin_sets_the_agency_ca_bundle_and_profile(api: Api, tmp_path: Path) -> None:
    ca_file = tmp_path / "land-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca_file))
    patch = {"check_settings": {"tls": {"ca_file": str(ca_file), "profiles": ["mozilla_intermediate"]}}}
    status, reply = await api.call("PATCH", PATH, api.tokens.admin, patch)
    assert status == 200, reply
    assert reply == {"slug": "lk-a", "name": "Landkreis A", "endpoints": 0, "check_settings": patch["check_settings"]}
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
    assert "check_settings" in document["components"]["schemas"]["AgencyDetail"]["properties"]

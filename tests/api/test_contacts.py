"""Contacts through the API: validated (the field named), duplicates refused, audited, and an agency sees and
manages only its own."""

from __future__ import annotations

from sqlalchemy import select

from monitor.store.tables import AUDIT_LOG
from tests.api.conftest import Api

A = "/api/v1/agencies/lk-a/contacts"


async def test_contacts_api_validates_refuses_duplicates_and_audits(api: Api) -> None:
    a = api.tokens.agency_a
    body = {"name": "Erika Muster", "email": "it@lk-a.example", "role": "it", "language": "de"}
    status, created = await api.call("POST", A, a, body)
    assert status == 201, created
    assert (created["agency"], created["email"], created["role"], created["language"]) == (
        "lk-a", "it@lk-a.example", "it", "de"
    )  # fmt: skip
    status, error = await api.call("POST", A, a, body | {"email": "it@LK-A.example"})
    assert (status, error["error"]["field"]) == (409, "email")
    status, error = await api.call("POST", A, a, body | {"email": "not an address"})
    assert (status, error["error"]["code"], error["error"]["field"]) == (400, "invalid_input", "email")
    status, error = await api.call("POST", A, a, body | {"email": "x@lk-a.example", "role": "boss"})
    assert (status, error["error"]["field"]) == (400, "role")
    status, error = await api.call("POST", A, a, body | {"email": "x@lk-a.example", "language": "fr"})
    assert (status, error["error"]["field"]) == (400, "language")
    status, error = await api.call("POST", A, a, body | {"email": "x@lk-a.example", "name": "  "})
    assert (status, error["error"]["field"]) == (400, "name")
    status, error = await api.call("POST", A, a, body | {"email": "x@lk-a.example", "name": "n" * 201})
    assert (status, error["error"]["field"]) == (400, "name")
    path = f"{A}/{created['id']}"
    status, changed = await api.call("PATCH", path, a, {"language": "en", "role": "management"})
    assert (status, changed["language"], changed["role"]) == (200, "en", "management")
    status, error = await api.call("PATCH", path, a, {"email": "bad@"})
    assert (status, error["error"]["field"]) == (400, "email")
    status, listing = await api.call("GET", A, a)
    assert [item["email"] for item in listing["items"]] == ["it@lk-a.example"]
    assert (await api.call("DELETE", path, a))[0] == 204
    assert (await api.call("DELETE", path, a))[0] == 404
    async with api.engine.connect() as conn:
        query = select(AUDIT_LOG.c.action, AUDIT_LOG.c.target, AUDIT_LOG.c.source).where(
            AUDIT_LOG.c.action.like("contact.%")
        )
        rows = (await conn.execute(query.order_by(AUDIT_LOG.c.id))).all()
    assert [(row.action, row.target) for row in rows] == [
        ("contact.add", "lk-a"), ("contact.update", "lk-a"), ("contact.remove", "lk-a")
    ]  # fmt: skip
    assert all(row.source != "cli" for row in rows)


async def test_an_agency_sees_and_manages_only_its_own_contacts(api: Api) -> None:
    a, b, admin = api.tokens.agency_a, api.tokens.agency_b, api.tokens.admin
    body = {"name": "Erika Muster", "email": "it@lk-a.example"}
    status, created = await api.call("POST", A, admin, body)
    assert status == 201
    path = f"{A}/{created['id']}"
    assert (await api.call("GET", A, b))[0] == 404
    assert (await api.call("POST", A, b, body | {"email": "spy@lk-b.example"}))[0] == 404
    assert (await api.call("PATCH", path, b, {"name": "x"}))[0] == 404
    assert (await api.call("DELETE", path, b))[0] == 404
    # B's own path with A's contact id: no such contact there
    assert (await api.call("PATCH", f"/api/v1/agencies/lk-b/contacts/{created['id']}", b, {"name": "x"}))[0] == 404
    assert (await api.call("DELETE", f"/api/v1/agencies/lk-b/contacts/{created['id']}", b))[0] == 404
    assert (await api.call("POST", A, api.tokens.analyst, body))[0] == 403
    assert (await api.call("GET", A, api.tokens.analyst))[0] == 200
    status, listing = await api.call("GET", A, a)
    assert (status, [item["id"] for item in listing["items"]]) == (200, [created["id"]])
    assert (await api.call("GET", "/api/v1/agencies/nope/contacts", admin))[0] == 404

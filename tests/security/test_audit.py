"""Who did what from where: token and endpoint changes leave audit rows, never the token itself."""

from __future__ import annotations

from sqlalchemy import select

from monitor.store.tables import AUDIT_LOG
from tests.api.conftest import Api


async def test_token_and_endpoint_changes_are_audited_with_actor_and_address(api: Api) -> None:
    status, issued = await api.call("POST", "/api/v1/tokens", api.tokens.admin, {"role": "agency", "agency": "lk-a"})
    assert status == 201
    status, created = await api.call("POST", "/api/v1/endpoints", issued["token"], {"host": "127.0.0.1", "port": 443})
    assert status == 201
    status, rotated = await api.call("POST", "/api/v1/tokens/rotate", issued["token"])
    assert status == 201
    assert (await api.call("DELETE", f"/api/v1/tokens/{rotated['id']}", api.tokens.admin))[0] == 200
    async with api.engine.connect() as conn:
        rows = [row._mapping for row in await conn.execute(select(AUDIT_LOG).order_by(AUDIT_LOG.c.id))]
    actions = [(row["action"], row["target"]) for row in rows if row["actor"].startswith("token:")]
    assert actions == [
        ("token.create", f"token/{issued['id']}"),
        ("endpoint.add", f"lk-a/{created['id']}"),
        ("token.rotate", f"token/{issued['id']}"),
        ("token.revoke", f"token/{rotated['id']}"),
    ]
    assert all(row["source"] == "127.0.0.1" for row in rows if row["actor"].startswith("token:"))
    everything = " ".join(str(dict(row)) for row in rows)
    assert issued["token"] not in everything and rotated["token"] not in everything

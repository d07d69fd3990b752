"""Hostile text in filters, ids, slugs and names: SQL stays bound parameters, topics stay topics."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.errors import InvalidInput
from monitor.store.registry import Registry
from monitor.store.tables import AGENCY
from tests.api.conftest import SEED, Api, add_finding

ROOT = Path(__file__).resolve().parents[2]
SQL = ["' OR '1'='1", "1 OR 1=1", "x'; DROP TABLE agency; --", '" UNION SELECT token_hash FROM api_token --', "%", "_"]


async def agencies(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(AGENCY))).scalar_one())


async def test_hostile_filters_ids_and_slugs_find_nothing(api: Api) -> None:
    _status, created = await api.call(
        "POST", "/api/v1/endpoints", api.tokens.agency_a, {"host": "127.0.0.1", "port": 22}
    )
    await add_finding(api.engine, created["id"])
    for hostile in SQL:
        for token in (api.tokens.agency_b, api.tokens.admin):
            for name in ("check", "key"):
                status, page = await api.call("GET", f"/api/v1/findings?{name}={quote(hostile)}", token)
                # a literal value, matching no stored check or key (or too long for the field)
                assert status == 400 or (status, page["items"]) == (200, []), (hostile, name)
        status, reply = await api.call("GET", f"/api/v1/endpoints?host={quote(hostile)}", api.tokens.agency_b)
        assert (status, reply["error"]["field"]) == (400, "host")
        status, reply = await api.call("GET", f"/api/v1/findings?agency={quote(hostile)}", api.tokens.admin)
        assert (status, reply["error"]["field"]) == (400, "agency")
        for path in (f"/api/v1/endpoints/{quote(hostile)}", f"/api/v1/findings/{quote(hostile)}"):
            assert (await api.call("GET", path, api.tokens.admin))[0] == 404, path
        path = f"/api/v1/agencies/{quote(hostile, safe='')}/scopes"
        assert (await api.call("GET", path, api.tokens.admin))[0] == 404, path
    assert await agencies(api.engine) == 2
    _status, page = await api.call("GET", "/api/v1/findings", api.tokens.admin)
    assert len(page["items"]) == 1
    # the suffix filter is a LIKE underneath: it still finds names below the domain, and only those
    await api.call("POST", "/api/v1/endpoints", api.tokens.agency_a, {"host": "www.lk-a.example", "port": 443})
    _status, page = await api.call("GET", "/api/v1/endpoints?host=lk-a.example", api.tokens.admin)
    assert [item["host"] for item in page["items"]] == ["www.lk-a.example"]


async def test_hostile_text_is_stored_verbatim_as_data(api: Api) -> None:
    name = "Robert'); DROP TABLE agency; --"
    status, created = await api.call("POST", "/api/v1/agencies", api.tokens.admin, {"slug": "lk-c", "name": name})
    assert status == 201 and created["name"] == name
    labels = {"owner'; DELETE FROM endpoint; --": "x' OR '1'='1"}
    status, endpoint = await api.call(
        "POST", "/api/v1/endpoints", api.tokens.agency_a, {"host": "127.0.0.1", "port": 443, "labels": labels}
    )
    assert status == 201 and endpoint["labels"] == labels
    finding = await add_finding(api.engine, endpoint["id"])
    reason = "ok'; UPDATE finding SET state='resolved'; --"
    until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    status, reply = await api.call(
        "POST", f"/api/v1/findings/{finding}/acceptance", api.tokens.agency_a, {"reason": reason, "until": until}
    )
    assert status == 200 and reply["accepted_reason"] == reason
    _status, listed = await api.call("GET", "/api/v1/agencies", api.tokens.admin)
    assert name in {item["name"] for item in listed["items"]} and await agencies(api.engine) == 3
    _status, found = await api.call("GET", f"/api/v1/findings/{finding}", api.tokens.admin)
    assert found["state"] == "accepted" and found["accepted_reason"] == reason


def _sql_text_calls(tree: ast.AST) -> list[int]:
    """Lines where SQL is built from non-literal text: text(f"…"), text(a + b), exec_driver_sql(f"…")."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        first = node.args[0]
        if name == "text" and not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            lines.append(node.lineno)
        if name in ("execute", "exec_driver_sql") and isinstance(first, ast.JoinedStr | ast.BinOp):
            lines.append(node.lineno)
        if name in ("execute", "exec_driver_sql") and isinstance(first, ast.Call):
            inner = first.func
            if isinstance(inner, ast.Attribute) and inner.attr == "format":
                lines.append(node.lineno)
    return lines


def test_no_sql_is_built_from_strings() -> None:
    offenders = []
    for directory in ("monitor", "checks"):
        for path in sorted((ROOT / directory).rglob("*.py")):
            offenders += [f"{path.relative_to(ROOT)}:{line}" for line in _sql_text_calls(ast.parse(path.read_text()))]
    assert offenders == []
    # the guard itself finds what it is meant to find
    assert sorted(_sql_text_calls(ast.parse("conn.execute(text(f'SELECT {x}'))\ncur.execute('a' + b)"))) == [1, 2]


HOSTILE_SLUGS = ["lk-a/#", "+", "#", "a/b", "lk\x00a", "x" * 41, "lk a", "Lk-A", "lk-a/+/x", "ä-kreis", ""]


async def test_agency_slugs_that_would_change_an_mqtt_topic_are_refused(api: Api) -> None:
    for slug in HOSTILE_SLUGS:
        status, reply = await api.call("POST", "/api/v1/agencies", api.tokens.admin, {"slug": slug, "name": "x"})
        assert (status, reply["error"]["field"]) == (400, "slug"), slug
        with pytest.raises(InvalidInput) as caught:
            await Registry(api.engine).add_agency(slug, "x", SEED)  # the CLI's way in
        assert caught.value.field == "slug"
        for token in (api.tokens.agency_a, api.tokens.admin):
            body = {"host": "127.0.0.1", "port": 443, "agency": slug}
            status, reply = await api.call("POST", "/api/v1/endpoints", token, body)
            assert status in (400, 403), slug
    assert await agencies(api.engine) == 2

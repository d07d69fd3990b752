"""The OpenAPI document: generated from the handlers' own models, so it lists exactly the routes that exist;
and schemathesis, driven by it, finds no 5xx and no reply that breaks it."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from monitor.api.app import OPENAPI_PATH, OPERATIONS
from monitor.api.context import ApiConfig
from monitor.store.access_store import AccessStore
from monitor.store.audit import Actor
from tests.api.conftest import Api, FakeResolver
from tests.api.threaded_server import RunningApi, ThreadedApi

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# per operation, generation mode and role: 8 is about 750 calls; `make fuzz` raises it (SCHEMATHESIS_EXAMPLES)
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "8"))
ACTOR = Actor("schemathesis", "test")


async def test_the_document_lists_exactly_the_api_routes(api: Api) -> None:
    status, document = await api.call("GET", OPENAPI_PATH, None)
    assert status == 200 and document["openapi"] == "3.1.0"
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    served = {
        (route.method, re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", route.resource.canonical))
        for route in api.client.server.app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith("/api/v1/")
        and route.resource.canonical != OPENAPI_PATH and route.method != "HEAD"
    }  # fmt: skip
    assert documented == served
    for path, item in document["paths"].items():
        for operation in item.values():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body is not None:
                name = body["$ref"].rsplit("/", 1)[1]
                assert document["components"]["schemas"][name]["additionalProperties"] is False, path
            for status_code, reply in operation["responses"].items():
                if status_code.startswith("4"):
                    assert reply["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('schemathesis')}/posture.db"
    config = ApiConfig(check_names=("reachability",), rescan_min_interval=timedelta(seconds=1))
    resolver = FakeResolver(names={"www.lk-a.example": ["81.169.0.10"]})
    with ThreadedApi(url, config, resolver) as api:
        yield api


def test_schemathesis_finds_no_server_error_and_no_reply_outside_the_document(running: RunningApi) -> None:
    document = requests.get(running.url + OPENAPI_PATH, timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(OPERATIONS)
    failures: list[str] = []
    with requests.Session() as session:
        for operation, mode, role in itertools.product(operations, schemathesis.GenerationMode, ("admin", "agency")):
            fuzz(running, session, operation, mode, role, failures)
    assert failures == []


def fuzz(
    running: RunningApi,
    session: requests.Session,
    operation: schemathesis.APIOperation,
    mode: schemathesis.GenerationMode,
    role: str,
    failures: list[str],
) -> None:
    agency = "lk-a" if role == "agency" else None

    def fresh_token() -> dict[str, str]:
        """A new token per call: generated calls may rotate or revoke the token they are sent with."""
        issued = running.run(lambda: AccessStore(running.engine).create_token(role, agency, None, ACTOR))
        return {"Authorization": f"Bearer {issued.token}"}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        try:
            case.call_and_validate(base_url=running.url, session=session, headers=fresh_token(), checks=CHECKS)
        except Exception as err:  # collect, to report every operation at once
            failures.append(f"{operation.label} ({mode.value}, {role}): {type(err).__name__}: {str(err)[:600]}")

    run()

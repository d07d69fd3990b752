"""The API's route table: each operation names its models once; handlers and the OpenAPI document use them."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from monitor.api.auth import authenticate
from monitor.api.context import services
from monitor.api.errors import ApiError, from_validation_error
from monitor.api.schemas import MAX_INT
from monitor.store.access_store import Principal

PREFIX = "/api/v1"


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated request, its validated body and query, and its path parameters."""

    request: web.Request
    principal: Principal
    body: Any
    query: Any
    path: dict[str, Any]


Handler = Callable[[Call], Awaitable[BaseModel | web.StreamResponse | None]]

# Path parameters and their schema: ids are positive 32-bit integers, agencies are slugs.
PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "id": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
    "slug": {"type": "string", "pattern": "^[a-z0-9-]{2,40}$"},
    "week": {"type": "string", "pattern": "^[0-9]{4}-W[0-9]{2}$"},  # an ISO week, e.g. 2026-W49
}
_PATH_NAME = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str  # below PREFIX, e.g. "/endpoints/{id}"
    handler: Handler
    summary: str
    roles: Sequence[str]
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    media_type: str = "application/json"
    errors: Sequence[int] = field(default=())

    @property
    def full_path(self) -> str:
        return PREFIX + self.path

    @property
    def operation_id(self) -> str:
        return self.handler.__name__.lstrip("_")

    @property
    def path_names(self) -> list[str]:
        return _PATH_NAME.findall(self.path)


def _path_values(op: Operation, request: web.Request) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in op.path_names:
        raw = request.match_info[name]
        if PATH_PARAMETERS[name]["type"] == "integer":
            # Not a valid id is the same as an unknown one: 404.
            if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_INT:
                raise ApiError(404, "not_found", f"no such {name}", name)
            values[name] = int(raw)
        else:
            values[name] = raw
    return values


def _query(op: Operation, request: web.Request) -> Any:
    if op.query is None:
        if request.query:
            name = next(iter(request.query))
            raise ApiError(400, "invalid_input", "this operation takes no query parameters", name)
        return None
    values: dict[str, str] = {}
    for name, value in request.query.items():
        if name in values:
            raise ApiError(400, "invalid_input", "given more than once", name)
        values[name] = value
    try:
        return op.query.model_validate(values)
    except ValidationError as err:
        raise from_validation_error(err) from None


async def _body(op: Operation, request: web.Request) -> Any:
    if op.body is None:
        return None
    max_bytes = services(request).config.max_body_bytes
    if request.content_length is not None and request.content_length > max_bytes:
        raise ApiError(413, "too_large", f"the body may have at most {max_bytes} bytes", None)
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json", None)
    raw = await request.read()  # the application's client_max_size ends a longer (chunked) body with 413
    try:
        return op.body.model_validate_json(raw)
    except ValidationError as err:
        raise from_validation_error(err) from None


def aiohttp_handler(op: Operation) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        principal = await authenticate(request, op.roles)
        path = _path_values(op, request)
        query = _query(op, request)
        body = await _body(op, request)
        result = await op.handler(Call(request, principal, body, query, path))
        if isinstance(result, web.StreamResponse):
            return result
        if result is None:
            return web.Response(status=op.status)
        return web.Response(body=result.model_dump_json().encode(), status=op.status, content_type="application/json")

    handle.__name__ = op.operation_id
    return handle


def add_operations(app: web.Application, operations: Sequence[Operation]) -> None:
    for op in operations:
        app.router.add_route(op.method, op.full_path, aiohttp_handler(op), name=op.operation_id)

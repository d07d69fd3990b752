"""The OpenAPI 3.1 document, generated from the route table and its pydantic models: it cannot drift."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from monitor import __version__
from monitor.api.routing import PATH_PARAMETERS, PREFIX, Operation
from monitor.api.schemas import Error

REF = "#/components/schemas/{model}"
_ALWAYS = (400, 401, 403, 429)  # 429: too many failed sign-ins from the address
_REASONS = {
    400: "Invalid input, malformed JSON or unknown field",
    401: "No token, or an unknown or revoked one",
    403: "The token's role may not do this",
    404: "Unknown id, or not the caller's",
    409: "Exists already, or decided meanwhile",
    413: "Body too large",
    415: "Body is not application/json",
    429: "Asked again too soon, or too many failed sign-ins from this address (see Retry-After)",
}


def _models(operations: Sequence[Operation]) -> list[type[BaseModel]]:
    seen: dict[str, type[BaseModel]] = {"Error": Error}
    for op in operations:
        for model in (op.body, op.response):
            if model is not None:
                seen[model.__name__] = model
    return list(seen.values())


def _parameters(op: Operation, query_schema: dict[str, Any] | None) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": PATH_PARAMETERS[name]} for name in op.path_names
    ]
    if query_schema is not None:
        required = set(query_schema.get("required", ()))
        for name, schema in query_schema["properties"].items():
            parameter = {"name": name, "in": "query", "required": name in required, "schema": _no_titles(schema)}
            if "description" in schema:
                parameter["description"] = schema["description"]
            parameters.append(parameter)
    return parameters


def _no_titles(schema: Any) -> Any:
    if isinstance(schema, dict):
        # a "title" that is text is pydantic's annotation; a "title" that is a schema is a property so named
        return {
            key: _no_titles(value) for key, value in schema.items() if not (key == "title" and isinstance(value, str))
        }
    if isinstance(schema, list):
        return [_no_titles(item) for item in schema]
    return schema


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _error(status: int) -> dict[str, Any]:
    return {"description": _REASONS[status], "content": {"application/json": {"schema": _ref(Error)}}}


def _operation(op: Operation) -> dict[str, Any]:
    query_schema = op.query.model_json_schema(ref_template=REF) if op.query is not None else None
    responses: dict[str, Any] = {}
    if op.response is not None:
        responses[str(op.status)] = {
            "description": op.summary,
            "content": {op.media_type: {"schema": _ref(op.response)}},
        }
    elif op.media_type == "text/csv":
        responses[str(op.status)] = {"description": op.summary, "content": {"text/csv": {"schema": {"type": "string"}}}}
    elif op.media_type != "application/json":  # a file: the archived PDF report
        schema = {"type": "string", "format": "binary"}
        responses[str(op.status)] = {"description": op.summary, "content": {op.media_type: {"schema": schema}}}
    else:
        responses[str(op.status)] = {"description": op.summary}
    statuses = set(_ALWAYS) | set(op.errors)
    if op.body is not None:
        statuses |= {413, 415}
    for status in sorted(statuses):
        responses[str(status)] = _error(status)
    document: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "description": f"Roles: {', '.join(op.roles)}.",
        "parameters": _parameters(op, query_schema),
        "responses": responses,
        "security": [{"bearer": []}],
    }
    if op.body is not None:
        document["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(op.body)}}}
    return document


def openapi_document(operations: Sequence[Operation]) -> dict[str, Any]:
    _, definitions = models_json_schema(
        [(model, "serialization" if model.__name__ not in _bodies(operations) else "validation")
         for model in _models(operations)],
        ref_template=REF,
    )  # fmt: skip
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.full_path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "posture-monitor API",
            "version": __version__,
            "description": "Agency self-service: endpoints inside the agency's scope, findings, re-scans, tokens. "
            'Every error has the body {"error": {"code", "message", "field"}}.',
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": _no_titles(definitions.get("$defs", {})),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _bodies(operations: Sequence[Operation]) -> set[str]:
    return {op.body.__name__ for op in operations if op.body is not None}


def openapi_handler(document: dict[str, Any]) -> Any:
    async def openapi_json(_request: web.Request) -> web.Response:
        return web.json_response(document)

    return openapi_json


__all__ = ["PREFIX", "openapi_document", "openapi_handler"]

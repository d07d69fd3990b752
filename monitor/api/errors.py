"""One error body everywhere: {"error": {"code", "message", "field"}}; user errors map to 4xx in one place."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import ValidationError

from monitor.errors import Conflict, Forbidden, InvalidInput, NotFound, OutOfScope, RateLimited, UserError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_STATUS: list[tuple[type[UserError], int, str]] = [
    (NotFound, 404, "not_found"),
    (Conflict, 409, "conflict"),
    (Forbidden, 403, "forbidden"),
    (RateLimited, 429, "rate_limited"),
    (OutOfScope, 400, "out_of_scope"),
    (InvalidInput, 400, "invalid_input"),
]

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}


class ApiError(Exception):
    """An error reply with a status, a code and (when one is at fault) the field."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers: dict[str, str] = {}


def error_response(
    status: int, code: str, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message, "field": field}}, status=status, headers=headers
    )


def from_user_error(err: UserError) -> ApiError:
    for kind, status, code in _STATUS:
        if isinstance(err, kind):
            api = ApiError(status, code, err.reason, err.field or None)
            if isinstance(err, RateLimited):
                api.headers["Retry-After"] = str(int(err.retry_after_s + 0.999))
            return api
    return ApiError(400, "invalid_input", err.reason, err.field or None)


def from_validation_error(err: ValidationError, where: str = "") -> ApiError:
    """The first problem, named by its field path (body field or query parameter)."""
    first = err.errors(include_url=False)[0]
    path = ".".join(str(part) for part in first["loc"])
    field = f"{where}{path}" if path else (where.rstrip(".") or None)
    if first["type"] == "json_invalid":
        return ApiError(400, "malformed_json", "the body is not valid JSON", None)
    if first["type"] == "extra_forbidden":
        return ApiError(400, "invalid_input", "unknown field", field)
    message = first["msg"].removeprefix("Value error, ")
    return ApiError(400, "invalid_input", message, field)


def is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """API paths always answer with the error body; the web UI renders its own pages for its errors."""
    try:
        return await handler(request)
    except ApiError as err:
        return error_response(err.status, err.code, err.message, err.field, err.headers)
    except UserError as err:
        api = from_user_error(err)
        return error_response(api.status, api.code, api.message, api.field, api.headers)
    except web.HTTPException as err:
        if err.status < 400 or not is_api(request):
            raise
        headers = {name: value for name, value in err.headers.items() if name in ("Allow", "Retry-After")}
        code = _HTTP_CODES.get(err.status, "error")
        message = err.reason if err.status != 413 else "the body is larger than allowed"
        return error_response(err.status, code, message, None, headers)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if not is_api(request):
            raise
        return error_response(500, "internal", "an internal error occurred; it was logged")

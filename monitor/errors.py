"""User mistakes: each names the field and what is allowed, and becomes exit code 2 or an HTTP 4xx."""

from __future__ import annotations


class UserError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.reason = message


class InvalidInput(UserError, ValueError):
    """The value is malformed or outside what is allowed."""


class OutOfScope(InvalidInput):
    """The host, or an address it resolves to now, lies outside the agency's scope."""


class NotFound(UserError):
    """The named thing does not exist (or is not the caller's to see)."""


class Conflict(UserError):
    """The thing exists already."""


class RateLimited(UserError):
    """Asked again too soon; `retry_after_s` says when it will be accepted."""

    def __init__(self, field: str, message: str, retry_after_s: float) -> None:
        super().__init__(field, message)
        self.retry_after_s = retry_after_s


class Forbidden(UserError):
    """The caller's role may not do this."""

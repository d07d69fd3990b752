"""The security tests reuse the API tests' real server over real SQLite (tests/api/conftest.py)."""

from tests.api.conftest import api, resolver

__all__ = ["api", "resolver"]

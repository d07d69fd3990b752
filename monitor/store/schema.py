"""Schema migrations (alembic) run from code: `posture db upgrade`, and the start-up check."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaOutdated(Exception):
    pass


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "no migrations shipped"
    return head


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> tuple[str | None, str]:
    """Migrate to `revision`; returns (before, after)."""
    async with engine.begin() as connection:
        before = await connection.run_sync(_current)
        await connection.run_sync(lambda sync: command.upgrade(_config(sync), revision))
        after = await connection.run_sync(_current)
    return before, after or ""


async def ensure_current(engine: AsyncEngine) -> None:
    """Refuse to run on a schema that is not the code's: the operator must run `posture db upgrade`."""
    current, head = await current_revision(engine), head_revision()
    if current != head:
        state = "empty" if current is None else f"at revision {current}"
        raise SchemaOutdated(f"database schema is {state}, this version needs {head}: run `posture db upgrade`")

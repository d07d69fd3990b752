"""Alembic environment: run by monitor.store.schema with a live connection in config.attributes."""

from __future__ import annotations

from alembic import context

from monitor.store.tables import METADATA

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=METADATA, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()

"""finding lifecycle: deadlines, reminders, flapping, resolution; alert routing per agency;
per-endpoint check settings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import monitor.store.columns

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.add_column(sa.Column("min_alert_severity", sa.Integer(), nullable=True))
    with op.batch_alter_table("endpoint", schema=None) as batch_op:
        batch_op.add_column(sa.Column("check_settings", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_at", monitor.store.columns.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_notified_at", monitor.store.columns.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("overdue_notified", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("transitions", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("flapping", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("resolution", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.drop_column("min_alert_severity")
    with op.batch_alter_table("endpoint", schema=None) as batch_op:
        batch_op.drop_column("check_settings")
    with op.batch_alter_table("finding", schema=None) as batch_op:
        for column in ("resolution", "flapping", "transitions", "overdue_notified", "last_notified_at", "due_at"):
            batch_op.drop_column(column)

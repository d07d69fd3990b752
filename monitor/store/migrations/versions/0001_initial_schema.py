"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import monitor.store.columns

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", monitor.store.columns.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", monitor.store.columns.UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("agency", sa.String(length=40), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", monitor.store.columns.UtcDateTime(), nullable=False),
        sa.Column("sent_at", monitor.store.columns.UtcDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_pending", ["sent_at", "id"], unique=False)

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("created_at", monitor.store.columns.UtcDateTime(), nullable=False),
        sa.Column("revoked_at", monitor.store.columns.UtcDateTime(), nullable=True),
        sa.Column("last_used_at", monitor.store.columns.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "endpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("intervals", sa.JSON(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("expected_ports", sa.JSON(), nullable=False),
        sa.Column("created_at", monitor.store.columns.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agency_id", "host", "port"),
    )
    with op.batch_alter_table("endpoint", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_endpoint_agency_id"), ["agency_id"], unique=False)

    op.create_table(
        "scope",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=253), nullable=False),
        sa.Column("created_at", monitor.store.columns.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agency_id", "value"),
    )
    op.create_table(
        "check_state",
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("check", sa.String(length=40), nullable=False),
        sa.Column("next_due", monitor.store.columns.UtcDateTime(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_expires", monitor.store.columns.UtcDateTime(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_status", sa.String(length=20), nullable=True),
        sa.Column("last_run_at", monitor.store.columns.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["endpoint_id"], ["endpoint.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("endpoint_id", "check"),
    )
    with op.batch_alter_table("check_state", schema=None) as batch_op:
        batch_op.create_index("ix_check_state_due", ["next_due"], unique=False)

    op.create_table(
        "finding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("check", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=400), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("remediation", sa.String(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("kev", sa.Boolean(), nullable=False),
        sa.Column("first_seen", monitor.store.columns.UtcDateTime(), nullable=False),
        sa.Column("last_seen", monitor.store.columns.UtcDateTime(), nullable=False),
        sa.Column("resolved_at", monitor.store.columns.UtcDateTime(), nullable=True),
        sa.Column("accepted_until", monitor.store.columns.UtcDateTime(), nullable=True),
        sa.Column("accepted_reason", sa.String(), nullable=True),
        sa.Column("accepted_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["endpoint_id"], ["endpoint.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("endpoint_id", "key"),
    )
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.create_index("ix_finding_state", ["state", "severity"], unique=False)

    op.create_table(
        "latest_result",
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("check", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", monitor.store.columns.UtcDateTime(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("observations", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(length=400), nullable=True),
        sa.ForeignKeyConstraint(["endpoint_id"], ["endpoint.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("endpoint_id", "check"),
    )
    op.create_table(
        "scan_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("check", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", monitor.store.columns.UtcDateTime(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("observation_count", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=400), nullable=True),
        sa.Column("worker", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["endpoint_id"], ["endpoint.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("scan_run", schema=None) as batch_op:
        batch_op.create_index("ix_scan_run_endpoint", ["endpoint_id", "check", "started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("scan_run", schema=None) as batch_op:
        batch_op.drop_index("ix_scan_run_endpoint")

    op.drop_table("scan_run")
    op.drop_table("latest_result")
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_index("ix_finding_state")

    op.drop_table("finding")
    with op.batch_alter_table("check_state", schema=None) as batch_op:
        batch_op.drop_index("ix_check_state_due")

    op.drop_table("check_state")
    op.drop_table("scope")
    with op.batch_alter_table("endpoint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_endpoint_agency_id"))

    op.drop_table("endpoint")
    op.drop_table("api_token")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_pending")

    op.drop_table("outbox")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
    op.drop_table("agency")

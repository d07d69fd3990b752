"""discovery: candidates per agency, when each source ran, the CT logs' cursors, the agency's auto-register switch

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.store.columns import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN: a batch (copy-and-move) of agency on SQLite would cascade-delete every endpoint
    op.add_column(
        "agency", sa.Column("discovery_auto_register", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.create_table(
        "discovery_candidate",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("agency_id", sa.Integer(), sa.ForeignKey("agency.id", ondelete="CASCADE"), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("exposure", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("first_seen", UtcDateTime(), nullable=False),
        sa.Column("last_seen", UtcDateTime(), nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.UniqueConstraint("agency_id", "host", "port"),
    )
    op.create_index("ix_discovery_candidate_agency_id", "discovery_candidate", ["agency_id"])
    op.create_table(
        "discovery_run",
        sa.Column("agency_id", sa.Integer(), sa.ForeignKey("agency.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("source", sa.String(length=10), primary_key=True),
        sa.Column("next_due", UtcDateTime(), nullable=False),
        sa.Column("last_run_at", UtcDateTime(), nullable=True),
        sa.Column("last_status", sa.String(length=20), nullable=True),
        sa.Column("last_error", sa.String(length=400), nullable=True),
        sa.Column("last_found", sa.Integer(), nullable=False),
    )
    op.create_table(
        "ct_log_cursor",
        sa.Column("log_url", sa.String(length=500), primary_key=True),
        sa.Column("cursor", sa.JSON(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("last_error", sa.String(length=400), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("ct_log_cursor")
    op.drop_table("discovery_run")
    op.drop_index("ix_discovery_candidate_agency_id", table_name="discovery_candidate")
    op.drop_table("discovery_candidate")
    op.drop_column("agency", "discovery_auto_register")

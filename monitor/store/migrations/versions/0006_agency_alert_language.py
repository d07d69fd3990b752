"""agency alert language: the language of an agency's alerts (German by default)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alert_language", sa.String(length=5), nullable=False, server_default="de"))


def downgrade() -> None:
    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.drop_column("alert_language")

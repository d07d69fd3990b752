"""check health: the last scan run's reason when it failed, and what it could not test (the endpoint's status)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("check_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_error", sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column("last_untested", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("check_state", schema=None) as batch_op:
        batch_op.drop_column("last_untested")
        batch_op.drop_column("last_error")

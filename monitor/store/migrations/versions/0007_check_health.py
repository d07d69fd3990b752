"""check health: the last scan run's reason when it failed, and what it could not test (the endpoint's status)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("check_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_error", sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column("last_untested", sa.JSON(), nullable=True))
    # a failed last run's reason from its latest result, where that still is the same run's (same status); what
    # earlier runs could not test was not kept anywhere: it is known from each check's next run on
    state = sa.table(
        "check_state", sa.column("endpoint_id"), sa.column("check"), sa.column("last_status"), sa.column("last_error")
    )
    latest = sa.table(
        "latest_result", sa.column("endpoint_id"), sa.column("check"), sa.column("status"), sa.column("error")
    )
    reason = (
        sa.select(latest.c.error)
        .where(
            latest.c.endpoint_id == state.c.endpoint_id,
            latest.c.check == state.c.check,
            latest.c.status == state.c.last_status,
        )
        .scalar_subquery()
    )
    op.execute(sa.update(state).where(state.c.last_status != "ok").values(last_error=reason))


def downgrade() -> None:
    with op.batch_alter_table("check_state", schema=None) as batch_op:
        batch_op.drop_column("last_untested")
        batch_op.drop_column("last_error")

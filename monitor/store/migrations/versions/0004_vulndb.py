"""vulnerability database of the patch check: KEV entries, NVD CVE records and CPE ranges, EOL cycles

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import monitor.store.columns

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vuln_source",
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("origin", sa.String(length=500), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("updated_at", monitor.store.columns.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )
    op.create_table(
        "vuln_kev",
        sa.Column("cve_id", sa.String(length=20), nullable=False),
        sa.Column("vendor_project", sa.String(length=200), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("date_added", sa.String(length=10), nullable=False),
        sa.Column("due_date", sa.String(length=10), nullable=False),
        sa.Column("required_action", sa.String(), nullable=False),
        sa.Column("known_ransomware", sa.Boolean(), nullable=False),
        sa.Column("short_description", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("cve_id"),
    )
    op.create_table(
        "vuln_cve",
        sa.Column("cve_id", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("vector", sa.String(length=200), nullable=True),
        sa.Column("cvss_version", sa.String(length=5), nullable=True),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("published", sa.String(length=32), nullable=False),
        sa.Column("last_modified", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("cve_id"),
    )
    op.create_table(
        "vuln_cpe_match",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cve_id", sa.String(length=20), nullable=False),
        sa.Column("part", sa.String(length=1), nullable=False),
        sa.Column("vendor", sa.String(length=100), nullable=False),
        sa.Column("product", sa.String(length=150), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("update", sa.String(length=100), nullable=False),
        sa.Column("sw_edition", sa.String(length=100), nullable=False),
        sa.Column("start_including", sa.String(length=100), nullable=True),
        sa.Column("start_excluding", sa.String(length=100), nullable=True),
        sa.Column("end_including", sa.String(length=100), nullable=True),
        sa.Column("end_excluding", sa.String(length=100), nullable=True),
        sa.Column("platform", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("vuln_cpe_match", schema=None) as batch_op:
        batch_op.create_index("ix_vuln_cpe_match_product", ["vendor", "product"], unique=False)
        batch_op.create_index(batch_op.f("ix_vuln_cpe_match_cve_id"), ["cve_id"], unique=False)
    op.create_table(
        "vuln_eol_product",
        sa.Column("product", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("cpes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("product"),
    )
    op.create_table(
        "vuln_eol_cycle",
        sa.Column("product", sa.String(length=60), nullable=False),
        sa.Column("cycle", sa.String(length=40), nullable=False),
        sa.Column("release_date", sa.String(length=10), nullable=True),
        sa.Column("eol", sa.String(length=10), nullable=False),
        sa.Column("latest", sa.String(length=60), nullable=True),
        sa.Column("lts", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("product", "cycle"),
    )


def downgrade() -> None:
    op.drop_table("vuln_eol_cycle")
    op.drop_table("vuln_eol_product")
    with op.batch_alter_table("vuln_cpe_match", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vuln_cpe_match_cve_id"))
        batch_op.drop_index("ix_vuln_cpe_match_product")
    op.drop_table("vuln_cpe_match")
    op.drop_table("vuln_cve")
    op.drop_table("vuln_kev")
    op.drop_table("vuln_source")

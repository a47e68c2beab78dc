"""Unfinished jobs per tenant, kept with every change: the active-job limit reads one row.

Counting a tenant's unfinished jobs on each group of submissions cost a scan of up to the
limit's number of rows (of the whole table, on PostgreSQL, when most jobs have finished).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenant_active",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("active", sa.Integer, nullable=False),
    )
    op.execute(
        "INSERT INTO tenant_active (tenant, active) SELECT tenant, count(*) FROM jobs "
        "WHERE status NOT IN ('succeeded', 'failed', 'cancelled') GROUP BY tenant"
    )


def downgrade() -> None:
    op.drop_table("tenant_active")

"""Cluster health in the database: every process (control loop or --api-only) sees it.

A cluster whose engine does not answer has a row, with when it was first seen down; the
row goes when it answers again.

Revision ID: 0008_health
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from suanli.store.sql.tables import UtcDateTime

revision = "0008_health"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cluster_health",
        sa.Column("cluster", sa.String(64), primary_key=True),
        sa.Column("down_since", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cluster_health")

"""Fair queues: each job's attained service, queue entry, preemption and borrowing.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from suanli.store.sql.tables import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("attained", sa.Float, nullable=False, server_default="0"))
        batch.add_column(sa.Column("queued_at", UtcDateTime))
        batch.add_column(sa.Column("preempt_at", UtcDateTime))
        batch.add_column(
            sa.Column("borrowed", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("preemptions", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("preemptions")
        batch.drop_column("borrowed")
        batch.drop_column("preempt_at")
        batch.drop_column("queued_at")
        batch.drop_column("attained")

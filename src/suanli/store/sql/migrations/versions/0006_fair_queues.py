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
    # Plain ADD COLUMN, not a batch rebuild: rebuilding ``jobs`` on SQLite drops the table
    # that job_events, usage records and the ledger point at, which foreign keys refuse.
    op.add_column("jobs", sa.Column("attained", sa.Float, nullable=False, server_default="0"))
    op.add_column("jobs", sa.Column("queued_at", UtcDateTime))
    op.add_column("jobs", sa.Column("preempt_at", UtcDateTime))
    op.add_column(
        "jobs", sa.Column("borrowed", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.add_column("jobs", sa.Column("preemptions", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    # SQLite >= 3.35 drops a column in place (no rebuild, same reason as above).
    for column in ("preemptions", "borrowed", "preempt_at", "queued_at", "attained"):
        op.drop_column("jobs", column)

"""Jobs that checkpoint: the cluster whose engine holds the checkpoint (its last attempt's).

Revision ID: 0018_checkpoint_cluster
Revises: 0017_model_redemption
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_checkpoint_cluster"
down_revision = "0017_model_redemption"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("checkpoint_cluster", sa.String(64)))


def downgrade() -> None:
    # SQLite >= 3.35 drops a column in place (a batch rebuild would trip job_events' key).
    op.drop_column("jobs", "checkpoint_cluster")

"""Evaluation results: one row per `suanli eval` job (hardware, software, items as JSON).

Revision ID: 0009_eval
Revises: 0008_health
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from suanli.store.sql.tables import UtcDateTime

revision = "0009_eval"
down_revision = "0008_health"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "eval_results",
        sa.Column("job_id", sa.String(32), primary_key=True),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("suites", sa.String(64), nullable=False),
        sa.Column("cluster", sa.String(64), nullable=False),
        sa.Column("pool", sa.String(64), nullable=False),
        sa.Column("model", sa.String(64)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("measured_at", UtcDateTime),
        sa.Column("backend", sa.String(16)),
        sa.Column("device", sa.String(200)),
        sa.Column("driver", sa.String(64)),
        sa.Column("software", sa.Text, nullable=False),
        sa.Column("items", sa.Text, nullable=False),
        sa.Column("item_count", sa.Integer, nullable=False),
        sa.Column("seconds", sa.Float),
        sa.Column("error", sa.Text, nullable=False),
    )
    op.create_index("ix_eval_results_run", "eval_results", ["run_id"])
    op.create_index("ix_eval_results_state", "eval_results", ["state"])
    op.create_index("ix_eval_results_pool", "eval_results", ["cluster", "pool", "created_at"])


def downgrade() -> None:
    op.drop_table("eval_results")

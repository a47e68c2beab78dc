"""API keys' rate limits shared by every gateway process: a token bucket row per key.

Revision ID: 0016_ratelimits
Revises: 0015_usage
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_ratelimits"
down_revision = "0015_usage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_key_buckets",
        sa.Column("key_id", sa.String(12), primary_key=True),
        sa.Column("tokens", sa.Float, nullable=False),
        sa.Column("last", sa.Float, nullable=False),
        sa.Column("granted", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("api_key_buckets")

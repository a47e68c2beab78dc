"""定期兑付: the model-voucher redemptions a programme pays per period.

Revision ID: 0017_model_redemption
Revises: 0016_ratelimits
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from suanli.store.sql.billing_tables import Yuan
from suanli.store.sql.tables import UtcDateTime

revision = "0017_model_redemption"
down_revision = "0016_ratelimits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "period_redemptions",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("programme", sa.String(64), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("company", sa.String(64), nullable=False),
        sa.Column("seller", sa.String(200), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("cap_period", sa.String(16), nullable=False),
        sa.Column("claimed", Yuan, nullable=False),
        sa.Column("redeemed", Yuan, nullable=False),
        sa.Column("withheld_by", sa.String(16)),
        sa.Column("charges", sa.Text, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("entry_key", sa.String(400)),
    )
    op.create_index("ix_period_redemptions_period", "period_redemptions", ["period", "company"])


def downgrade() -> None:
    op.drop_index("ix_period_redemptions_period", table_name="period_redemptions")
    op.drop_table("period_redemptions")

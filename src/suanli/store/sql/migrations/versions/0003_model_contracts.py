"""Model contracts, their per-period redemptions (模型券) and voucher claims.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from suanli.store.sql.billing_tables import Yuan
from suanli.store.sql.tables import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_contracts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("vendor", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("use", sa.String(32), nullable=False),
        sa.Column("domestic", sa.Boolean, nullable=False),
        sa.Column("amount", Yuan, nullable=False),
        sa.Column("signed_on", sa.Date, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_model_contracts_tenant", "model_contracts", ["tenant"])
    op.create_table(
        "model_redemptions",
        sa.Column("key", sa.String(120), primary_key=True),
        sa.Column(
            "contract_id", sa.String(32), sa.ForeignKey("model_contracts.id"), nullable=False
        ),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("completed", Yuan, nullable=False),
        sa.Column("gross", Yuan, nullable=False),
        sa.Column("deduction", Yuan, nullable=False),
        sa.Column("programme", sa.String(64)),
        sa.Column("programme_version", sa.Integer),
        sa.Column("cap_period", sa.String(16)),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("settled_at", UtcDateTime, nullable=False),
        sa.Column("entry_key", sa.String(200), unique=True),
    )
    op.create_index(
        "ix_model_redemptions_contract",
        "model_redemptions",
        ["contract_id", "period"],
        unique=True,
    )
    op.create_index("ix_model_redemptions_tenant", "model_redemptions", ["tenant", "period"])
    op.create_table(
        "voucher_claims",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("programme", sa.String(64), primary_key=True),
        sa.Column("claimed_at", UtcDateTime, nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("voucher_claims")
    op.drop_table("model_redemptions")
    op.drop_table("model_contracts")

"""Providers' purchases of domestic AI-chip servers and their subsidies.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from suanli.store.sql.billing_tables import Yuan
from suanli.store.sql.tables import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_purchases",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("accelerator", sa.String(64), nullable=False),
        sa.Column("servers", sa.Integer, nullable=False),
        sa.Column("amount", Yuan, nullable=False),
        sa.Column("listed_cluster", sa.String(64)),
        sa.Column("contract_on", sa.Date, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_server_purchases_provider", "server_purchases", ["provider"])
    op.create_index("ix_server_purchases_project", "server_purchases", ["project"])
    op.create_table(
        "provider_subsidies",
        sa.Column("key", sa.String(120), primary_key=True),
        sa.Column(
            "purchase_id", sa.String(32), sa.ForeignKey("server_purchases.id"), nullable=False
        ),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("gross", Yuan, nullable=False),
        sa.Column("deduction", Yuan, nullable=False),
        sa.Column("listed", sa.Boolean, nullable=False),
        sa.Column("programme", sa.String(64)),
        sa.Column("programme_version", sa.Integer),
        sa.Column("cap_period", sa.String(16)),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("settled_at", UtcDateTime, nullable=False),
        sa.Column("entry_key", sa.String(200), unique=True),
    )
    op.create_index(
        "ix_provider_subsidies_purchase", "provider_subsidies", ["purchase_id"], unique=True
    )
    op.create_index("ix_provider_subsidies_provider", "provider_subsidies", ["provider"])


def downgrade() -> None:
    op.drop_table("provider_subsidies")
    op.drop_table("server_purchases")

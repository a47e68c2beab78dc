"""Model services: metered requests (once per request id) and token settlements.

Revision ID: 0015_usage
Revises: 0014_apikeys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from suanli.store.sql.billing_tables import Yuan
from suanli.store.sql.tables import UtcDateTime

revision = "0015_usage"
down_revision = "0014_apikeys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_events",
        sa.Column("request_id", sa.String(128), primary_key=True),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("minute", UtcDateTime, nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("caller", sa.String(64), nullable=False),
        sa.Column("api_key_id", sa.String(64)),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("service_name", sa.String(128), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("model", sa.String(200)),
        sa.Column("prompt_tokens", sa.BigInteger, nullable=False),
        sa.Column("completion_tokens", sa.BigInteger, nullable=False),
        sa.Column("counted_by", sa.String(8), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("payer", sa.String(8), nullable=False),
        sa.Column("input_per_million", sa.String(40), nullable=False),
        sa.Column("output_per_million", sa.String(40), nullable=False),
        sa.Column("domestic", sa.Boolean, nullable=False),
        sa.Column("base_model", sa.String(200)),
        sa.Column("billable", sa.Boolean, nullable=False),
        sa.Column("settlement_key", sa.String(200)),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_usage_events_caller", "usage_events", ["caller", "minute"])
    op.create_index("ix_usage_events_service", "usage_events", ["service_id", "minute"])
    op.create_index("ix_usage_events_owner", "usage_events", ["owner", "minute"])
    op.create_index("ix_usage_events_unsettled", "usage_events", ["billable", "settlement_key"])
    op.create_table(
        "token_settlements",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("service_name", sa.String(128), nullable=False),
        sa.Column("caller", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("requests", sa.Integer, nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger, nullable=False),
        sa.Column("completion_tokens", sa.BigInteger, nullable=False),
        sa.Column("cost_to_date", sa.String(60), nullable=False),
        sa.Column("billed_before", Yuan, nullable=False),
        sa.Column("gross", Yuan, nullable=False),
        sa.Column("deduction", Yuan, nullable=False),
        sa.Column("net", Yuan, nullable=False),
        sa.Column("domestic", sa.Boolean, nullable=False),
        sa.Column("base_model", sa.String(200)),
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("settled_at", UtcDateTime, nullable=False),
        sa.Column("entry_key", sa.String(200)),
    )
    op.create_index(
        "ix_token_settlements_group",
        "token_settlements",
        ["service_id", "caller", "month", "seq"],
        unique=True,
    )
    op.create_index("ix_token_settlements_caller", "token_settlements", ["caller", "month"])
    op.create_index("ix_token_settlements_owner", "token_settlements", ["owner", "month"])


def downgrade() -> None:
    op.drop_table("token_settlements")
    op.drop_table("usage_events")

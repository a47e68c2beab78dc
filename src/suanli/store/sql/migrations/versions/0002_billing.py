"""Tenants on jobs; usage records, settlements and the double-entry ledger.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from suanli.store.sql.billing_tables import Yuan
from suanli.store.sql.tables import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "jobs", sa.Column("tenant", sa.String(64), nullable=False, server_default="demo")
    )
    op.create_index("ix_jobs_tenant", "jobs", ["tenant"])
    op.create_table(
        "usage_records",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("job_id", sa.String(32), sa.ForeignKey("jobs.id"), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("cluster", sa.String(64), nullable=False),
        sa.Column("pool", sa.String(64), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("accelerator", sa.String(64), nullable=False),
        sa.Column("domestic", sa.Boolean, nullable=False),
        sa.Column("accelerators", sa.Integer, nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("ended_at", UtcDateTime, nullable=False),
        sa.Column("project", sa.String(64)),
        sa.Column("price_per_accelerator_hour", sa.String(32), nullable=False),
        sa.Column("metered_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_usage_records_job", "usage_records", ["job_id", "attempt"], unique=True)
    op.create_table(
        "settlements",
        sa.Column(
            "usage_key", sa.String(80), sa.ForeignKey("usage_records.key"), primary_key=True
        ),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("domestic", sa.Boolean, nullable=False),
        sa.Column("gross", Yuan, nullable=False),
        sa.Column("deduction", Yuan, nullable=False),
        sa.Column("net", Yuan, nullable=False),
        sa.Column("programme", sa.String(64)),
        sa.Column("programme_version", sa.Integer),
        sa.Column("cap_period", sa.String(16)),
        sa.Column("project", sa.String(64)),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("settled_at", UtcDateTime, nullable=False),
        sa.Column("entry_key", sa.String(200), unique=True),
    )
    op.create_index("ix_settlements_tenant_month", "settlements", ["tenant", "month"])
    op.create_index("ix_settlements_programme", "settlements", ["programme"])
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("memo", sa.Text, nullable=False),
        sa.Column("reverses", sa.String(200), unique=True),
        sa.Column("tags", sa.Text, nullable=False),
    )
    op.create_table(
        "ledger_postings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entry_id", sa.Integer, sa.ForeignKey("ledger_entries.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("scope", sa.String(128), nullable=False),
        sa.Column("amount", Yuan, nullable=False),
    )
    op.create_index("ix_ledger_postings_entry", "ledger_postings", ["entry_id"])
    op.create_index("ix_ledger_postings_account", "ledger_postings", ["kind", "owner", "scope"])
    op.create_table(
        "ledger_balances",
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("owner", sa.String(128), primary_key=True),
        sa.Column("scope", sa.String(128), primary_key=True),
        sa.Column("balance", Yuan, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ledger_balances")
    op.drop_table("ledger_postings")
    op.drop_table("ledger_entries")
    op.drop_table("settlements")
    op.drop_table("usage_records")
    op.drop_index("ix_jobs_tenant", "jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("tenant")

"""What each programme drew on each charge (stacking), and claims with approval.

Pools and caps were summed from each charge's single programme column; once programmes
of different issuers stack on one charge, each must be counted at its own amount, so
every applied programme gets a row in ``voucher_draws`` (back-filled here from the one
programme each stored charge had). ``programme_claims`` records claims of programmes
with a claim step: contract, evidence, approval and expiry. ``model_contracts.facts``
holds what programmes ask of the model bought (e.g. its registration, 网信办备案).

Revision ID: 0008_vouchers
Revises: 0008_console
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from suanli.store.sql.billing_tables import Yuan
from suanli.store.sql.tables import UtcDateTime

revision = "0008_vouchers"
down_revision = "0008_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voucher_draws",
        sa.Column("charge_key", sa.String(200), primary_key=True),
        sa.Column("programme", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("cap_period", sa.String(16), nullable=False),
        sa.Column("project", sa.String(200)),
        sa.Column("claim_id", sa.String(64)),
        sa.Column("amount", Yuan, nullable=False),
    )
    op.create_index("ix_voucher_draws_programme", "voucher_draws", ["programme", "on_date"])
    # Before stacking a charge drew on one programme only: its row is the charge's own.
    for table, key, owner, project, source in (
        ("settlements", "usage_key", "tenant", "project", "settlement"),
        ("model_redemptions", "key", "tenant", "NULL", "redemption"),
        ("provider_subsidies", "key", "provider", "project", "subsidy"),
    ):
        op.execute(
            "INSERT INTO voucher_draws (charge_key, programme, version, source, owner, "  # noqa: S608
            "on_date, cap_period, project, claim_id, amount) "
            f"SELECT {key}, programme, COALESCE(programme_version, 1), '{source}', {owner}, "
            f"on_date, COALESCE(cap_period, ''), {project}, NULL, deduction FROM {table} "
            "WHERE programme IS NOT NULL"
        )
    op.create_table(
        "programme_claims",
        sa.Column("claim_id", sa.String(64), primary_key=True),
        sa.Column("programme", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("contract_ref", sa.String(200), nullable=False),
        sa.Column("contract_amount", Yuan, nullable=False),
        sa.Column("signed_on", sa.Date, nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("claimed_on", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("approved_amount", Yuan, nullable=False),
        sa.Column("decided_on", sa.Date),
        sa.Column("expires_on", sa.Date),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_programme_claims_tenant", "programme_claims", ["tenant", "programme"])
    # facts of the model bought that programmes ask about (e.g. model_registered: 网信办备案)
    op.add_column(
        "model_contracts", sa.Column("facts", sa.Text, nullable=False, server_default="{}")
    )


def downgrade() -> None:
    op.drop_column("model_contracts", "facts")
    op.drop_table("programme_claims")
    op.drop_index("ix_voucher_draws_programme", "voucher_draws")
    op.drop_table("voucher_draws")

"""Tenants and their eligibility attributes in the database (the tenants file only seeds them),
so the operator adds a tenant through the API or the console without a restart.

Revision ID: 0008_console
Revises: 0009_eval
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from suanli.store.sql.tables import UtcDateTime

revision = "0008_console"
down_revision = "0009_eval"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tenants")

"""Model services: services, revisions, replicas, and the gateways' load windows.

Revision ID: 0013_services
Revises: 0009_images
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from suanli.store.sql.tables import UtcDateTime

revision = "0013_services"
down_revision = "0009_images"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "services",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("latest", sa.Integer, nullable=False),
        sa.Column("desired", sa.Integer, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("wanted_at", UtcDateTime()),
        sa.Column("deleting", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("owner", "name", name="uq_services_owner_name"),
    )
    op.create_table(
        "service_revisions",
        sa.Column("service_id", sa.String(32), primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "service_replicas",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("service_id", sa.String(32), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("cluster", sa.String(64), nullable=False),
        sa.Column("url", sa.String(512), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("ready_at", UtcDateTime()),
        sa.Column("drain_at", UtcDateTime()),
        sa.Column("floor", sa.Boolean, nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
    )
    op.create_index("ix_service_replicas_service_id", "service_replicas", ["service_id"])
    op.create_table(
        "service_load",
        sa.Column("service_id", sa.String(32), primary_key=True),
        sa.Column("gateway", sa.String(128), primary_key=True),
        sa.Column("end_at", UtcDateTime(), primary_key=True),
        sa.Column("start_at", UtcDateTime(), nullable=False),
        sa.Column("in_flight", sa.Integer, nullable=False),
        sa.Column("requests", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
        sa.Column("waiting", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("service_load")
    op.drop_index("ix_service_replicas_service_id", "service_replicas")
    op.drop_table("service_replicas")
    op.drop_table("service_revisions")
    op.drop_table("services")

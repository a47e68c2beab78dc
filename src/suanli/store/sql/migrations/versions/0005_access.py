"""Organisations, users, API tokens, the audit log; jobs.cluster for providers' views.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from suanli.store.sql.tables import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column(
            "organisation", sa.String(64), sa.ForeignKey("organisations.name"), nullable=False
        ),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_users_organisation", "users", ["organisation"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("user", sa.String(64), sa.ForeignKey("users.name"), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.String(64), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("revoked_at", UtcDateTime),
    )
    op.create_index("ix_api_tokens_user", "api_tokens", ["user"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("organisation", sa.String(64), nullable=False),
        sa.Column("token_id", sa.String(16), nullable=False),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("remote", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_index("ix_audit_events_actor", "audit_events", ["actor"])
    # The cluster a job is placed on, so a provider's view is one indexed query.
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("cluster", sa.String(64)))
    op.create_index("ix_jobs_cluster", "jobs", ["cluster"])
    conn = op.get_bind()
    placed = conn.execute(sa.text("SELECT id, placement FROM jobs WHERE placement IS NOT NULL"))
    for job_id, placement in placed.all():
        cluster = json.loads(placement).get("cluster")
        conn.execute(
            sa.text("UPDATE jobs SET cluster = :c WHERE id = :i"), {"c": cluster, "i": job_id}
        )


def downgrade() -> None:
    op.drop_index("ix_jobs_cluster", "jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("cluster")
    op.drop_table("audit_events")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("organisations")

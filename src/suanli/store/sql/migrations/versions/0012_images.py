"""Jobs in container images: the digest the current attempt's image resolved to.

Revision ID: 0009_images
Revises: 0008_vouchers
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_images"
down_revision = "0008_vouchers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("image_digest", sa.String(80)))


def downgrade() -> None:
    # SQLite >= 3.35 drops a column in place (a batch rebuild would trip job_events' key).
    op.drop_column("jobs", "image_digest")

"""SQL table of API keys (0014_apikeys): one row per key, the secret's hash only."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, String, Table, Text

from suanli.store.sql.tables import UtcDateTime, metadata

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(12), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("name", String(64), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("services", Text, nullable=False),  # JSON list of "owner/name"; [] for all
    Column("rate_per_s", Float),
    Column("burst", Integer),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("expires_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    Index("ix_api_keys_tenant", "tenant", "created_at"),
)

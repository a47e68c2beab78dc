"""SQL table of the API keys' shared rate-limit buckets (0016_ratelimits): a row per key."""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, String, Table

from suanli.store.sql.tables import metadata

api_key_buckets = Table(
    "api_key_buckets",
    metadata,
    Column("key_id", String(12), primary_key=True),
    Column("tokens", Float, nullable=False),  # left after the last take
    Column("last", Float, nullable=False),  # wall-clock seconds of the last take
    Column("granted", Integer, nullable=False),  # what the last take got (read back)
)

"""SQL table of tenants and their eligibility attributes (migration 0008_console, file 0010_console_tenants.py)."""

from __future__ import annotations

from sqlalchemy import Column, String, Table, Text

from suanli.store.sql.tables import UtcDateTime, metadata

tenants = Table(
    "tenants",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("attributes", Text, nullable=False),  # JSON object: name -> string or boolean
    Column("created_at", UtcDateTime, nullable=False),
)

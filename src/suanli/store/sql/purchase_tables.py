"""SQL tables for providers' server purchases and their subsidies (0004).

A subsidy row is the stored decision for one purchase, written before the ledger entry
it implies (``entry_key``), exactly like a compute settlement or a 模型券 redemption.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, ForeignKey, Index, Integer, String, Table, Text

from suanli.store.sql.billing_tables import Yuan
from suanli.store.sql.tables import UtcDateTime, metadata

server_purchases = Table(
    "server_purchases",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("provider", String(64), nullable=False),
    Column("project", String(200), nullable=False),
    Column("accelerator", String(64), nullable=False),
    Column("servers", Integer, nullable=False),
    Column("amount", Yuan, nullable=False),  # the domestic AI-chip server part of the contract
    Column("listed_cluster", String(64)),  # None: not listed on the platform
    Column("contract_on", Date, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Index("ix_server_purchases_provider", "provider"),
    Index("ix_server_purchases_project", "project"),
)

provider_subsidies = Table(
    "provider_subsidies",
    metadata,
    Column("key", String(120), primary_key=True),  # purchase:<id>
    Column("purchase_id", String(32), ForeignKey("server_purchases.id"), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("project", String(200), nullable=False),
    Column("on_date", Date, nullable=False),
    Column("gross", Yuan, nullable=False),
    Column("deduction", Yuan, nullable=False),  # the subsidy
    Column("listed", Boolean, nullable=False),
    Column("programme", String(64)),
    Column("programme_version", Integer),
    Column("cap_period", String(16)),
    Column("decision", Text, nullable=False),
    Column("settled_at", UtcDateTime, nullable=False),
    Column("entry_key", String(200), unique=True),  # None: nothing to post (0.00)
    Index("ix_provider_subsidies_purchase", "purchase_id", unique=True),
    Index("ix_provider_subsidies_provider", "provider"),
)

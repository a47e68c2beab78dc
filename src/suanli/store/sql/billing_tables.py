"""SQL tables for metering, settlement and the ledger (migration 0002).

Money columns are exact: ``NUMERIC(20, 2)`` on PostgreSQL and the decimal's text on
SQLite (whose NUMERIC is a binary float), never a float anywhere. Ledger tables are
append-only except for the running balances, which ``ledger verify`` re-derives.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from suanli.billing.money import exact, is_fen
from suanli.store.sql.tables import UtcDateTime, metadata


class Yuan(TypeDecorator[Decimal]):
    """An exact fen amount: NUMERIC(20, 2) on PostgreSQL, its decimal text elsewhere."""

    impl = String(32)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(20, 2, asdecimal=True))
        return dialect.type_descriptor(String(32))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = exact(value)
        if not is_fen(amount):
            raise ValueError(f"not a fen amount: {value}")
        return amount if dialect.name == "postgresql" else f"{amount:.2f}"

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(Decimal("0.01"))


usage_records = Table(
    "usage_records",
    metadata,
    Column("key", String(80), primary_key=True),  # <job>/a<attempt>: one per attempt
    Column("job_id", String(32), ForeignKey("jobs.id"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("cluster", String(64), nullable=False),
    Column("pool", String(64), nullable=False),
    Column("region", String(64), nullable=False),
    Column("accelerator", String(64), nullable=False),
    Column("domestic", Boolean, nullable=False),
    Column("accelerators", Integer, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=False),
    Column("project", String(64)),
    Column("price_per_accelerator_hour", String(32), nullable=False),  # exact text, 4 places
    Column("metered_at", UtcDateTime, nullable=False),
    Index("ix_usage_records_job", "job_id", "attempt", unique=True),
)

settlements = Table(
    "settlements",
    metadata,
    Column("usage_key", String(80), ForeignKey("usage_records.key"), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("month", String(7), nullable=False),  # YYYY-MM, China time
    Column("on_date", Date, nullable=False),
    Column("domestic", Boolean, nullable=False),
    Column("gross", Yuan, nullable=False),
    Column("deduction", Yuan, nullable=False),
    Column("net", Yuan, nullable=False),
    Column("programme", String(64)),
    Column("programme_version", Integer),
    Column("cap_period", String(16)),
    Column("project", String(64)),
    Column("decision", Text, nullable=False),  # the whole Deduction, re-rendered per reader
    Column("settled_at", UtcDateTime, nullable=False),
    Column("entry_key", String(200), unique=True),  # None: nothing to post (a 0.00 line)
    Index("ix_settlements_tenant_month", "tenant", "month"),
    Index("ix_settlements_programme", "programme"),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, unique=True),  # the idempotency key
    Column("at", UtcDateTime, nullable=False),
    Column("memo", Text, nullable=False),
    Column("reverses", String(200), unique=True),  # an entry is reversed at most once
    Column("tags", Text, nullable=False),
)

ledger_postings = Table(
    "ledger_postings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entry_id", Integer, ForeignKey("ledger_entries.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("owner", String(128), nullable=False),
    Column("scope", String(128), nullable=False),
    Column("amount", Yuan, nullable=False),
    Index("ix_ledger_postings_entry", "entry_id"),
    Index("ix_ledger_postings_account", "kind", "owner", "scope"),
)

ledger_balances = Table(
    "ledger_balances",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column("owner", String(128), primary_key=True),
    Column("scope", String(128), primary_key=True),
    Column("balance", Yuan, nullable=False),
)

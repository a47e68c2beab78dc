"""SQL tables for model contracts, their per-period redemptions and voucher claims (0003).

A redemption row is the stored decision for one contract and one period, written before
the ledger entry it implies (``entry_key``), exactly like a compute settlement.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, ForeignKey, Index, Integer, String, Table, Text

from suanli.store.sql.billing_tables import Yuan
from suanli.store.sql.tables import UtcDateTime, metadata

model_contracts = Table(
    "model_contracts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("vendor", String(200), nullable=False),
    Column("model", String(200), nullable=False),
    Column("use", String(32), nullable=False),
    Column("domestic", Boolean, nullable=False),
    Column("amount", Yuan, nullable=False),
    Column("signed_on", Date, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("facts", Text, nullable=False, server_default="{}"),  # JSON (0008)
    Index("ix_model_contracts_tenant", "tenant"),
)

model_redemptions = Table(
    "model_redemptions",
    metadata,
    Column("key", String(120), primary_key=True),  # model:<contract>:<period>
    Column("contract_id", String(32), ForeignKey("model_contracts.id"), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("period", String(7), nullable=False),  # YYYY-MM
    Column("on_date", Date, nullable=False),
    Column("completed", Yuan, nullable=False),  # what the company completed in the period
    Column("gross", Yuan, nullable=False),  # the part of it the contract amount still covers
    Column("deduction", Yuan, nullable=False),
    Column("programme", String(64)),
    Column("programme_version", Integer),
    Column("cap_period", String(16)),
    Column("decision", Text, nullable=False),
    Column("settled_at", UtcDateTime, nullable=False),
    Column("entry_key", String(200), unique=True),  # None: nothing to post (0.00)
    Index("ix_model_redemptions_contract", "contract_id", "period", unique=True),
    Index("ix_model_redemptions_tenant", "tenant", "period"),
)

voucher_claims = Table(
    "voucher_claims",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("programme", String(64), primary_key=True),
    Column("claimed_at", UtcDateTime, nullable=False),
    Column("recorded_by", String(200), nullable=False),
)

# 定期兑付 (migration 0017): one row per programme, period, company, seller and run, written
# before its ledger entry (``entry_key``; NULL when a run redeems nothing); ``charges``
# lists the deductions it covers (JSON), so a later run of the period covers only the rest.
period_redemptions = Table(
    "period_redemptions",
    metadata,
    Column("key", String(400), primary_key=True),
    Column("programme", String(64), nullable=False),
    Column("period", String(7), nullable=False),
    Column("company", String(64), nullable=False),
    Column("seller", String(200), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("year", Integer, nullable=False),
    Column("cap_period", String(16), nullable=False),
    Column("claimed", Yuan, nullable=False),
    Column("redeemed", Yuan, nullable=False),
    Column("withheld_by", String(16)),
    Column("charges", Text, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("entry_key", String(400)),
    Index("ix_period_redemptions_period", "period", "company"),
)

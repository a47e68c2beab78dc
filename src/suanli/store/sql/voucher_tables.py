"""SQL tables for what each programme drew on each charge, and claims with approval (0008).

``voucher_draws`` holds one row per programme applied to a charge (a compute
settlement, a 模型券 redemption, a provider subsidy): several rows when programmes of
different issuers stack. Pools, company caps, project caps and claims are summed from
it, so each programme is counted at its own amount, never at the charge's total. It is
written in the same transaction as the charge's stored decision.

``programme_claims`` holds claims of programmes with a claim step (claim → approval →
redemption): the contract claimed against, the evidence, the decision and its expiry.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, Index, Integer, String, Table, Text

from suanli.store.sql.billing_tables import Yuan
from suanli.store.sql.tables import UtcDateTime, metadata

voucher_draws = Table(
    "voucher_draws",
    metadata,
    Column("charge_key", String(200), primary_key=True),  # the settlement / redemption key
    Column("programme", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("source", String(16), nullable=False),  # settlement | redemption | subsidy
    Column("owner", String(64), nullable=False),  # the company whose cap it counts against
    Column("on_date", Date, nullable=False),  # decides the pool's year
    Column("cap_period", String(16), nullable=False),
    Column("project", String(200)),
    Column("claim_id", String(64)),
    Column("amount", Yuan, nullable=False),
    Index("ix_voucher_draws_programme", "programme", "on_date"),
)

programme_claims = Table(
    "programme_claims",
    metadata,
    Column("claim_id", String(64), primary_key=True),
    Column("programme", String(64), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("contract_ref", String(200), nullable=False),
    Column("contract_amount", Yuan, nullable=False),
    Column("signed_on", Date, nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("evidence", Text, nullable=False),  # JSON list of evidence kinds
    Column("claimed_on", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("approved_amount", Yuan, nullable=False),
    Column("decided_on", Date),
    Column("expires_on", Date),
    Column("recorded_at", UtcDateTime, nullable=False),
    Index("ix_programme_claims_tenant", "tenant", "programme"),
)

"""SQL tables for metered model-service requests and token settlements (migration 0015).

``usage_events`` keeps each answered request once (its request id is the key) with the
price it was answered at; ``settlement_key`` names the token settlement that billed it
(NULL: not billed yet, or not billable). ``token_settlements`` holds each settlement's
line, the voucher decision (JSON, as ``settlements.decision``) and its ledger key; its
programmes' draws go to ``voucher_draws`` (source ``tokens``) in the same transaction.
Exact decimals that are not whole fen (prices per million, a month's exact cost) are
kept as their decimal text.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, Index, Integer, String, Table, Text

from suanli.store.sql.billing_tables import Yuan
from suanli.store.sql.tables import UtcDateTime, metadata

usage_events = Table(
    "usage_events",
    metadata,
    Column("request_id", String(128), primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("minute", UtcDateTime, nullable=False),
    Column("month", String(7), nullable=False),
    Column("caller", String(64), nullable=False),
    Column("api_key_id", String(64)),
    Column("service_id", String(64), nullable=False),
    Column("service_name", String(128), nullable=False),
    Column("owner", String(64), nullable=False),
    Column("model", String(200)),
    Column("prompt_tokens", BigInteger, nullable=False),
    Column("completion_tokens", BigInteger, nullable=False),
    Column("counted_by", String(8), nullable=False),
    Column("status", Integer, nullable=False),
    Column("payer", String(8), nullable=False),
    Column("input_per_million", String(40), nullable=False),
    Column("output_per_million", String(40), nullable=False),
    Column("domestic", Boolean, nullable=False),
    Column("base_model", String(200)),
    Column("billable", Boolean, nullable=False),
    Column("settlement_key", String(200)),
    Column("recorded_at", UtcDateTime, nullable=False),
    Index("ix_usage_events_caller", "caller", "minute"),
    Index("ix_usage_events_service", "service_id", "minute"),
    Index("ix_usage_events_owner", "owner", "minute"),
    Index("ix_usage_events_unsettled", "billable", "settlement_key"),
)

token_settlements = Table(
    "token_settlements",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("service_id", String(64), nullable=False),
    Column("service_name", String(128), nullable=False),
    Column("caller", String(64), nullable=False),
    Column("owner", String(64), nullable=False),
    Column("month", String(7), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("requests", Integer, nullable=False),
    Column("prompt_tokens", BigInteger, nullable=False),
    Column("completion_tokens", BigInteger, nullable=False),
    Column("cost_to_date", String(60), nullable=False),
    Column("billed_before", Yuan, nullable=False),
    Column("gross", Yuan, nullable=False),
    Column("deduction", Yuan, nullable=False),
    Column("net", Yuan, nullable=False),
    Column("domestic", Boolean, nullable=False),
    Column("base_model", String(200)),
    Column("on_date", Date, nullable=False),
    Column("decision", Text, nullable=False),
    Column("settled_at", UtcDateTime, nullable=False),
    Column("entry_key", String(200)),
    Index("ix_token_settlements_group", "service_id", "caller", "month", "seq", unique=True),
    Index("ix_token_settlements_caller", "caller", "month"),
    Index("ix_token_settlements_owner", "owner", "month"),
)

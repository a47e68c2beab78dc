"""Wire models of /api/v1/voucher-redemptions: 定期兑付 runs and their report."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from suanli.schemas.api import Wire, Yuan

PERIOD_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


class RedemptionRunRequest(Wire):
    period: str = Field(pattern=PERIOD_PATTERN, examples=["2026-11"])


class PeriodRedemptionResponse(Wire):
    key: str  # the ledger entry's idempotency key (posted only when redeemed > 0.00)
    programme: str
    period: str
    company: str
    seller: str
    run: int  # 1 for the period's first run; later runs cover deductions settled late
    claimed: Yuan  # what the covered deductions add up to
    redeemed: Yuan  # what the programme pays
    withheld: Yuan  # claimed - redeemed: over the company cap or the pool
    withheld_by: str | None  # tenant_cap | pool
    deductions: int  # how many deductions it covers
    at: dt.datetime
    posted: bool
    why: str


class RedemptionReportResponse(Wire):
    period: str | None
    company: str | None
    redemptions: list[PeriodRedemptionResponse]
    claimed: Yuan
    redeemed: Yuan
    withheld: Yuan
    pending: Yuan | None  # one period: its deductions no run covers yet
    new: int | None = None  # a run: the redemptions it stored
    posted: int | None = None  # a run: the entries it posted

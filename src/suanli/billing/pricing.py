"""Pricing: accelerator-seconds x the pool's price per accelerator-hour -> a gross bill line."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from suanli.billing.metering import UsageRecord
from suanli.billing.money import div, exact, mul, round_fen

SECONDS_PER_HOUR = 3600


def gross_for(accelerator_seconds: int, price_per_accelerator_hour: Decimal) -> Decimal:
    """Yuan for ``accelerator_seconds`` at an hourly price, rounded once to the fen.

    The product is formed exactly and divided once, so 1 s and 3600 x 1 s of usage
    differ only by the final rounding, never by an intermediate one.
    """
    if accelerator_seconds < 0:
        raise ValueError("accelerator_seconds must be >= 0")
    price = exact(price_per_accelerator_hour)
    if price < 0:
        raise ValueError("a price cannot be negative")
    return round_fen(div(mul(Decimal(accelerator_seconds), price), Decimal(SECONDS_PER_HOUR)))


@dataclass(frozen=True, slots=True)
class BillLine:
    """One priced job attempt: the gross amount before any voucher."""

    usage: UsageRecord
    price_per_accelerator_hour: Decimal
    gross: Decimal

    @property
    def key(self) -> str:
        return self.usage.key

    @property
    def tenant(self) -> str:
        return self.usage.tenant

    @property
    def domestic(self) -> bool:
        return self.usage.domestic

    @property
    def month(self) -> str:
        return self.usage.month

    @property
    def on(self) -> dt.date:
        return self.usage.on

    @property
    def accelerator_hours(self) -> Decimal:
        """Accelerator-hours, exact (for domestic-share reports, never for money)."""
        return div(Decimal(self.usage.accelerator_seconds), Decimal(SECONDS_PER_HOUR))


def price_usage(usage: UsageRecord, price_per_accelerator_hour: Decimal) -> BillLine:
    """Price one attempt at its pool's hourly price (yuan per accelerator-hour)."""
    gross = gross_for(usage.accelerator_seconds, price_per_accelerator_hour)
    return BillLine(usage, exact(price_per_accelerator_hour), gross)

"""Usage per job attempt: accelerator-seconds from the engine's real start and end.

Partial hours are billed by the second: the duration is cut to whole seconds (a
fraction of a second is never billed; engines report to the second anyway) and
multiplied by the accelerators held. A record belongs to the China-time (UTC+8) month
and year in which the attempt *ended*, because that is when it can be settled and
which year's voucher caps and pools it draws on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# China has no daylight saving time, so a fixed offset is exact and needs no tz database.
BILLING_TZ = dt.timezone(dt.timedelta(hours=8), "CST")


def local_date(at: dt.datetime) -> dt.date:
    """The calendar date of ``at`` in China time (the date policies and invoices use)."""
    return at.astimezone(BILLING_TZ).date()


def month_of(at: dt.datetime) -> str:
    """The billing month of ``at``, ``YYYY-MM`` in China time."""
    return local_date(at).strftime("%Y-%m")


def usage_key(job_id: str, attempt: int) -> str:
    """The key of one attempt's usage: ``<job>/a<attempt>``."""
    return f"{job_id}/a{attempt}"


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """What one attempt of one job used, as told by the engine (the meter reading)."""

    job_id: str
    attempt: int
    tenant: str
    provider: str
    cluster: str
    pool: str
    region: str
    accelerator: str
    domestic: bool
    accelerators: int
    started_at: dt.datetime
    ended_at: dt.datetime
    project: str | None = None

    def __post_init__(self) -> None:
        if self.started_at.tzinfo is None or self.ended_at.tzinfo is None:
            raise ValueError("usage times must be timezone-aware")
        if self.ended_at < self.started_at:
            raise ValueError(f"{self.key}: ended_at is before started_at")
        if self.accelerators < 1 or self.attempt < 1:
            raise ValueError(f"{self.key}: accelerators and attempt must be >= 1")

    @property
    def key(self) -> str:
        """Stable id of this attempt's usage; the idempotency root of its bill line."""
        return usage_key(self.job_id, self.attempt)

    @property
    def seconds(self) -> int:
        """Whole seconds the attempt ran (fractions dropped, never rounded up)."""
        return int((self.ended_at - self.started_at).total_seconds())

    @property
    def accelerator_seconds(self) -> int:
        """Seconds x accelerators held: the quantity that is priced."""
        return self.seconds * self.accelerators

    @property
    def month(self) -> str:
        return month_of(self.ended_at)

    @property
    def on(self) -> dt.date:
        """The China-time date the attempt ended; decides validity windows and cap years."""
        return local_date(self.ended_at)

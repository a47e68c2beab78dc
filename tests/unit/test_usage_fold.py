"""One fold for model-service usage: requests → minutes (memory store) and minutes →
hours, days, months (the usage report) give the same sums, the cost exact."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from suanli.domain.serving import UsageEvent
from suanli.service.usage_report import fold
from suanli.store.usage import PricedUsage, total_rows

T0 = dt.datetime(2026, 11, 23, 15, 58, 30, tzinfo=dt.UTC)  # 23:58 China time: days change


def priced(i: int) -> PricedUsage:
    event = UsageEvent(
        request_id=f"r-{i}",
        at=T0 + dt.timedelta(seconds=37 * i),
        caller="acme" if i % 3 else "beta",
        api_key_id=None if i % 5 == 0 else f"key-{i % 2}",
        service_id=f"svc-{i % 2}",
        service_name=f"svc-{i % 2}",
        owner="pub",
        model="m",
        prompt_tokens=100 + i,
        completion_tokens=7 * i,
        counted_by="server",
        status=200,
    )
    return PricedUsage(event, "caller", Decimal("3.3"), Decimal("7.7"), True, "m", T0)


def test_minutes_then_days_equal_the_requests_summed_per_day() -> None:
    found = [priced(i) for i in range(400)]  # about 4 hours, across midnight China time
    minutes = total_rows(found)
    assert sum(t.requests for t in minutes) == 400
    assert len({(t.minute, t.caller, t.api_key_id, t.service_id) for t in minutes}) == len(minutes)
    days = fold(minutes, "day")
    assert {r.period for r in days} == {"2026-11-23", "2026-11-24"}
    for day in ("2026-11-23", "2026-11-24"):
        mine = [u for u in found if _china_day(u) == day]
        rows = [r for r in days if r.period == day]
        assert sum(r.requests for r in rows) == len(mine)
        assert sum(r.prompt_tokens for r in rows) == sum(u.event.prompt_tokens for u in mine)
        assert sum((r.cost for r in rows), Decimal(0)) == sum((u.cost for u in mine), Decimal(0))
    assert fold(minutes, "minute") == fold(total_rows(list(reversed(found))), "minute")


def _china_day(u: PricedUsage) -> str:
    return (u.event.at + dt.timedelta(hours=8)).date().isoformat()

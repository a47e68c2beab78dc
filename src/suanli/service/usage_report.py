"""What a tenant's model-service usage was in a month: tokens as a caller and as a
publisher, the token charges with their model-voucher deductions, and what was earned."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

from suanli.billing.metering import BILLING_TZ, local_date, month_of
from suanli.billing.money import ZERO, floor_fen, mul
from suanli.domain.errors import FieldError, InvalidInput, SuanliError
from suanli.service.bills import billing_of
from suanli.service.deps import Platform
from suanli.store.usage import (
    TokenSettlement,
    UsageFilter,
    UsageStore,
    UsageTotal,
    merge_totals,
)

By = Literal["minute", "hour", "day", "month"]
Side = Literal["caller", "publisher"]


@dataclass(frozen=True)
class UsageRow:
    """Requests and tokens of one period, caller, key and service."""

    period: str
    caller: str
    api_key_id: str | None
    service_id: str
    service_name: str
    owner: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal  # exact yuan at the prices answered at (what the caller is charged for)


@dataclass(frozen=True)
class UsageReport:
    tenant: str | None  # None: every tenant (the operator)
    side: Side
    month: str
    by: By
    rows: tuple[UsageRow, ...]
    charges: tuple[TokenSettlement, ...]  # token lines the tenant paid (caller) or earned
    fee_rate: Decimal

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.rows)

    @property
    def prompt_tokens(self) -> int:
        return sum(r.prompt_tokens for r in self.rows)

    @property
    def completion_tokens(self) -> int:
        return sum(r.completion_tokens for r in self.rows)

    @property
    def gross(self) -> Decimal:
        return sum((s.line.gross for s in self.charges), ZERO)

    @property
    def voucher(self) -> Decimal:
        return sum((s.deduction.amount for s in self.charges), ZERO)

    @property
    def net(self) -> Decimal:
        return self.gross - self.voucher

    @property
    def fee(self) -> Decimal:
        return sum((floor_fen(mul(s.line.gross, self.fee_rate)) for s in self.charges), ZERO)


def usage_store(p: Platform) -> UsageStore:
    if p.usage is None or p.billing is None:
        raise SuanliError("billing_unavailable")
    return p.usage


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    """The China-time month as [start, end) instants."""
    year, mon = int(month[:4]), int(month[5:7])
    start = dt.datetime(year, mon, 1, tzinfo=BILLING_TZ)
    end = dt.datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=BILLING_TZ)
    return start, end


def period_of(minute: dt.datetime, by: By) -> str:
    local = minute.astimezone(BILLING_TZ)
    if by == "minute":
        return local.strftime("%Y-%m-%d %H:%M")
    if by == "hour":
        return local.strftime("%Y-%m-%d %H:00")
    if by == "day":
        return local_date(minute).isoformat()
    return month_of(minute)


def fold(totals: list[UsageTotal], by: By) -> tuple[UsageRow, ...]:
    """Per-minute totals summed per period (``by``), caller, key and service."""
    return tuple(
        UsageRow(
            period=period,
            caller=t.caller,
            api_key_id=t.api_key_id,
            service_id=t.service_id,
            service_name=t.service_name,
            owner=t.owner,
            requests=t.requests,
            prompt_tokens=t.prompt_tokens,
            completion_tokens=t.completion_tokens,
            cost=t.cost,
        )
        for period, t in merge_totals(totals, lambda minute: period_of(minute, by))
    )


def usage_report(
    p: Platform,
    tenant: str | None,
    month: str | None = None,
    side: Side = "caller",
    service: str | None = None,
    api_key: str | None = None,
    by: By = "day",
) -> UsageReport:
    """``tenant``'s usage in ``month`` (China time; default this month): as a caller of
    services, or as the publisher of its own (``side``); ``service`` is a service's name or
    id. ``tenant`` None: every tenant's (the operator's view)."""
    store = usage_store(p)
    b = billing_of(p)
    if tenant is not None and b.tenants.get(tenant) is None:
        known = ", ".join(t.name for t in b.tenants.all())
        raise InvalidInput(errors=[FieldError("tenant", "unknown_tenant", tenant, known)])
    month = month or month_of(p.clock.now())
    start, end = month_bounds(month)
    mine = {"caller": tenant} if side == "caller" else {"owner": tenant}
    where = UsageFilter(since=start, until=end, api_key_id=api_key, **mine)
    rows: list[UsageTotal] = store.totals(replace(where, service_name=service))
    if service and not rows:  # a service's id works as well as its name
        rows = store.totals(replace(where, service_id=service))
    charges = (
        store.settlements(caller=tenant, month=month)
        if side == "caller"
        else store.settlements(owner=tenant, month=month)
    )
    if service:
        charges = [s for s in charges if service in (s.line.service_id, s.line.service_name)]
    if api_key:  # charges are per caller and service, not per key: shown for the key's services
        keyed = {r.service_id for r in rows}
        charges = [s for s in charges if s.line.service_id in keyed]
    return UsageReport(
        tenant=tenant,
        side=side,
        month=month,
        by=by,
        rows=fold(rows, by),
        charges=tuple(charges),
        fee_rate=b.platform_fee_rate,
    )

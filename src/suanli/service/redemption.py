"""定期兑付 runs: per closed period, what the model programmes pay for their vouchers.

Crash-safe as every money step here (service.billing): the run decides from what is
stored (billing.redemption.plan), stores each redemption with its ledger key, then posts
what was stored. Run twice, or after a crash between storing and posting, it redeems
each deduction once: the second run finds every deduction covered and posts what the
first stored but did not post. Deductions settled after a run (a request metered late)
are covered by the period's next run (``seq`` 2, ...).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from suanli.billing.metering import month_of
from suanli.billing.money import total
from suanli.billing.policy import VoucherKind
from suanli.billing.redemption import PeriodRedemption, VoucherUse, plan, uses_of
from suanli.domain.errors import FieldError, InvalidInput
from suanli.domain.i18n import Lang
from suanli.service.billing import post_period_redemptions
from suanli.service.bills import billing_of
from suanli.service.contracts import contracts_of
from suanli.service.deps import Billing, Platform

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
# A replica-time line's seller when the charge does not name the model's publisher.
SELLER_ATTRIBUTE = "publisher"


def check_period(p: Platform, period: str, closed: bool) -> None:
    """``YYYY-MM``; for a run, a period that is over (China time)."""
    now = month_of(p.clock.now())
    if not PERIOD.match(period):
        error = FieldError("period", "not_allowed", period, "YYYY-MM")
    elif closed and period >= now:
        error = FieldError("period", "period_open", period, _month_before(now))
    else:
        return
    raise InvalidInput("invalid_request", errors=[error])


def _month_before(month: str) -> str:
    year, m = int(month[:4]), int(month[5:])
    return f"{year - 1}-12" if m == 1 else f"{year}-{m - 1:02d}"


def voucher_uses(p: Platform, period: str) -> list[VoucherUse]:
    """Every model-programme deduction settled for ``period``: token lines (the publisher
    sold), contract periods (the vendor sold) and replica time (the model's publisher)."""
    return list(_uses(p, billing_of(p), period))


def _uses(p: Platform, b: Billing, period: str) -> Iterator[VoucherUse]:
    kinds = {x.programme: x.kind for x in b.policies}
    if not any(k is VoucherKind.MODEL for k in kinds.values()):
        return
    if p.usage is not None:
        for t in p.usage.settlements(month=period):
            yield from uses_of(t.deduction, t.line.owner, kinds)
    for r in b.contracts.redemptions(period=period) if b.contracts else []:
        yield from uses_of(r.deduction, r.contract.vendor, kinds)
    for s in b.store.settlements(month=period):
        seller = s.deduction.charge.attributes.get(SELLER_ATTRIBUTE)
        name = seller if isinstance(seller, str) else s.line.usage.provider
        yield from uses_of(s.deduction, name, kinds)


@dataclass(frozen=True)
class RedemptionRun:
    period: str
    redeemed: list[PeriodRedemption]  # every redemption of the period, this run's included
    new: int  # stored by this run
    posted: int  # entries this run posted (its own, and any a crash left unposted)


def redeem_period(p: Platform, period: str) -> RedemptionRun:
    """Redeem what no run of ``period`` covered yet; post what is stored and unposted."""
    check_period(p, period, closed=True)
    b = billing_of(p)
    store = contracts_of(b)
    stored = store.period_redemptions()
    planned = plan(period, voucher_uses(p, period), stored, b.policies, p.clock.now())
    new = sum(1 for r in planned if store.add_period_redemption(r))
    posted = post_period_redemptions(p)
    return RedemptionRun(period, store.period_redemptions(period=period), new, posted)


@dataclass(frozen=True)
class RedemptionView:
    """One stored redemption as the report shows it."""

    redemption: PeriodRedemption
    posted: bool
    why: str


@dataclass(frozen=True)
class RedemptionReport:
    period: str | None
    rows: list[RedemptionView]
    pending: Decimal | None  # a closed period's deductions no run covers yet (None: all)

    @property
    def claimed(self) -> Decimal:
        return total(v.redemption.claimed for v in self.rows)

    @property
    def redeemed(self) -> Decimal:
        return total(v.redemption.redeemed for v in self.rows)

    @property
    def withheld(self) -> Decimal:
        return total(v.redemption.withheld for v in self.rows)


def redemption_report(
    p: Platform, period: str | None, company: str | None, lang: Lang
) -> RedemptionReport:
    """Stored redemptions (of one period, of one company), each with why; for one period,
    what its deductions still wait to be redeemed."""
    if period is not None:
        check_period(p, period, closed=False)
    b = billing_of(p)
    store = contracts_of(b)
    found = store.period_redemptions(period=period, company=company)
    keys = [r.entry_key for r in found if r.entry_key is not None]
    posted = b.ledger.posted_keys(keys) if keys else set()
    rows = []
    for r in found:
        pol = b.policy(r.programme)
        cap = pol.tenant_cap if pol else None
        pool = pol.annual_pool if pol else None
        rows.append(
            RedemptionView(
                r, r.entry_key is None or r.entry_key in posted, r.explain(cap, pool, lang)
            )
        )
    pending = None
    if period is not None:
        covered = {ref for r in store.period_redemptions(period=period) for ref in r.charges}
        pending = total(
            u.amount
            for u in voucher_uses(p, period)
            if u.ref not in covered and (company is None or u.company == company)
        )
    return RedemptionReport(period, rows, pending)

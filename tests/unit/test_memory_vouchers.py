"""The memory stores' running total of voucher usage equals the usage summed again over
every deduction, after each one (stacked programmes, caps by company, project and period,
claims; deductions that apply nothing), and a usage handed out earlier never changes."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.billing.policy import VoucherKind
from suanli.billing.verdicts import Consideration, Outcome
from suanli.billing.vouchers import Charge, Deduction, VoucherUsage
from suanli.store.memory_vouchers import VoucherTotals

_amount = st.decimals(min_value=0, max_value=10_000, places=2)
_considered = st.builds(
    Consideration,
    programme=st.sampled_from(("bj-compute", "sh-compute", "sz-model")),
    version=st.just(1),
    outcome=st.sampled_from((Outcome.APPLIED, Outcome.APPLIED, Outcome.WRONG_KIND)),
    offer=_amount,
    cap_period=st.sampled_from(("2026", "2027", "all")),
    order=st.integers(1, 3),
    claim=st.none() | st.sampled_from(("c-1", "c-2")),
)
_charge = st.builds(
    Charge,
    key=st.just("line"),
    kind=st.just(VoucherKind.COMPUTE),
    company=st.just("acme"),
    gross=_amount,
    domestic=st.just(True),
    on=st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)),
    project=st.none() | st.sampled_from(("p-1", "p-2")),
)
_deduction = st.tuples(
    st.builds(Deduction, _charge, st.lists(_considered, max_size=3).map(tuple)),
    st.sampled_from(("acme", "beta")),
    st.none() | st.sampled_from(("p-1", "p-2")),
)


def _summed(done: list[tuple[Deduction, str, str | None]]) -> VoucherUsage:
    pool: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    company: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    project: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    claims: dict[str, Decimal] = defaultdict(Decimal)
    for d, owner, proj in done:
        for a in d.considered:
            if a.outcome is not Outcome.APPLIED:
                continue
            pool[(a.programme, d.charge.on.year)] += a.offer
            company[(a.programme, owner, a.cap_period)] += a.offer
            if proj is not None:
                project[(a.programme, proj)] += a.offer
            if a.claim is not None:
                claims[a.claim] += a.offer
    return VoucherUsage(dict(pool), dict(company), dict(project), dict(claims))


@settings(max_examples=75, deadline=None)
@given(st.lists(_deduction, max_size=25))
def test_the_running_total_equals_the_sum_after_each_deduction(
    deductions: list[tuple[Deduction, str, str | None]],
) -> None:
    totals, done = VoucherTotals(), []
    handed: list[tuple[VoucherUsage, VoucherUsage]] = []
    for d, owner, proj in deductions:
        totals.add(d, owner, proj)
        done.append((d, owner, proj))
        now, want = totals.usage(), _summed(done)
        assert now == want
        # Same digits and exponent, not merely equal amounts.
        assert {k: str(v) for k, v in now.company_used.items()} == {
            k: str(v) for k, v in want.company_used.items()
        }
        handed.append((now, _summed(done)))
    for kept, as_it_was in handed:
        assert kept == as_it_was  # a later add never changed a usage handed out


def test_a_deduction_that_applies_nothing_keeps_the_same_usage() -> None:
    totals = VoucherTotals()
    first = totals.usage()
    charge = Charge("l", VoucherKind.COMPUTE, "acme", Decimal("1.00"), True, dt.date(2026, 1, 1))
    totals.add(Deduction(charge, (Consideration("p", 1, Outcome.WRONG_KIND),)), "acme", None)
    assert totals.usage() is first

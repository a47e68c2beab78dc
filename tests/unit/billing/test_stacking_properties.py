"""Hypothesis and a fixed 10,000-bill run: no bill line deducts more than its programmes
allow alone or stacked, and the ledger verifies after bills across every programme."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.billing.claims import Claim
from suanli.billing.ledger import AccountKind, Ledger, voucher_pool
from suanli.billing.metering import BILLING_TZ
from suanli.billing.money import ZERO, floor_fen, mul, total
from suanli.billing.policy import StackRule, VoucherKind, VoucherPolicy
from suanli.billing.settlement import pool_opening_entry, settlement_entry
from suanli.billing.vouchers import Deduction, Outcome, VoucherUsage, charge_for_line, decide
from tests.unit.billing.library import (
    BJ,
    BJ_CO,
    LIBRARY,
    SH,
    SH_CO,
    SH_DISTRICT,
    SZ_CO,
    SZ_TRAIN,
    approved,
    contract,
)
from tests.unit.billing.make import ELIGIBLE, POLICIES, make_line

D = Decimal
ON = dt.date(2025, 9, 15)
AT = dt.datetime(2025, 9, 15, 12, tzinfo=BILLING_TZ)

rates = st.integers(0, 20).map(lambda n: D(n) * D("0.05"))
money = st.one_of(st.none(), st.integers(1, 2_000_000).map(lambda fen: D(fen) / 100))


@st.composite
def programmes(draw: st.DrawFn) -> list[VoucherPolicy]:
    out = []
    for i in range(draw(st.integers(1, 6))):
        stacks = draw(st.booleans())
        out.append(
            VoucherPolicy(
                programme=f"p{i}",
                version=1,
                kind=VoucherKind.COMPUTE,
                title=f"p{i}",
                rate_domestic=draw(rates),
                rate_non_domestic=draw(rates),
                valid_from=dt.date(2025, 1, 1),
                valid_to=dt.date(2026, 12, 31),
                annual_pool=draw(money),
                tenant_cap=draw(money),
                issuer=draw(st.sampled_from(["city", "district", "province", ""])),
                stacking=StackRule(draw(st.integers(1, 3)), draw(rates.filter(lambda r: r > 0)))
                if stacks
                else None,
            )
        )
    return out


bills = st.lists(
    st.tuples(st.sampled_from(["a", "b"]), st.booleans(), st.integers(0, 5_000_000)),
    min_size=1,
    max_size=30,
)


def alone_allows(p: VoucherPolicy, d: Deduction, usage: VoucherUsage) -> Decimal:
    """The most one programme may deduct from the charge on its own."""
    c = d.charge
    bounds = [floor_fen(mul(c.gross, p.rate_for(c.domestic)))]
    lefts = (usage.pool_left(p, c.on.year), usage.company_left(p, c.company, c.on))
    bounds += [max(left, ZERO) for left in lefts if left is not None]
    return min(bounds)


def on_its_own(p: VoucherPolicy, offer: Decimal, gross: Decimal) -> Decimal:
    """A programme's offer within its own cap on stacked sums (what it gives alone)."""
    if p.stacking is None:
        return offer
    return min(offer, floor_fen(mul(gross, p.stacking.combined_cap)))


@settings(max_examples=150, deadline=None)
@given(programmes(), bills)
def test_no_line_deducts_more_than_its_programmes_allow_alone_or_stacked(
    policies: list[VoucherPolicy], stream: list[tuple[str, bool, int]]
) -> None:
    by_id = {p.programme: p for p in policies}
    usage = VoucherUsage()
    for i, (tenant, domestic, fen) in enumerate(stream):
        line = make_line(str(D(fen) / 100), domestic=domestic, job=f"j-{i}", tenant=tenant)
        d = decide(charge_for_line(line), {}, policies, usage)
        assert ZERO <= d.amount <= d.gross
        applied = d.applied
        for a in applied:  # alone: each within its rate, cap and pool
            assert ZERO < a.offer <= alone_allows(by_id[a.programme], d, usage)
        if len(applied) > 1:  # stacked: only stacking programmes, one per issuer, in order
            rules = [by_id[a.programme].stacking for a in applied]
            assert all(r is not None for r in rules)
            assert len({by_id[a.programme].payer for a in applied}) == len(applied)
            share = min(r.combined_cap for r in rules if r is not None)
            assert d.amount <= floor_fen(mul(d.gross, share))
            assert [a.order for a in applied] == list(range(1, len(applied) + 1))
            orders = [(r.order if r else 0) for r in rules]
            assert orders == sorted(orders)
        best_alone = max(
            (on_its_own(by_id[c.programme], c.offer, d.gross) for c in d.considered), default=ZERO
        )
        assert (
            d.amount >= min(best_alone, d.gross) or not applied
        )  # 从优: never worse than the best one
        usage = usage.plus(d)
    for (prog, _), used in usage.pool_used.items():
        pool = by_id[prog].annual_pool
        assert pool is None or used <= pool
    for (prog, _, _), used in usage.company_used.items():
        cap = by_id[prog].tenant_cap
        assert cap is None or used <= cap


# -- 10,000 random bills across every programme, into one ledger ------------------------

ALL = [*POLICIES.values(), *LIBRARY.values()]
COMPANIES = {
    "etown": ELIGIBLE,
    "bj": BJ_CO,
    "sh": SH_CO,
    "sh-startup": {**SH_CO, "company_stage": "startup"},
    "sz": SZ_CO,
    "sz-startup": {**SZ_CO, "company_stage": "startup"},
    "nowhere": {},
}


def claims_for() -> list[Claim]:
    year = contract("3000000.00", dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    return [
        approved(BJ, year, dt.date(2025, 1, 1), company="bj"),
        approved(SH_DISTRICT, year, dt.date(2025, 8, 1), company="sh", claim_id="cl-sh"),
        approved(SH_DISTRICT, year, dt.date(2025, 8, 1), company="sh-startup", claim_id="cl-st"),
    ]


def run_bills(n: int, seed: int) -> tuple[Ledger, list[Deduction]]:
    rng = random.Random(seed)
    ledger, usage, claims, decided = Ledger(), VoucherUsage(), claims_for(), []
    opened: set[tuple[str, int]] = set()
    names = sorted(COMPANIES)
    for i in range(n):
        company = rng.choice(names)
        on = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(365))
        start = dt.datetime(on.year, on.month, on.day, 10, tzinfo=BILLING_TZ)
        gross = D(rng.randrange(0, 2_000_000)) / 100
        line = make_line(
            str(gross), domestic=rng.random() < 0.5, job=f"j-{i}", tenant=company, start=start
        )
        d = decide(charge_for_line(line), COMPANIES[company], ALL, usage, claims=claims)
        for a in d.applied:
            key = (a.programme, on.year)
            if a.pool_left is not None and key not in opened:
                opening = pool_opening_entry(
                    next(p for p in ALL if p.programme == a.programme), on.year, AT
                )
                assert opening is not None
                ledger.post(opening)
                opened.add(key)
        entry = settlement_entry(line, d, AT)
        if entry is not None:
            assert ledger.post(entry).applied
        usage = usage.plus(d)
        decided.append(d)
    return ledger, decided


def test_the_ledger_verifies_after_10000_random_bills_across_programmes() -> None:
    """10,000 bills, fixed seed: Beijing (E-Town and municipal with claims), Shanghai city +
    district stacking, Shenzhen start-up rates, an ineligible company; the ledger proves
    itself and the voucher accounts add up to what the bills say."""
    ledger, decided = run_bills(10_000, seed=20261207)
    report = ledger.verify()
    assert report.ok, report.problems[:5]
    assert total(ledger.balances().values()) == 0
    stacked = [d for d in decided if len(d.applied) > 1]
    assert stacked, "the city + district stack never applied"
    assert {d.programmes for d in stacked} == {(SH, SH_DISTRICT)}
    assert any(d.programme == BJ for d in decided)
    assert any(
        d.programme == SZ_TRAIN and d.chosen and d.chosen.rate == D("0.60") for d in decided
    )
    assert all(not d.applied for d in decided if d.charge.company == "nowhere")
    per_pool: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    for d in decided:
        for a in d.applied:
            per_pool[(a.programme, d.charge.on.year)] += a.offer
    policies = {p.programme: p for p in ALL}
    for (prog, year), spent in per_pool.items():
        pool = policies[prog].annual_pool
        if pool is not None:
            assert ledger.balance(voucher_pool(prog, year)) == pool - spent
    owed = total(b for a, b in ledger.balances().items() if a.kind is AccountKind.TENANT_CASH)
    assert -owed == total(d.net for d in decided)
    assert all(
        c.outcome is not Outcome.APPLIED or c.offer > 0 for d in decided for c in d.considered
    )

"""Hypothesis: over random bill streams the ledger balances and no cap or pool is exceeded."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.billing.ledger import (
    AccountKind,
    Entry,
    Ledger,
    Posting,
    external,
    provider_receivable,
    tenant_cash,
    voucher_pool,
)
from suanli.billing.money import floor_fen, total
from suanli.billing.settlement import pool_opening_entry, settlement_entry
from suanli.billing.vouchers import Deduction, VoucherUsage, charge_for_line, decide
from tests.unit.billing.make import COMPUTE, ELIGIBLE, EXAMPLE, T0, make_line, policy

D = Decimal
# Small pools and caps so that random streams run into every limit.
POLICIES = [
    policy(COMPUTE, annual_pool=D("1000000.00"), tenant_cap=D("200000.00")),
    policy(
        EXAMPLE,
        eligibility=(),
        annual_pool=D("300000.00"),
        tenant_cap=D("50000.00"),
        valid_from=dt.date(2024, 1, 1),
    ),
]
BY_ID = {p.programme: p for p in POLICIES}
TENANTS = {"a": ELIGIBLE, "b": ELIGIBLE, "c": {**ELIGIBLE, "not_on_dishonesty_list": False}}
YEARS = (2025, 2026)

bill = st.tuples(
    st.sampled_from(sorted(TENANTS)),
    st.booleans(),  # domestic
    st.integers(min_value=0, max_value=50_000_000),  # gross in fen (up to 500,000 yuan)
    st.sampled_from(YEARS),
    st.booleans(),  # retried: the same settlement is posted a second time
)


def settle(stream: list[tuple[str, bool, int, int, bool]]) -> tuple[Ledger, list[Deduction]]:
    ledger, usage, decided = Ledger(), VoucherUsage(), []
    for p in POLICIES:
        for year in YEARS:
            opening = pool_opening_entry(p, year, T0)
            assert opening is not None
            ledger.post(opening)
    for i, (tenant, domestic, fen, year, retried) in enumerate(stream):
        start = dt.datetime(year, 6, 1, tzinfo=dt.UTC)
        line = make_line(
            str(D(fen) / 100), domestic=domestic, job=f"j-{i}", tenant=tenant, start=start
        )
        d = decide(charge_for_line(line), TENANTS[tenant], POLICIES, usage)
        entry = settlement_entry(line, d, T0)
        if entry is not None:
            assert ledger.post(entry).applied
            if retried:
                assert not ledger.post(entry).applied
        usage = usage.plus(d)
        decided.append(d)
    return ledger, decided


def within_rate(d: Deduction) -> bool:
    chosen = d.chosen
    return chosen is None or d.amount <= floor_fen(d.gross * chosen.rate)


@settings(max_examples=60, deadline=None)
@given(st.lists(bill, max_size=40))
def test_random_streams_balance_and_respect_every_limit(
    stream: list[tuple[str, bool, int, int, bool]],
) -> None:
    ledger, decided = settle(stream)

    # 1. the ledger proves itself and sums to zero
    assert ledger.verify().ok
    assert total(ledger.balances().values()) == 0

    # 2. every line: 0 <= deduction <= rate x gross, net >= 0, gross = deduction + net
    for d in decided:
        assert 0 <= d.amount <= d.gross
        assert d.net >= 0
        assert d.amount + d.net == d.gross
        assert within_rate(d)
        assert sum(c.outcome.value == "applied" for c in d.considered) <= 1

    # 3. no pool and no company cap is ever exceeded
    spent: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    per_company: dict[tuple[str, str, int], Decimal] = defaultdict(Decimal)
    for d in decided:
        if d.programme:
            spent[(d.programme, d.charge.on.year)] += d.amount
            per_company[(d.programme, d.charge.company, d.charge.on.year)] += d.amount
    for (prog, year), amount in spent.items():
        pool = BY_ID[prog].annual_pool
        assert pool is not None
        assert amount <= pool
        assert ledger.balance(voucher_pool(prog, year)) == pool - amount
    for (prog, _, _), amount in per_company.items():
        cap = BY_ID[prog].tenant_cap
        assert cap is not None
        assert amount <= cap
    assert all(d.programme != COMPUTE for d in decided if d.charge.company == "c")  # ineligible

    # 4. sums match to the fen: the provider is owed all gross, tenants owe all net
    assert ledger.balance(provider_receivable("prov")) == total(d.gross for d in decided)
    owed = total(b for a, b in ledger.balances().items() if a.kind is AccountKind.TENANT_CASH)
    assert -owed == total(d.net for d in decided)


keyed = st.tuples(st.sampled_from(["k1", "k2", "k3", "k4"]), st.integers(1, 10_000))


@settings(max_examples=60, deadline=None)
@given(st.lists(keyed, max_size=30))
def test_a_key_is_never_applied_twice(posts: list[tuple[str, int]]) -> None:
    ledger, first_amount = Ledger(), dict[str, Decimal]()
    for key, fen in posts:
        amount = D(fen) / 100
        entry = Entry(key, (Posting(external(), -amount), Posting(tenant_cash(key), amount)), T0)
        if key in first_amount and first_amount[key] != amount:
            continue  # a different payload under a used key is a conflict, tested elsewhere
        result = ledger.post(entry)
        assert result.applied == (key not in first_amount)
        first_amount.setdefault(key, amount)
    assert len(ledger.entries) == len(first_amount)
    for key, amount in first_amount.items():
        assert ledger.balance(tenant_cash(key)) == amount
    assert ledger.verify().ok

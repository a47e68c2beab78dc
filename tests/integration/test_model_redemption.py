"""定期兑付 on a real platform (SQLite, and PostgreSQL in CI): a closed period's model-voucher
deductions redeemed per company and seller, once, whatever stops between the steps."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from suanli.billing.ledger import external, programme_funding, voucher_pool
from suanli.billing.model_contracts import ModelUse
from suanli.billing.redemption import payer_account, plan
from suanli.domain.clock import FixedClock
from suanli.domain.errors import InvalidInput
from suanli.service import contracts
from suanli.service.deps import Platform
from suanli.service.redemption import redeem_period, redemption_report, voucher_uses
from suanli.service.usage import bill_tokens
from suanli.store.stores import MEMORY_URL
from tests.integration.test_usage_billing import MODEL, event, open_test, sink_of
from tests.integration.test_usage_billing import platform as platform  # the same fixture

DECEMBER = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)


def funding(p: Platform) -> Decimal:
    assert p.billing is not None
    return p.billing.ledger.balance(programme_funding(MODEL, 2026))


def paid_in(p: Platform) -> Decimal:
    assert p.billing is not None
    return -p.billing.ledger.balance(external(payer_account(MODEL)))


def test_a_closed_month_is_redeemed_once_per_company_and_seller(platform: Platform) -> None:
    check_redeemed_once(platform)


def test_the_same_on_memory_stores(tmp_path: Path) -> None:
    p = open_test(tmp_path, MEMORY_URL)
    try:
        check_redeemed_once(p)
    finally:
        p.close()


def check_redeemed_once(p: Platform) -> None:
    assert p.billing is not None
    sink = sink_of(p)
    for i in range(3):
        sink.record(event(f"r-{i}"))  # acme: 3 x 1.40, the voucher 2.10
    bill_tokens(p)
    with pytest.raises(InvalidInput) as open_month:  # November is not over yet
        redeem_period(p, "2026-11")
    assert "2026-10" in open_month.value.message("en")
    assert "尚未结束" in open_month.value.message("zh")
    p.clock = FixedClock(DECEMBER)
    before = funding(p)
    run = redeem_period(p, "2026-11")
    assert (run.new, run.posted) == (1, 1)
    [r] = run.redeemed
    assert (r.programme, r.company, r.seller, r.seq) == (MODEL, "acme", "pub", 1)
    assert (r.claimed, r.redeemed, r.withheld) == (Decimal("2.10"), Decimal("2.10"), Decimal(0))
    assert funding(p) - before == Decimal("2.10")
    assert paid_in(p) == Decimal("2.10")
    # the pool drawn at settlement and the programme's cash in agree: nothing outstanding
    pool_drawn = Decimal("100000000.00") - p.billing.ledger.balance(voucher_pool(MODEL, 2026))
    assert pool_drawn == paid_in(p)
    # again: nothing new, nothing posted twice
    again = redeem_period(p, "2026-11")
    assert (again.new, again.posted, again.redeemed) == (0, 0, run.redeemed)
    assert paid_in(p) == Decimal("2.10")
    report = redemption_report(p, "2026-11", None, "zh")
    assert (report.claimed, report.redeemed, report.pending) == (
        Decimal("2.10"),
        Decimal("2.10"),
        Decimal(0),
    )
    assert report.rows[0].posted
    assert "全额兑付" in report.rows[0].why
    assert p.billing.ledger.verify().ok


def test_a_crash_between_storing_and_posting_redeems_once(platform: Platform) -> None:
    p = platform
    assert p.billing is not None
    assert p.billing.contracts is not None
    sink_of(p).record(event("r-1"))
    bill_tokens(p)
    p.clock = FixedClock(DECEMBER)
    # the run stored its decision, then stopped before posting
    stored = plan("2026-11", voucher_uses(p, "2026-11"), [], p.billing.policies, DECEMBER)
    assert [p.billing.contracts.add_period_redemption(r) for r in stored] == [True]
    assert paid_in(p) == 0
    assert redemption_report(p, "2026-11", "acme", "en").rows[0].posted is False
    run = redeem_period(p, "2026-11")
    assert (run.new, run.posted) == (0, 1)
    assert paid_in(p) == Decimal("0.70")
    assert redeem_period(p, "2026-11").posted == 0
    assert paid_in(p) == Decimal("0.70")
    assert p.billing.ledger.verify().ok


def test_a_deduction_settled_after_the_run_is_the_next_runs(platform: Platform) -> None:
    p = platform
    sink = sink_of(p)
    sink.record(event("r-1"))
    bill_tokens(p)
    p.clock = FixedClock(DECEMBER)
    assert redeem_period(p, "2026-11").new == 1
    sink.record(event("r-late", prompt=200))  # answered in November, metered after the run
    bill_tokens(p)
    run = redeem_period(p, "2026-11")
    assert [(r.seq, r.claimed) for r in run.redeemed] == [
        (1, Decimal("0.70")),
        (2, Decimal("1.20")),  # (200 x 10,000 + 20 x 20,000) / 1M = 2.40, half
    ]
    assert paid_in(p) == Decimal("1.90")


def test_contract_periods_are_redeemed_with_the_vendor_as_seller(platform: Platform) -> None:
    p = platform
    p.clock = FixedClock(dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC))
    c = contracts.add_contract(
        p, "acme", "Zhipu", "GLM-4", ModelUse.API_CALLS, True, Decimal("1000.00"), "HT-1"
    )
    contracts.redeem(p, c.contract_id, "2026-11", Decimal("300.00"))
    sink_of(p).record(event("r-1"))
    bill_tokens(p)
    p.clock = FixedClock(DECEMBER)
    run = redeem_period(p, "2026-11")
    assert sorted((r.seller, r.redeemed) for r in run.redeemed) == [
        ("Zhipu", Decimal("150.00")),
        ("pub", Decimal("0.70")),
    ]
    assert paid_in(p) == Decimal("150.70")


def test_bad_periods_are_refused_naming_the_field(platform: Platform) -> None:
    p = platform
    for bad in ("2026-13", "26-11", "2026-11; drop", ""):
        with pytest.raises(InvalidInput) as info:
            redeem_period(p, bad)
        assert info.value.errors[0].field == "period"
    assert redemption_report(p, None, None, "en").rows == []

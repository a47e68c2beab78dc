"""定期兑付, the pure part: what a period's run redeems, within the cap and pool, once."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from suanli.billing.ledger import Ledger, external, programme_funding
from suanli.billing.policy import VoucherKind
from suanli.billing.redemption import (
    PeriodRedemption,
    VoucherUse,
    Withheld,
    payer_account,
    plan,
    redemption_entry,
    uses_of,
)
from suanli.billing.vouchers import VoucherUsage, decide
from tests.unit.billing.make import COMPUTE, ELIGIBLE, MODEL, POLICIES, make_charge, policy

AT = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
NOV = dt.date(2026, 11, 20)


def use(
    key: str, amount: str, company: str = "acme", seller: str = "pub", on: dt.date = NOV
) -> VoucherUse:
    return VoucherUse(key, MODEL, company, seller, on, str(on.year), Decimal(amount))


def test_one_redemption_per_programme_company_and_seller_covering_every_use() -> None:
    uses = [
        use("t:1", "2.10"),
        use("t:2", "0.70"),
        use("t:3", "5.00", seller="vendor"),
        use("t:4", "1.00", company="beta"),
        use("t:5", "9.99", on=dt.date(2026, 10, 31)),  # another period: not this run's
    ]
    found = plan("2026-11", uses, [], POLICIES.values(), AT)
    assert [(r.company, r.seller, r.claimed, r.redeemed, r.seq) for r in found] == [
        ("acme", "pub", Decimal("2.80"), Decimal("2.80"), 1),
        ("acme", "vendor", Decimal("5.00"), Decimal("5.00"), 1),
        ("beta", "pub", Decimal("1.00"), Decimal("1.00"), 1),
    ]
    assert found[0].charges == (f"t:1#{MODEL}", f"t:2#{MODEL}")
    assert found[0].key == f"redeem-period:{MODEL}:2026-11:acme:pub:1"
    # the same inputs, the same plan; with the plan stored, nothing is left to redeem
    assert plan("2026-11", reversed(uses), [], POLICIES.values(), AT) == found
    assert plan("2026-11", uses, found, POLICIES.values(), AT) == []


def test_a_later_run_covers_only_what_was_settled_after_the_first() -> None:
    first = plan("2026-11", [use("t:1", "2.10")], [], POLICIES.values(), AT)
    later = plan("2026-11", [use("t:1", "2.10"), use("t:9", "0.35")], first, POLICIES.values(), AT)
    assert [(r.seq, r.claimed, r.charges) for r in later] == [
        (2, Decimal("0.35"), (f"t:9#{MODEL}",))
    ]


def test_the_company_cap_and_the_pool_withhold_what_exceeds_them() -> None:
    capped = policy(MODEL, tenant_cap=Decimal("100.00"))
    before = dataclasses.replace(
        plan("2026-11", [use("t:0", "90.00")], [], [capped], AT)[0], period="2026-10"
    )
    found = plan("2026-11", [use("t:1", "25.00")], [before], [capped], AT)
    assert (found[0].redeemed, found[0].withheld, found[0].withheld_by) == (
        Decimal("10.00"),
        Decimal("15.00"),
        Withheld.TENANT_CAP,
    )
    assert "15.00" in found[0].explain(capped.tenant_cap, capped.annual_pool, "en")
    assert "企业上限" in found[0].explain(capped.tenant_cap, capped.annual_pool, "zh")
    # the pool counts every company's redemptions of the year
    dry = policy(MODEL, annual_pool=Decimal("95.00"))
    found = plan("2026-11", [use("t:1", "25.00", company="beta")], [before], [dry], AT)
    assert (found[0].redeemed, found[0].withheld_by) == (Decimal("5.00"), Withheld.POOL)
    # a run whose cap is used up redeems 0.00 and posts nothing
    gone = plan(
        "2026-11",
        [use("t:2", "1.00")],
        [before, *found],
        [policy(MODEL, tenant_cap=Decimal("90.00"))],
        AT,
    )
    assert gone[0].redeemed == 0
    assert redemption_entry(gone[0]) is None


def test_the_entry_balances_and_settles_the_programmes_funding_once() -> None:
    r = plan("2026-11", [use("t:1", "2.10")], [], POLICIES.values(), AT)[0]
    entry = redemption_entry(r)
    assert entry is not None
    assert entry.key == r.entry_key == r.key
    ledger = Ledger()
    assert ledger.post(entry).applied
    assert not ledger.post(redemption_entry(r) or entry).applied  # a re-run: once
    assert ledger.balance(programme_funding(MODEL, 2026)) == Decimal("2.10")
    assert ledger.balance(external(payer_account(MODEL))) == Decimal("-2.10")
    assert ledger.verify().ok


def test_only_model_programmes_are_redeemed_per_period() -> None:
    kinds = {p.programme: p.kind for p in POLICIES.values()}
    compute = decide(make_charge("100.00"), ELIGIBLE, POLICIES.values(), VoucherUsage())
    assert compute.programme == COMPUTE
    assert uses_of(compute, "prov", kinds) == []
    model_charge = dataclasses.replace(
        make_charge("100.00"), kind=VoucherKind.MODEL, attributes={"model_use": "api_calls"}
    )
    model = decide(model_charge, ELIGIBLE, POLICIES.values(), VoucherUsage())
    assert [(u.programme, u.amount, u.seller) for u in uses_of(model, "vendor", kinds)] == [
        (MODEL, Decimal("50.00"), "vendor")
    ]


def test_amounts_are_fen_and_never_more_than_claimed() -> None:
    r = plan("2026-11", [use("t:1", "2.10")], [], POLICIES.values(), AT)[0]
    for bad in ({"redeemed": Decimal("2.11")}, {"claimed": Decimal("0.001")}):
        try:
            PeriodRedemption(**{**r.__dict__, **bad})
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad}")

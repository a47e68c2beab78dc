"""The voucher engine on the issue's checks: rates, caps, pool, eligibility, best-one-only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from suanli.billing.policy import CapScope, VoucherPolicy
from suanli.billing.vouchers import (
    Consideration,
    Deduction,
    Limit,
    Outcome,
    VoucherUsage,
    charge_for_line,
    decide,
)
from suanli.domain.i18n import render
from tests.unit.billing.make import (
    COMPUTE,
    ELIGIBLE,
    EXAMPLE,
    MODEL,
    POLICIES,
    SUBSIDY,
    make_charge,
    make_line,
    policy,
)

SHIPPED = list(POLICIES.values())
NO_USAGE = VoucherUsage()


def verdict(deduction: Deduction, programme: str) -> Consideration:
    return next(c for c in deduction.considered if c.programme == programme)


class TestComputeVoucherRates:
    @pytest.mark.parametrize(
        ("domestic", "want_deduction", "want_net", "want_rate"),
        [(True, "400.00", "600.00", "0.4"), (False, "300.00", "700.00", "0.3")],
        ids=["domestic-1000-nets-600", "non-domestic-1000-nets-700"],
    )
    def test_a_1000_yuan_line(
        self, domestic: bool, want_deduction: str, want_net: str, want_rate: str
    ) -> None:
        line = make_line("1000.00", domestic=domestic)
        d = decide(charge_for_line(line), ELIGIBLE, SHIPPED, NO_USAGE)
        assert d.programme == COMPUTE
        assert d.amount == Decimal(want_deduction)
        assert d.net == Decimal(want_net)
        assert d.chosen is not None
        assert d.chosen.rate == Decimal(want_rate)
        assert d.chosen.limit is Limit.RATE

    def test_rate_never_rounds_above_the_ceiling(self) -> None:
        # 30 % of 0.05 is 0.015; half-up would give 0.02 > 30 %, "at most" gives 0.01.
        d = decide(make_charge("0.05", domestic=False), ELIGIBLE, SHIPPED, NO_USAGE)
        assert d.amount == Decimal("0.01")

    def test_a_line_too_small_for_one_fen_gets_none_and_says_so(self) -> None:
        d = decide(make_charge("0.02", domestic=False), ELIGIBLE, SHIPPED, NO_USAGE)
        assert d.amount == 0
        assert verdict(d, COMPUTE).outcome is Outcome.BELOW_FEN

    def test_the_explanation_names_gross_rate_deduction_and_net(self) -> None:
        d = decide(make_charge("1000.00"), ELIGIBLE, SHIPPED, NO_USAGE)
        body = d.to_dict("zh")
        assert body["gross"] == "1000.00"
        assert body["deduction"] == "400.00"
        assert body["net"] == "600.00"
        assert body["cap_left"] == "20000000.00"
        assert body["pool_left"] == "100000000.00"
        assert "¥400.00" in d.explain("en")[0]
        assert "40%" in d.explain("zh")[0]
        others = {c["programme"]: c["outcome"] for c in body["considered"]}
        assert others[MODEL] == "wrong_kind"
        assert others[SUBSIDY] == "wrong_kind"
        assert others[EXAMPLE] == "ineligible"


class TestCapsAndPool:
    def test_a_company_near_its_20m_cap_gets_only_what_is_left(self) -> None:
        usage = VoucherUsage(company_used={(COMPUTE, "acme", "2025"): Decimal("19999900.00")})
        d = decide(make_charge("1000.00"), ELIGIBLE, SHIPPED, usage)
        assert d.amount == Decimal("100.00")
        assert d.net == Decimal("900.00")
        assert d.chosen is not None
        assert d.chosen.limit is Limit.TENANT_CAP
        assert "company cap" in d.explain("en")[0]

    def test_the_cap_resets_in_a_new_year(self) -> None:
        usage = VoucherUsage(company_used={(COMPUTE, "acme", "2025"): Decimal("20000000.00")})
        d = decide(make_charge("1000.00", on=dt.date(2026, 1, 2)), ELIGIBLE, SHIPPED, usage)
        assert d.amount == Decimal("400.00")

    def test_a_company_at_its_cap_gets_none_with_the_reason(self) -> None:
        usage = VoucherUsage(company_used={(COMPUTE, "acme", "2025"): Decimal("20000000.00")})
        d = decide(make_charge("1000.00"), ELIGIBLE, SHIPPED, usage)
        assert d.amount == 0
        assert verdict(d, COMPUTE).outcome is Outcome.CAP_REACHED
        assert "¥20,000,000.00" in " ".join(d.explain("en"))

    def test_a_nearly_dry_pool_gives_what_is_left(self) -> None:
        usage = VoucherUsage(pool_used={(COMPUTE, 2025): Decimal("99999999.50")})
        d = decide(make_charge("1000.00"), ELIGIBLE, SHIPPED, usage)
        assert d.amount == Decimal("0.50")
        assert d.chosen is not None
        assert d.chosen.limit is Limit.POOL

    def test_when_the_pool_runs_dry_deductions_stop_and_the_bill_says_why(self) -> None:
        usage = VoucherUsage(pool_used={(COMPUTE, 2025): Decimal("100000000.00")})
        d = decide(make_charge("1000.00"), ELIGIBLE, SHIPPED, usage)
        assert (d.amount, d.net) == (Decimal(0), Decimal("1000.00"))
        assert verdict(d, COMPUTE).outcome is Outcome.POOL_DRY
        text = " ".join(d.explain("en"))
        assert "2025 pool" in text
        assert "used up" in text
        assert "用完" in " ".join(d.explain("zh"))


class TestEligibility:
    @pytest.mark.parametrize(
        ("change", "want_attribute"),
        [
            ({"registered_zone": "haidian"}, "registered_zone"),
            ({"no_major_penalty_3y": False}, "no_major_penalty_3y"),
            ({"not_on_dishonesty_list": False}, "not_on_dishonesty_list"),
            ({"independent_legal_person": None}, "independent_legal_person"),
        ],
        ids=["registered-elsewhere", "major-penalty", "on-dishonesty-list", "not-on-record"],
    )
    def test_an_ineligible_company_gets_none_with_the_rule(
        self, change: dict[str, str | bool | None], want_attribute: str
    ) -> None:
        attributes = {k: v for k, v in {**ELIGIBLE, **change}.items() if v is not None}
        d = decide(make_charge("1000.00"), attributes, SHIPPED, NO_USAGE)
        assert d.amount == 0
        v = verdict(d, COMPUTE)
        assert v.outcome is Outcome.INELIGIBLE
        assert v.params["attribute"] == want_attribute
        assert "附则" in v.params["cite"]
        # the rule said in words: "registered zone", not registered_zone (issue 21)
        assert render(f"attribute.{want_attribute}", "en") in " ".join(d.explain("en"))

    @pytest.mark.parametrize(
        ("on", "want"),
        [
            (dt.date(2024, 3, 27), Outcome.NOT_YET_VALID),
            (dt.date(2024, 3, 28), Outcome.APPLIED),
            (dt.date(2027, 3, 31), Outcome.APPLIED),
            (dt.date(2027, 4, 1), Outcome.EXPIRED),
        ],
        ids=["day-before", "first-day", "last-day", "day-after"],
    )
    def test_the_validity_window_is_inclusive(self, on: dt.date, want: Outcome) -> None:
        d = decide(make_charge("100.00", on=on), ELIGIBLE, SHIPPED, NO_USAGE)
        assert verdict(d, COMPUTE).outcome is want


class TestBestOneNeverTwo:
    def test_two_applicable_programmes_give_only_the_better_one(self) -> None:
        # A company registered in both places (illustration): 40 % beats 35 %.
        attributes = {**ELIGIBLE, "registered_zone": "yizhuang-new-town"}
        rival = policy(EXAMPLE, eligibility=(), valid_from=dt.date(2024, 1, 1))
        d = decide(make_charge("1000.00"), attributes, [POLICIES[COMPUTE], rival], NO_USAGE)
        assert d.programme == COMPUTE
        assert d.amount == Decimal("400.00")
        loser = verdict(d, EXAMPLE)
        assert loser.outcome is Outcome.NOT_BEST
        assert loser.offer == Decimal("350.00")
        assert "never two" in loser.explain(d.gross, "en")
        assert "从优不重复" in loser.explain(d.gross, "zh")

    def test_a_cap_can_make_the_lower_rate_the_better_one(self) -> None:
        rival = policy(EXAMPLE, eligibility=(), valid_from=dt.date(2024, 1, 1))
        usage = VoucherUsage(company_used={(COMPUTE, "acme", "2025"): Decimal("19999990.00")})
        d = decide(make_charge("1000.00"), ELIGIBLE, [POLICIES[COMPUTE], rival], usage)
        assert (d.programme, d.amount) == (EXAMPLE, Decimal("350.00"))
        assert verdict(d, COMPUTE).outcome is Outcome.NOT_BEST

    def test_equal_offers_go_to_the_programme_that_sorts_first(self) -> None:
        twin = policy(COMPUTE, programme="a-twin")
        d = decide(make_charge("1000.00"), ELIGIBLE, [POLICIES[COMPUTE], twin], NO_USAGE)
        assert d.programme == "a-twin"
        assert sum(c.outcome is Outcome.APPLIED for c in d.considered) == 1


class TestUsage:
    def test_plus_counts_a_deduction_against_pool_and_cap(self) -> None:
        d = decide(make_charge("1000.00"), ELIGIBLE, SHIPPED, NO_USAGE)
        after = NO_USAGE.plus(d)
        assert after.pool_left(POLICIES[COMPUTE], 2025) == Decimal("99999600.00")
        assert after.company_left(POLICIES[COMPUTE], "acme", d.charge.on) == Decimal("19999600.00")
        assert NO_USAGE.pool_used == {}

    def test_a_programme_long_cap_spans_years(self) -> None:
        model = POLICIES[MODEL]
        assert model.tenant_cap_scope is CapScope.PROGRAMME
        assert model.cap_period(dt.date(2025, 1, 1)) == model.cap_period(dt.date(2026, 1, 1))


def test_policy_values_refuse_a_cap_on_stacking_above_one() -> None:
    from suanli.billing.policy import StackRule

    with pytest.raises(ValueError, match="rate"):
        policy(COMPUTE, stacking=StackRule(1, Decimal("1.5")))


def test_policy_values_refuse_a_rate_above_one() -> None:
    with pytest.raises(ValueError, match="rate"):
        VoucherPolicy(**{**POLICIES[COMPUTE].__dict__, "rate_domestic": Decimal("1.5")})

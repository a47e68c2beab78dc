"""模型券 per contract period and the provider subsidy per project."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from suanli.billing.ledger import Ledger, provider_receivable, tenant_cash
from suanli.billing.model_contracts import ModelContract, ModelUse, redeem_model_contract
from suanli.billing.server_purchases import ServerPurchase, subsidise_purchase
from suanli.billing.settlement import (
    model_redemption_entry,
    pool_opening_entry,
    provider_subsidy_entry,
)
from suanli.billing.vouchers import Deduction, Outcome, VoucherUsage
from tests.unit.billing.make import ELIGIBLE, MODEL, ON, POLICIES, SUBSIDY, T0

D = Decimal
SHIPPED = list(POLICIES.values())


def contract(domestic: bool = True, amount: str = "3000000.00") -> ModelContract:
    return ModelContract(
        "mc-1", "acme", "zhipu", "glm-4", ModelUse.API_CALLS, domestic, D(amount), ON, "hash:ab"
    )


def redeem(
    c: ModelContract, upto: str, before: str = "0", usage: VoucherUsage | None = None
) -> Deduction:
    return redeem_model_contract(
        c, "2025-Q2", D(upto), D(before), ON, ELIGIBLE, SHIPPED, usage or VoucherUsage()
    )


class TestModelVoucher:
    def test_half_of_the_amount_completed_this_period(self) -> None:
        d = redeem(contract(), "1000000.00")
        assert (d.programme, d.amount) == (MODEL, D("500000.00"))

    def test_later_periods_count_only_the_new_completion_and_never_beyond_the_contract(
        self,
    ) -> None:
        d = redeem(contract(), "9000000.00", before="1000000.00")
        assert d.gross == D("2000000.00")
        assert d.amount == D("1000000.00")

    def test_the_5m_company_cap_holds_across_contracts_and_years(self) -> None:
        usage = VoucherUsage(company_used={(MODEL, "acme", "all"): D("4900000.00")})
        d = redeem(contract(amount="10000000.00"), "10000000.00", usage=usage)
        assert d.amount == D("100000.00")

    def test_a_non_domestic_base_model_is_not_covered(self) -> None:
        d = redeem(contract(domestic=False), "1000000.00")
        assert d.amount == 0
        assert next(c for c in d.considered if c.programme == MODEL).outcome is Outcome.RATE_ZERO

    def test_the_redemption_credits_the_company_in_a_balanced_entry(self) -> None:
        ledger = Ledger()
        opening = pool_opening_entry(POLICIES[MODEL], 2025, T0)
        assert opening is not None
        ledger.post(opening)
        entry = model_redemption_entry(redeem(contract(), "1000000.00"), T0)
        assert entry is not None
        ledger.post(entry)
        assert ledger.balance(tenant_cash("acme")) == D("500000.00")
        assert ledger.verify().ok


def purchase(
    amount: str = "50000000.00", listed: bool = True, project: str = "dc-1"
) -> ServerPurchase:
    return ServerPurchase("po-1", "prov", project, D(amount), listed, ON)


class TestProviderSubsidy:
    def test_ten_percent_of_the_domestic_server_part(self) -> None:
        d = subsidise_purchase(purchase(), ELIGIBLE, SHIPPED, VoucherUsage())
        assert (d.programme, d.amount) == (SUBSIDY, D("5000000.00"))

    def test_at_most_10m_per_project(self) -> None:
        usage = VoucherUsage(project_used={(SUBSIDY, "dc-1"): D("8000000.00")})
        d = subsidise_purchase(purchase(), ELIGIBLE, SHIPPED, usage)
        assert d.amount == D("2000000.00")

    def test_servers_not_listed_on_the_platform_earn_nothing(self) -> None:
        d = subsidise_purchase(purchase(listed=False), ELIGIBLE, SHIPPED, VoucherUsage())
        v = next(c for c in d.considered if c.programme == SUBSIDY)
        assert (d.amount, v.outcome, v.params["attribute"]) == (
            D(0),
            Outcome.INELIGIBLE,
            "listed_on_platform",
        )

    def test_the_subsidy_is_owed_to_the_provider(self) -> None:
        ledger = Ledger()
        d = subsidise_purchase(purchase(), ELIGIBLE, SHIPPED, VoucherUsage())
        entry = provider_subsidy_entry(d, T0)
        assert entry is not None
        ledger.post(entry)
        assert ledger.balance(provider_receivable("prov")) == D("5000000.00")
        assert ledger.verify().ok


def test_completion_cannot_go_backwards() -> None:
    with pytest.raises(ValueError, match="backwards"):
        redeem(contract(), "1.00", before="2.00")


def test_a_contract_dated_outside_the_programme_is_explained() -> None:
    c = contract()
    d = redeem_model_contract(
        c, "2028-Q1", D("10.00"), D("0"), dt.date(2028, 1, 5), ELIGIBLE, SHIPPED, VoucherUsage()
    )
    assert next(x for x in d.considered if x.programme == MODEL).outcome is Outcome.EXPIRED

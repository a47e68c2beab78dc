"""The voucher what-if on spend lines: pool spend by month, caps hit, the month pools run dry."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from suanli.billing.policy import VoucherPolicy
from suanli.sim.voucher_whatif import SpendLine, what_if
from tests.unit.billing.library import LIBRARY, SH, SH_CO, SH_DISTRICT, SZ_CO, SZ_TRAIN

D = Decimal


def shrunk(programme: str, **changes: object) -> VoucherPolicy:
    return dataclasses.replace(LIBRARY[programme], **changes)  # type: ignore[arg-type]


def lines(tenant: str, per_month: str, months: int) -> list[SpendLine]:
    return [SpendLine(tenant, (2025, 8 + m), True, D(per_month)) for m in range(months)]


def test_pool_spend_by_month_and_the_month_the_pool_runs_dry() -> None:
    small = shrunk(SZ_TRAIN, annual_pool=D("1200.00"), tenant_cap=None)
    report = what_if(lines("a", "1000.00", 4), [small], {"a": SZ_CO})
    spend = report.pool_spend[SZ_TRAIN]
    assert spend == {"2025-08": D("500.00"), "2025-09": D("500.00"), "2025-10": D("200.00")}
    assert report.dry_month[SZ_TRAIN] == "2025-10"
    assert report.deduction == D("1200.00")
    assert report.to_dict()["pool_spend"][SZ_TRAIN]["2025-10"] == "200.00"


def test_tenants_that_hit_a_cap_and_when() -> None:
    capped = shrunk(SZ_TRAIN, tenant_cap=D("1200.00"))
    report = what_if(
        [*lines("a", "1000.00", 4), *lines("b", "100.00", 4)], [capped], {"a": SZ_CO, "b": SZ_CO}
    )
    assert report.caps_hit == [{"tenant": "a", "programme": SZ_TRAIN, "month": "2025-10"}]
    assert report.dry_month[SZ_TRAIN] is None  # 5亿 a year is never reached here


def test_city_and_district_stack_with_an_assumed_claim() -> None:
    report = what_if(lines("sh", "1000.00", 2), [LIBRARY[SH], LIBRARY[SH_DISTRICT]], {"sh": SH_CO})
    assert report.stacked_lines == 2
    assert report.deduction == D("2000.00")  # 30 % + 70 % = 100 % of both months
    assert report.pool_spend[SH_DISTRICT] == {"2025-08": D("700.00"), "2025-09": D("700.00")}
    assert report.assumed_claims == [f"sh: {SH_DISTRICT} 1400.00"]


def test_a_tenant_without_attributes_is_assumed_eligible_and_said_so() -> None:
    report = what_if(lines("anon", "1000.00", 1), [LIBRARY[SZ_TRAIN]], {})
    assert report.assumed_eligible == ["anon"]
    assert report.deduction == D("500.00")

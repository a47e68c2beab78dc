"""Builders for billing tests: usage, bill lines, companies and the shipped programmes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from suanli.billing.metering import BILLING_TZ, UsageRecord
from suanli.billing.policy import VoucherKind, VoucherPolicy
from suanli.billing.pricing import BillLine
from suanli.billing.vouchers import Charge
from suanli.schemas.voucherfile import shipped_voucher_policies

T0 = dt.datetime(2025, 6, 1, 9, 0, tzinfo=BILLING_TZ)
ON = T0.date()
COMPUTE = "beijing-etown-compute-2024"
MODEL = "beijing-etown-model-2024"
SUBSIDY = "beijing-etown-provider-subsidy-2024"
EXAMPLE = "example-city-compute-illustrative"

# A company that meets every 附则 (一) condition.
ELIGIBLE: dict[str, str | bool] = {
    "registered_zone": "yizhuang-new-town",
    "independent_legal_person": True,
    "no_major_penalty_3y": True,
    "no_criminal_record_3y": True,
    "not_on_dishonesty_list": True,
    "energy_review_passed": True,
}

POLICIES: dict[str, VoucherPolicy] = {
    p.programme: VoucherPolicy.from_terms(p) for p in shipped_voucher_policies(True)
}


def policy(base_programme: str = COMPUTE, **changes: Any) -> VoucherPolicy:
    base = POLICIES[base_programme]
    fields = {**base.__dict__, **changes}
    return VoucherPolicy(**fields)


def make_usage(
    job: str = "j-1",
    *,
    attempt: int = 1,
    tenant: str = "acme",
    domestic: bool = True,
    accelerators: int = 1,
    seconds: int = 3600,
    start: dt.datetime = T0,
    **fields: Any,
) -> UsageRecord:
    values: dict[str, Any] = {
        "provider": "prov",
        "cluster": "c1",
        "pool": "p1",
        "region": "beijing",
        "accelerator": "Ascend910B" if domestic else "A800",
        **fields,
    }
    return UsageRecord(
        job_id=job,
        attempt=attempt,
        tenant=tenant,
        domestic=domestic,
        accelerators=accelerators,
        started_at=start,
        ended_at=start + dt.timedelta(seconds=seconds),
        **values,
    )


def make_line(gross: str, *, domestic: bool = True, job: str = "j-1", **kw: Any) -> BillLine:
    """A bill line with an exact gross (the price is not what these tests are about)."""
    return BillLine(make_usage(job, domestic=domestic, **kw), Decimal(gross), Decimal(gross))


def make_charge(gross: str, *, domestic: bool = True, on: dt.date = ON, **kw: Any) -> Charge:
    return Charge(
        key=kw.pop("key", "j-1/a1"),
        kind=kw.pop("kind", VoucherKind.COMPUTE),
        company=kw.pop("company", "acme"),
        gross=Decimal(gross),
        domestic=domestic,
        on=on,
        **kw,
    )

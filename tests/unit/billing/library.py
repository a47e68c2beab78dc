"""The shipped library of other places' programmes, and builders for their tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from suanli.billing.claims import Claim, ClaimStatus, ContractRef, approve
from suanli.billing.policy import Evidence, VoucherKind, VoucherPolicy
from suanli.billing.vouchers import Charge
from suanli.schemas.voucherfile import library_policies

LIBRARY: dict[str, VoucherPolicy] = {
    p.programme: VoucherPolicy.from_terms(p) for p in library_policies(include_illustrative=True)
}
BJ = "beijing-municipal-compute-2023"
SH = "shanghai-municipal-compute-2025"
SH_DISTRICT = "shanghai-district-compute-illustrative"
SH_MODEL = "shanghai-municipal-model-2025"
SH_CORPUS = "shanghai-municipal-corpus-2025"
SZ_TRAIN = "shenzhen-municipal-training-2024"
SZ_MODEL = "shenzhen-municipal-model-2024"
SZ_CORPUS = "shenzhen-municipal-corpus-2024"

BJ_CO: dict[str, str | bool] = {
    "registered_city": "beijing",
    "independent_legal_person": True,
    "industry": "software_information_services",
    "ai_direction_supported": True,
    "no_dishonesty_record_3y": True,
    "no_other_municipal_compute_subsidy": True,
    "compute_supplier_unrelated": True,
}
SH_CO: dict[str, str | bool] = {
    "registered_city": "shanghai",
    "registered_district": "example-district",
}
SZ_CO: dict[str, str | bool] = {"registered_city": "shenzhen", "trains_large_models": True}
PAPERS = frozenset({Evidence.INVOICE, Evidence.DELIVERY_PROOF})


def charge(
    gross: str,
    on: dt.date,
    *,
    kind: VoucherKind = VoucherKind.COMPUTE,
    company: str = "acme",
    key: str = "c-1",
    evidence: frozenset[Evidence] = PAPERS,
    **attributes: Any,
) -> Charge:
    return Charge(
        key, kind, company, Decimal(gross), True, on, attributes=attributes, evidence=evidence
    )


def contract(
    amount: str,
    starts: dt.date,
    ends: dt.date,
    *,
    ref: str = "HT-1",
    signed: dt.date | None = None,
) -> ContractRef:
    return ContractRef(ref, Decimal(amount), signed or starts, starts, ends)


def claim_of(
    programme: str,
    c: ContractRef,
    on: dt.date,
    *,
    claim_id: str = "cl-1",
    company: str = "acme",
    evidence: frozenset[Evidence] = frozenset({Evidence.CONTRACT}),
) -> Claim:
    return Claim(claim_id, programme, company, c, on, evidence)


def approved(programme: str, c: ContractRef, on: dt.date, **kw: Any) -> Claim:
    out = approve(LIBRARY[programme], claim_of(programme, c, on, **kw), on)
    assert isinstance(out, Claim), out
    assert out.status is ClaimStatus.APPROVED
    return out

"""/api/v1 billing: bills, voucher policies and quotes, the ledger check, voucher reports."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from suanli.api.convert_billing import (
    bill_to_response,
    ledger_report_to_response,
    policy_to_response,
    quote_to_response,
    report_to_csv,
    report_to_response,
    tenant_to_response,
)
from suanli.api.deps import LangDep, PlatformDep
from suanli.schemas.api import (
    BillResponse,
    LedgerVerifyResponse,
    QuoteRequest,
    QuoteResponse,
    TenantResponse,
    VoucherPolicyResponse,
    VoucherReportResponse,
)
from suanli.service import bills

router = APIRouter(tags=["billing"])
Month = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-11"])]


@router.get("/tenants")
def list_tenants(p: PlatformDep) -> list[TenantResponse]:
    return [tenant_to_response(t) for t in bills.list_tenants(p)]


@router.get("/bills/{tenant}")
def get_bill(tenant: str, p: PlatformDep, lang: LangDep, month: Month = None) -> BillResponse:
    """The tenant's invoice for a month (China time; default: this month)."""
    bill = bills.get_bill(p, tenant, month)
    posted = {s.entry_key for s in bill.settlements if s.entry_key and bills.is_posted(p, s)}
    return bill_to_response(bill, posted, lang)


@router.get("/voucher-policies")
def list_policies(p: PlatformDep) -> list[VoucherPolicyResponse]:
    return [policy_to_response(x) for x in bills.list_policies(p)]


@router.post("/vouchers/quote")
def quote(body: QuoteRequest, p: PlatformDep, lang: LangDep) -> QuoteResponse:
    """What a compute bill line of ``amount`` would net today, and why."""
    deduction = bills.quote(p, body.amount, body.domestic, body.tenant)
    return quote_to_response(deduction, body.tenant, lang)


@router.get("/ledger/verify")
def verify_ledger(p: PlatformDep) -> LedgerVerifyResponse:
    return ledger_report_to_response(bills.verify_ledger(p))


@router.get(
    "/reports/vouchers",
    response_model=VoucherReportResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def voucher_report(
    p: PlatformDep, format: Literal["json", "csv"] = "json"
) -> VoucherReportResponse | Response:
    """Voucher spend by programme, month and tenant; domestic vs non-domestic compute; regions."""
    report = report_to_response(bills.voucher_report(p))
    if format == "csv":
        return Response(report_to_csv(report), media_type="text/csv; charset=utf-8")
    return report

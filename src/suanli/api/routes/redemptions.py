"""/api/v1/voucher-redemptions: 定期兑付 of model vouchers per closed period (operator
runs it; a tenant reads what was redeemed for it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from suanli.api.auth import CallerDep, open_to
from suanli.api.deps import LangDep, PlatformDep
from suanli.domain.access import TENANT_ROLES
from suanli.domain.tenants import TENANT_PATTERN
from suanli.schemas.redemptions import (
    PERIOD_PATTERN,
    PeriodRedemptionResponse,
    RedemptionReportResponse,
    RedemptionRunRequest,
)
from suanli.service import access
from suanli.service.redemption import RedemptionReport, redeem_period, redemption_report

router = APIRouter(tags=["billing"])


@router.post("/voucher-redemptions")
def run_redemption(
    body: RedemptionRunRequest, p: PlatformDep, lang: LangDep
) -> RedemptionReportResponse:
    """Redeem a closed period's model-voucher deductions (定期兑付); repeating it redeems
    only what was settled since, and posts what a crash left unposted."""
    run = redeem_period(p, body.period)
    report = redemption_report(p, run.period, None, lang)
    return report_to_response(report, None, run.new, run.posted)


@router.get("/voucher-redemptions")
@open_to(*TENANT_ROLES)
def list_redemptions(
    p: PlatformDep,
    lang: LangDep,
    caller: CallerDep,
    period: Annotated[str | None, Query(pattern=PERIOD_PATTERN, examples=["2026-11"])] = None,
    tenant: Annotated[str | None, Query(pattern=TENANT_PATTERN, max_length=63)] = None,
) -> RedemptionReportResponse:
    """What the programmes redeemed, per period, company and seller, and why each amount
    (a tenant sees what was redeemed for its own spend)."""
    if tenant is not None:
        access.require_tenant(caller, tenant)
    company = tenant if caller.is_operator else caller.tenant
    if company is None and not caller.is_operator:
        return report_to_response(RedemptionReport(period, [], None), None)
    return report_to_response(redemption_report(p, period, company, lang), company)


def report_to_response(
    r: RedemptionReport, company: str | None, new: int | None = None, posted: int | None = None
) -> RedemptionReportResponse:
    return RedemptionReportResponse(
        period=r.period,
        company=company,
        redemptions=[
            PeriodRedemptionResponse(
                key=v.redemption.key,
                programme=v.redemption.programme,
                period=v.redemption.period,
                company=v.redemption.company,
                seller=v.redemption.seller,
                run=v.redemption.seq,
                claimed=str(v.redemption.claimed),
                redeemed=str(v.redemption.redeemed),
                withheld=str(v.redemption.withheld),
                withheld_by=v.redemption.withheld_by.value if v.redemption.withheld_by else None,
                deductions=len(v.redemption.charges),
                at=v.redemption.at,
                posted=v.posted,
                why=v.why,
            )
            for v in r.rows
        ],
        claimed=str(r.claimed),
        redeemed=str(r.redeemed),
        withheld=str(r.withheld),
        pending=None if r.pending is None else str(r.pending),
        new=new,
        posted=posted,
    )

"""Billing values to wire models: amounts as two-decimal strings, texts in the reader's language."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from suanli.billing.ledger import LedgerReport
from suanli.billing.money import ZERO, div
from suanli.billing.policy import VoucherPolicy
from suanli.billing.vouchers import Deduction
from suanli.domain.i18n import Lang
from suanli.domain.tenants import Tenant
from suanli.schemas.api import (
    AppliedResponse,
    BillLineResponse,
    BillResponse,
    BillTotals,
    ComputeShareResponse,
    ConsiderationResponse,
    EligibilityResponse,
    LedgerVerifyResponse,
    ModelRedemptionResponse,
    PoolUseResponse,
    ProgrammeSpendResponse,
    QuoteResponse,
    RegionSpendResponse,
    SpendResponse,
    TenantResponse,
    VoucherPolicyResponse,
    VoucherReportResponse,
)
from suanli.service.bills import Bill, BillPage, PoolUse, Spend, VoucherReport
from suanli.store.base import Redemption, Settlement

HOURS = Decimal("0.0001")


def yuan(amount: Decimal) -> str:
    return f"{amount:.2f}"


def opt_yuan(amount: Decimal | None) -> str | None:
    return None if amount is None else yuan(amount)


def hours(value: Decimal) -> str:
    return f"{value.quantize(HOURS):f}"


def deduction_fields(d: Deduction, lang: Lang) -> dict[str, Any]:
    chosen = d.chosen
    return {
        "gross": yuan(d.gross),
        "programme": d.programme,
        "version": chosen.version if chosen else None,
        "rate": f"{chosen.rate:f}" if chosen else None,
        "cap_left": opt_yuan(chosen.company_left) if chosen else None,
        "pool_left": opt_yuan(chosen.pool_left) if chosen else None,
        "deduction": yuan(d.amount),
        "net": yuan(d.net),
        "explanation": d.explain(lang),
        "considered": [
            ConsiderationResponse(
                programme=c.programme,
                version=c.version,
                outcome=c.outcome.value,
                offer=yuan(c.offer),
                why=c.explain(d.gross, lang),
                issuer=c.issuer or c.programme,
                order=c.order,
            )
            for c in d.considered
        ],
        "applied": [
            AppliedResponse(
                order=c.order or i + 1,
                programme=c.programme,
                issuer=c.issuer or c.programme,
                rate=f"{c.rate:f}",
                deduction=yuan(c.offer),
                limit=c.limit.value if c.limit else None,
                claim=c.claim,
            )
            for i, c in enumerate(d.applied)
        ],
    }


def bill_line_to_response(s: Settlement, posted: bool, lang: Lang) -> BillLineResponse:
    u, line = s.line.usage, s.line
    return BillLineResponse(
        **deduction_fields(s.deduction, lang),
        key=line.key,
        job_id=u.job_id,
        attempt=u.attempt,
        provider=u.provider,
        cluster=u.cluster,
        pool=u.pool,
        region=u.region,
        accelerator=u.accelerator,
        domestic=u.domestic,
        accelerators=u.accelerators,
        started_at=u.started_at,
        ended_at=u.ended_at,
        seconds=u.seconds,
        accelerator_hours=hours(line.accelerator_hours),
        price_per_accelerator_hour=f"{line.price_per_accelerator_hour:f}",
        settled_at=s.settled_at,
        posted=posted,
    )


def bill_page_to_response(page: BillPage, posted: set[str], lang: Lang) -> BillResponse:
    whole = bill_to_response(page.bill, posted, lang)
    totals = whole.totals.model_copy(
        update={
            "lines": page.lines,
            "gross": yuan(page.gross),
            "deduction": yuan(page.deduction),
            "net": yuan(page.net),
        }
    )
    return whole.model_copy(update={"totals": totals})


def bill_to_response(bill: Bill, posted: set[str], lang: Lang) -> BillResponse:
    return BillResponse(
        tenant=bill.tenant,
        display_name=bill.display_name,
        month=bill.month,
        lines=[
            bill_line_to_response(s, s.entry_key is None or s.entry_key in posted, lang)
            for s in bill.settlements
        ],
        totals=BillTotals(
            lines=len(bill.settlements),
            gross=yuan(bill.gross),
            deduction=yuan(bill.deduction),
            net=yuan(bill.net),
            model_voucher=yuan(bill.model_voucher),
        ),
        model_vouchers=[
            redemption_to_response(r, r.entry_key is None or r.entry_key in posted, lang)
            for r in bill.redemptions
        ],
    )


def redemption_to_response(r: Redemption, posted: bool, lang: Lang) -> ModelRedemptionResponse:
    c = r.contract
    return ModelRedemptionResponse(
        **deduction_fields(r.deduction, lang),
        contract_id=c.contract_id,
        tenant=c.tenant,
        vendor=c.vendor,
        model=c.model,
        kind=c.use.value,
        period=r.period,
        completed=yuan(r.completed),
        contract_amount=yuan(c.amount),
        settled_at=r.settled_at,
        posted=posted,
    )


def quote_to_response(d: Deduction, tenant: str | None, lang: Lang) -> QuoteResponse:
    return QuoteResponse(
        **deduction_fields(d, lang), tenant=tenant, on=d.charge.on, domestic=d.charge.domestic
    )


def policy_to_response(p: VoucherPolicy) -> VoucherPolicyResponse:
    return VoucherPolicyResponse(
        programme=p.programme,
        version=p.version,
        kind=p.kind.value,
        title=p.title,
        cite=p.cite,
        illustrative=p.illustrative,
        annual_pool=opt_yuan(p.annual_pool),
        rate_domestic=f"{p.rate_domestic:f}",
        rate_non_domestic=f"{p.rate_non_domestic:f}",
        tenant_cap=opt_yuan(p.tenant_cap),
        tenant_cap_scope=p.tenant_cap_scope.value,
        project_cap=opt_yuan(p.project_cap),
        valid_from=p.valid_from,
        valid_to=p.valid_to,
        eligibility=[
            EligibilityResponse(
                attribute=r.attribute, allowed=list(r.allowed), cite=r.cite, of=r.of.value
            )
            for r in p.eligibility
        ],
        issuer=p.payer,
        stacking_order=p.stacking.order if p.stacking else None,
        combined_cap=f"{p.stacking.combined_cap:f}" if p.stacking else None,
        claim_required=p.claim_required,
        rate_by_class={
            f"{c.attribute}={_attr(c.value)}": f"{c.rate_domestic:f}" for c in p.rate_by_class
        },
    )


def _attr(value: str | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def tenant_to_response(t: Tenant) -> TenantResponse:
    return TenantResponse(name=t.name, display_name=t.display_name, attributes=dict(t.attributes))


def ledger_report_to_response(r: LedgerReport) -> LedgerVerifyResponse:
    return LedgerVerifyResponse(**r.to_dict())


def _spend(s: Spend) -> SpendResponse:
    return SpendResponse(
        lines=s.lines,
        accelerator_hours=hours(s.accelerator_hours),
        gross=yuan(s.gross),
        deduction=yuan(s.deduction),
    )


def _share(part: Decimal, whole: Decimal) -> str:
    return f"{div(part, whole).quantize(HOURS) if whole else ZERO.quantize(HOURS):f}"


def pool_use_to_response(u: PoolUse) -> PoolUseResponse:
    return PoolUseResponse(
        programme=u.programme,
        year=u.year,
        annual_pool=opt_yuan(u.annual_pool),
        used=yuan(u.used),
        left=opt_yuan(u.annual_pool - u.used) if u.annual_pool is not None else None,
    )


def report_to_response(r: VoucherReport) -> VoucherReportResponse:
    dom, foreign = r.domestic(True), r.domestic(False)
    regions = sorted({region for region, _ in r.by_region})
    return VoucherReportResponse(
        voucher_spend=[
            ProgrammeSpendResponse(
                **_spend(s).model_dump(), programme=prog, month=month, tenant=tenant
            )
            for (prog, month, tenant), s in r.by_programme.items()
        ],
        pools=[pool_use_to_response(u) for u in r.pools],
        compute=ComputeShareResponse(
            domestic=_spend(dom),
            non_domestic=_spend(foreign),
            domestic_share_hours=_share(
                dom.accelerator_hours, dom.accelerator_hours + foreign.accelerator_hours
            ),
            domestic_share_yuan=_share(dom.gross, dom.gross + foreign.gross),
        ),
        by_region=[
            RegionSpendResponse(
                region=region,
                domestic=_spend(r.by_region.get((region, True), Spend())),
                non_domestic=_spend(r.by_region.get((region, False), Spend())),
            )
            for region in regions
        ],
    )


CSV_COLUMNS = [
    "section",
    "programme",
    "month",
    "tenant",
    "region",
    "domestic",
    "lines",
    "accelerator_hours",
    "gross",
    "deduction",
]


def report_to_csv(r: VoucherReportResponse) -> str:
    """One flat table: voucher spend rows, then compute rows by region and kind."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for v in r.voucher_spend:
        writer.writerow(
            [
                "voucher_spend",
                v.programme,
                v.month,
                v.tenant,
                "",
                "",
                v.lines,
                v.accelerator_hours,
                v.gross,
                v.deduction,
            ]
        )
    for g in r.by_region:
        for flag, s in (("true", g.domestic), ("false", g.non_domestic)):
            if s.lines:
                writer.writerow(
                    [
                        "compute",
                        "",
                        "",
                        "",
                        g.region,
                        flag,
                        s.lines,
                        s.accelerator_hours,
                        s.gross,
                        s.deduction,
                    ]
                )
    return buf.getvalue()

"""/api/v1 billing: bills, voucher policies and quotes, the ledger check, voucher reports."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from suanli.api.auth import CallerDep, open_to
from suanli.api.convert_billing import (
    bill_page_to_response,
    bill_to_response,
    ledger_report_to_response,
    policy_to_response,
    pool_use_to_response,
    quote_to_response,
    redemption_to_response,
    report_to_csv,
    report_to_response,
    tenant_to_response,
)
from suanli.api.convert_contracts import (
    claim_to_response,
    contract_to_response,
    model_use,
    programme_claim_to_response,
    standing_to_response,
)
from suanli.api.convert_purchases import purchase_to_response, subsidy_to_response
from suanli.api.deps import LangDep, PlatformDep
from suanli.billing.metering import local_date
from suanli.domain.access import EVERYONE, TENANT_ROLES, Role, Scope
from suanli.schemas.api import (
    BillResponse,
    LedgerVerifyResponse,
    ModelRedemptionResponse,
    PoolUseResponse,
    QuoteRequest,
    QuoteResponse,
    TenantResponse,
    VoucherPolicyResponse,
    VoucherReportResponse,
)
from suanli.schemas.api_contracts import (
    ClaimDecisionRequest,
    ClaimRequest,
    ClaimResponse,
    ContractRequest,
    ContractResponse,
    ProgrammeClaimRequest,
    ProgrammeClaimResponse,
    PurchaseRequest,
    PurchaseResponse,
    RedeemRequest,
    SubsidyResponse,
    VoucherStandingResponse,
)
from suanli.service import access, bills, claims, contracts, purchases

router = APIRouter(tags=["billing"])
Month = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-11"])]


@router.get("/tenants")
@open_to(*TENANT_ROLES)
def list_tenants(
    p: PlatformDep,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[TenantResponse]:
    """The tenants the caller may see, by name, one page."""
    found = [t for t in bills.list_tenants(p) if caller.sees_tenant(t.name)]
    return [tenant_to_response(t) for t in found[offset : offset + limit]]


@router.get("/bills/{tenant}")
@open_to(*TENANT_ROLES)
def get_bill(
    tenant: str,
    p: PlatformDep,
    lang: LangDep,
    caller: CallerDep,
    month: Month = None,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> BillResponse:
    """The tenant's invoice for a month (China time; default: this month).

    Totals cover the whole month; with ``limit`` only that page of lines is listed.
    """
    access.require_tenant(caller, tenant)
    page = bills.get_bill_page(p, tenant, month, limit, offset) if limit is not None else None
    bill = page.bill if page is not None else bills.get_bill(p, tenant, month)
    posted = bills.posted_keys(
        p, [s.entry_key for s in bill.settlements] + [x.entry_key for x in bill.redemptions]
    )
    if page is not None:
        return bill_page_to_response(page, posted, lang)
    return bill_to_response(bill, posted, lang)


@router.get("/voucher-policies")
@open_to(*EVERYONE)
def list_policies(p: PlatformDep) -> list[VoucherPolicyResponse]:
    return [policy_to_response(x) for x in bills.list_policies(p)]


@router.post("/vouchers/quote")
@open_to(*EVERYONE, scope=Scope.READ)
def quote(body: QuoteRequest, p: PlatformDep, lang: LangDep, caller: CallerDep) -> QuoteResponse:
    """What a compute bill line of ``amount`` would net today, and why."""
    if body.tenant is not None:
        access.require_tenant(caller, body.tenant)
    deduction = bills.quote(p, body.amount, body.domestic, body.tenant)
    return quote_to_response(deduction, body.tenant, lang)


@router.get("/voucher-pools")
def voucher_pools(p: PlatformDep) -> list[PoolUseResponse]:
    """Each programme's annual pool, used and left (the pool part of the voucher report)."""
    return [pool_use_to_response(x) for x in bills.pool_use(p)]


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


@router.post("/contracts", status_code=status.HTTP_201_CREATED)
def add_contract(body: ContractRequest, p: PlatformDep) -> ContractResponse:
    """Record a model contract (模型券); only domestic base models are accepted."""
    contract = contracts.add_contract(
        p,
        body.tenant,
        body.vendor,
        body.model,
        model_use(body.kind),
        body.domestic,
        body.amount,
        body.evidence,
        body.signed,
        body.facts,
    )
    return contract_to_response(contract)


@router.get("/contracts")
@open_to(*TENANT_ROLES)
def list_contracts(
    p: PlatformDep, caller: CallerDep, tenant: str | None = None
) -> list[ContractResponse]:
    if tenant is not None:
        access.require_tenant(caller, tenant)
    tenant = tenant if caller.is_operator else caller.tenant
    return [contract_to_response(v.contract, v) for v in contracts.contract_views(p, tenant)]


@router.post("/contracts/{contract_id}/redemptions")
def redeem_contract(
    contract_id: str, body: RedeemRequest, p: PlatformDep, lang: LangDep
) -> ModelRedemptionResponse:
    """Redeem one period of a contract: 50 % of what was completed, within caps and pool."""
    r = contracts.redeem(p, contract_id, body.period, body.completed)
    return redemption_to_response(r, contracts.redemption_posted(p, r), lang)


@router.get("/vouchers/{tenant}")
@open_to(*TENANT_ROLES)
def voucher_standing(
    tenant: str, p: PlatformDep, lang: LangDep, caller: CallerDep
) -> VoucherStandingResponse:
    """The tenant under every programme: eligibility, claim, cap used and left, pool left."""
    access.require_tenant(caller, tenant)
    standings = contracts.standing(p, tenant)
    known = bills.billing_of(p).tenants.get(tenant)
    assert known is not None  # noqa: S101 - standing() raised NotFound otherwise
    return standing_to_response(known, local_date(p.clock.now()), standings, lang)


@router.post("/voucher-claims")
def claim_voucher(body: ClaimRequest, p: PlatformDep) -> ClaimResponse:
    """Record a tenant's claim (申领) of a programme; repeating it changes nothing."""
    claim, new = contracts.claim(p, body.tenant, body.programme)
    policy = bills.billing_of(p).policy(body.programme)
    return claim_to_response(claim, new, bool(policy and policy.claim_required))


@router.post("/programme-claims", status_code=status.HTTP_201_CREATED)
def file_programme_claim(
    body: ProgrammeClaimRequest, p: PlatformDep, lang: LangDep
) -> ProgrammeClaimResponse:
    """Record a claim (申领) of a programme with a claim step, against its contract."""
    c = claims.file_claim(
        p,
        body.tenant,
        body.programme,
        body.contract,
        body.amount,
        body.starts,
        body.ends,
        list(body.evidence),
        body.signed,
    )
    return programme_claim_to_response(c, lang)


@router.get("/programme-claims")
@open_to(*TENANT_ROLES)
def list_programme_claims(
    p: PlatformDep, lang: LangDep, caller: CallerDep, tenant: str | None = None
) -> list[ProgrammeClaimResponse]:
    """Claims with their status, approved amount and expiry (a tenant sees its own)."""
    if tenant is not None:
        access.require_tenant(caller, tenant)
    tenant = tenant if caller.is_operator else caller.tenant
    if tenant is None and not caller.is_operator:
        return []
    return [programme_claim_to_response(c, lang) for c in claims.list_claims(p, tenant)]


@router.post("/programme-claims/{claim_id}/decision")
def decide_programme_claim(
    claim_id: str, body: ClaimDecisionRequest, p: PlatformDep, lang: LangDep
) -> ProgrammeClaimResponse:
    """Approve (within the programme's rules) or reject a pending claim; once only."""
    return programme_claim_to_response(claims.decide_claim(p, claim_id, body.approve), lang)


@router.post("/purchases", status_code=status.HTTP_201_CREATED)
def add_purchase(body: PurchaseRequest, p: PlatformDep) -> PurchaseResponse:
    """Record a provider's purchase of domestic AI-chip servers (provider subsidy)."""
    record = purchases.add_purchase(
        p,
        body.provider,
        body.project,
        body.accelerator,
        body.servers,
        body.amount,
        body.evidence,
        body.listed_cluster,
        body.signed,
    )
    return purchase_to_response(record)


@router.get("/purchases")
@open_to(Role.PROVIDER_ADMIN)
def list_purchases(
    p: PlatformDep,
    caller: CallerDep,
    provider: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> list[PurchaseResponse]:
    if provider is not None:
        access.require_provider(caller, provider)
    provider = provider if caller.is_operator else caller.provider
    return [purchase_to_response(v.record, v) for v in purchases.list_purchases(p, provider)]


@router.post("/purchases/{purchase_id}/subsidy")
def subsidise_purchase(purchase_id: str, p: PlatformDep, lang: LangDep) -> SubsidyResponse:
    """The provider subsidy: ≤ 10 % of the amount, ≤ the project cap left; once per purchase."""
    s = purchases.subsidise(p, purchase_id)
    return subsidy_to_response(s, purchases.subsidy_posted(p, s), lang)

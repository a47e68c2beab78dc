"""/api/v1/usage: model-service tokens per period, caller, key and service; token charges
with their model-voucher deductions (as a caller) or earnings (as a publisher)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from suanli.api.auth import CallerDep, open_to
from suanli.api.deps import LangDep, PlatformDep
from suanli.domain.access import TENANT_ROLES
from suanli.domain.errors import FieldError, InvalidInput
from suanli.domain.i18n import Lang
from suanli.domain.tenants import TENANT_PATTERN
from suanli.schemas.usage import TokenChargeResponse, UsageResponse, UsageRowResponse
from suanli.service import access, bills
from suanli.service.deps import Platform
from suanli.service.usage_report import UsageReport, usage_report

router = APIRouter(tags=["usage"])
Month = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-11"])]
Name = Annotated[str | None, Query(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]


@router.get("/usage")
@open_to(*TENANT_ROLES)
def get_usage(
    p: PlatformDep,
    lang: LangDep,
    caller: CallerDep,
    tenant: Annotated[str | None, Query(pattern=TENANT_PATTERN, max_length=63)] = None,
    side: Literal["caller", "publisher"] = "caller",
    month: Month = None,
    service: Name = None,
    key: Name = None,
    by: Literal["minute", "hour", "day", "month"] = "day",
) -> UsageResponse:
    """A tenant's model-service usage in a month (China time; default: this month).

    ``side=caller``: the services it called, what it was charged and what model vouchers
    paid; ``side=publisher``: calls to its own services and what it earned. ``tenant``
    defaults to the caller's own; the operator may leave it out for every tenant.
    """
    if tenant is None:
        tenant = caller.tenant
        if tenant is None and not caller.is_operator:
            raise InvalidInput(errors=[FieldError("tenant", "not_allowed", None, "a tenant")])
    else:
        access.require_tenant(caller, tenant)
    report = usage_report(p, tenant, month, side, service, key, by)
    return usage_to_response(p, report, lang)


def usage_to_response(p: Platform, r: UsageReport, lang: Lang) -> UsageResponse:
    posted = bills.posted_keys(p, [s.entry_key for s in r.charges])
    return UsageResponse(
        tenant=r.tenant,
        side=r.side,
        month=r.month,
        by=r.by,
        requests=r.requests,
        prompt_tokens=r.prompt_tokens,
        completion_tokens=r.completion_tokens,
        gross=r.gross,
        voucher=r.voucher,
        net=r.net,
        fee=r.fee,
        rows=[
            UsageRowResponse(
                period=x.period,
                caller=x.caller,
                api_key_id=x.api_key_id,
                service_id=x.service_id,
                service_name=x.service_name,
                owner=x.owner,
                requests=x.requests,
                prompt_tokens=x.prompt_tokens,
                completion_tokens=x.completion_tokens,
                cost=x.cost,
            )
            for x in r.rows
        ],
        charges=[
            TokenChargeResponse(
                key=s.line.key,
                service_id=s.line.service_id,
                service_name=s.line.service_name,
                caller=s.line.caller,
                owner=s.line.owner,
                requests=s.line.requests,
                prompt_tokens=s.line.prompt_tokens,
                completion_tokens=s.line.completion_tokens,
                gross=s.line.gross,
                voucher=s.deduction.amount,
                net=s.deduction.net,
                programme=s.deduction.programme,
                why=s.deduction.explain(lang),
                settled_at=s.settled_at.isoformat(),
                posted=s.entry_key is None or s.entry_key in posted,
            )
            for s in r.charges
        ],
    )

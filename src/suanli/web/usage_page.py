"""The console's model-usage page: a tenant's tokens per day, caller, key and service, and
the token charges with their model-voucher (模型券) deductions, as caller or as publisher."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from suanli.api.auth import public
from suanli.schemas.api import VoucherPolicyResponse
from suanli.schemas.usage import UsageResponse
from suanli.web.caller import ApiFailure
from suanli.web.view import ViewDep, failure, missing, refused

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/tenant/{tenant}/usage", response_class=HTMLResponse)
@public
async def usage_page(
    tenant: str,
    v: ViewDep,
    month: str | None = None,
    side: Literal["caller", "publisher"] = "caller",
) -> Response:
    viewer = v.viewer
    if viewer is None or not (viewer.is_operator or viewer.tenant is not None):
        return refused(v)  # another role's pages
    if not viewer.sees_tenant(tenant):
        return missing(v, "tenant_not_found", tenant=tenant)  # another tenant's: not said
    try:
        usage = await v.api.get(
            "/usage", UsageResponse, tenant=tenant, month=month or None, side=side
        )
        policies = await v.api.get("/voucher-policies", list[VoucherPolicyResponse])
    except ApiFailure as exc:
        return failure(v, exc)
    return v.page(
        "usage.html",
        role="tenant",
        who=tenant,
        usage=usage,
        titles={x.programme: x.title for x in policies},
    )

"""The console's pages by role: each asks the API (through ApiCaller) and renders a template.

Job pages are in ``pages_jobs``, the access pages (tenants, users, tokens, audit) in
``pages_access``; the shared pieces (the view, navigation, pagers, error pages) in ``view``.
"""

from __future__ import annotations

import asyncio
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from suanli.api.auth import TOKEN_COOKIE, TokenCache, public
from suanli.domain.errors import Unauthenticated
from suanli.domain.i18n import render
from suanli.schemas.api import (
    BillResponse,
    FleetResponse,
    JobListResponse,
    JobResponse,
    PoolUseResponse,
    TenantResponse,
    VoucherPolicyResponse,
)
from suanli.schemas.api_contracts import VoucherStandingResponse
from suanli.schemas.operations import (
    ProviderResponse,
    QueueResponse,
    SettlementPageResponse,
    UtilisationResponse,
)
from suanli.schemas.redemptions import RedemptionReportResponse
from suanli.web import format as fmt
from suanli.web.caller import ApiCaller, ApiFailure
from suanli.web.pages_jobs import job_costs
from suanli.web.view import (
    PAGE,
    Page,
    View,
    ViewDep,
    failure,
    missing,
    open_pager,
    page_lang,
    pager,
    refused,
)

router = APIRouter(prefix="/console", include_in_schema=False)
STATUSES = (
    "pending",
    "queued",
    "placed",
    "starting",
    "running",
    "recovering",
    "succeeded",
    "failed",
    "cancelled",
)


@router.get("", response_class=HTMLResponse)
@public
async def home(v: ViewDep) -> Response:
    viewer = v.viewer
    if viewer is not None and viewer.tenant is not None:
        return RedirectResponse(f"/console/tenant/{viewer.tenant}/jobs", 303)
    if viewer is not None and viewer.provider is not None:
        return RedirectResponse(f"/console/provider/{viewer.provider}", 303)
    try:
        tenants, fleet = await asyncio.gather(
            v.api.get("/tenants", list[TenantResponse], limit=PAGE),
            v.api.get("/fleet", FleetResponse),
        )
    except ApiFailure as exc:
        return failure(v, exc)
    return v.page("home.html", role=None, tenants=tenants, fleet=fleet)


# --- tenant ---------------------------------------------------------------------------------


async def _tenant(v: View, tenant: str) -> TenantResponse | HTMLResponse:
    """The tenant a page is about, or the page that says it is not the reader's to see."""
    viewer = v.viewer
    if viewer is None or not (viewer.is_operator or viewer.tenant is not None):
        return refused(v)  # another role's pages
    if not viewer.sees_tenant(tenant):
        return missing(v, "tenant_not_found", tenant=tenant)  # another tenant's: not said
    try:
        return await v.api.get(f"/tenants/{tenant}", TenantResponse)
    except ApiFailure as exc:
        return failure(v, exc)


@router.get("/tenant/{tenant}", response_class=HTMLResponse)
@public
async def tenant_home(tenant: str, _v: ViewDep) -> Response:
    return RedirectResponse(f"/console/tenant/{tenant}/jobs")


@router.get("/tenant/{tenant}/jobs", response_class=HTMLResponse)
@public
async def tenant_jobs(
    tenant: str,
    v: ViewDep,
    page: Page = 1,
    status: str | None = None,
    provider: str | None = None,
) -> Response:
    found = await _tenant(v, tenant)
    if isinstance(found, HTMLResponse):
        return found
    return await _jobs(v, "tenant", found, page, status, tenant, provider)


async def _jobs(
    v: View,
    role: str,
    who: TenantResponse | None,
    page: int,
    status: str | None,
    tenant: str | None,
    provider: str | None,
) -> Response:
    chosen = status if status in STATUSES else None
    try:
        jobs, providers, tenants = await asyncio.gather(
            v.api.get(
                "/jobs",
                JobListResponse,
                tenant=tenant,
                provider=provider or None,
                status=chosen,
                limit=PAGE,
                offset=(page - 1) * PAGE,
            ),
            v.api.get("/providers", list[ProviderResponse]),
            v.api.get("/tenants", list[TenantResponse], limit=100)
            if role == "operator"
            else _none(),
        )
        costs = await job_costs(v, jobs.jobs)
    except ApiFailure as exc:
        return failure(v, exc)
    return v.page(
        "jobs.html",
        role=role,
        who=who.name if who else None,
        heading=who.display_name if who else None,
        jobs=jobs,
        costs=costs,
        statuses=STATUSES,
        status=chosen,
        providers={x.name: x.display_name for x in providers},
        provider=provider,
        tenants=tenants,
        tenant=tenant,
        pager=pager(page, jobs.total, v.request),
    )


async def _none() -> None:
    return None


@router.get("/tenant/{tenant}/submit", response_class=HTMLResponse)
@public
async def submit_page(tenant: str, v: ViewDep, clone: str | None = None) -> Response:
    """The submit form; ``clone``: a job whose spec fills it (re-submit)."""
    found = await _tenant(v, tenant)
    if isinstance(found, HTMLResponse):
        return found
    if v.viewer is not None and v.viewer.tenant is None and not v.viewer.is_operator:
        return refused(v)
    example = resources.files("suanli.web").joinpath("example.yaml").read_text("utf-8")
    filled, secrets = "", False
    if clone:
        try:
            job = await v.api.get(f"/jobs/{clone}", JobResponse)
        except ApiFailure as exc:
            return failure(v, exc)
        filled, secrets = _spec_yaml(job.spec)
    return v.page(
        "submit.html",
        role="tenant",
        who=tenant,
        example=example,
        filled=filled,
        cloned=clone,
        secrets=secrets,
    )


def _spec_yaml(spec: dict[str, Any]) -> tuple[str, bool]:
    """A job's spec as YAML to submit again; env values were never sent back: blank them."""
    spec = dict(spec)
    env = spec.get("env") or {}
    if env:
        spec["env"] = dict.fromkeys(env, "")
    else:
        spec.pop("env", None)
    return yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), bool(env)


@router.get("/tenant/{tenant}/bills", response_class=HTMLResponse)
@public
async def bills_page(
    tenant: str, v: ViewDep, page: Page = 1, month: str | None = None
) -> Response:
    found = await _tenant(v, tenant)
    if isinstance(found, HTMLResponse):
        return found
    try:
        bill, policies = await asyncio.gather(
            v.api.get(
                f"/bills/{tenant}",
                BillResponse,
                month=month,
                limit=PAGE,
                offset=(page - 1) * PAGE,
            ),
            v.api.get("/voucher-policies", list[VoucherPolicyResponse]),
        )
        redeemed = await v.api.get(  # 定期兑付 of the month's model-voucher deductions
            "/voucher-redemptions", RedemptionReportResponse, period=bill.month, tenant=tenant
        )
    except ApiFailure as exc:
        return failure(v, exc)
    return v.page(
        "bills.html",
        role="tenant",
        who=tenant,
        bill=bill,
        redeemed=redeemed,
        titles=_titles(policies),
        pager=pager(page, bill.totals.lines, v.request),
    )


def _titles(policies: list[VoucherPolicyResponse]) -> dict[str, str]:
    return {x.programme: x.title for x in policies}


@router.get("/tenant/{tenant}/vouchers", response_class=HTMLResponse)
@public
async def vouchers_page(tenant: str, v: ViewDep) -> Response:
    """The tenant under every programme: eligible or why not, claimed, caps and pools left."""
    found = await _tenant(v, tenant)
    if isinstance(found, HTMLResponse):
        return found
    try:
        standing, policies = await asyncio.gather(
            v.api.get(f"/vouchers/{tenant}", VoucherStandingResponse),
            v.api.get("/voucher-policies", list[VoucherPolicyResponse]),
        )
    except ApiFailure as exc:
        return failure(v, exc)
    return v.page(
        "vouchers.html",
        role="tenant",
        who=tenant,
        tenant=found,
        standing=standing,
        titles=_titles(policies),
    )


# --- provider -------------------------------------------------------------------------------


@router.get("/provider/{provider}", response_class=HTMLResponse)
@public
async def provider_page(
    provider: str, v: ViewDep, page: Page = 1, spage: Page = 1, month: str | None = None
) -> Response:
    viewer = v.viewer
    if viewer is None or not (viewer.is_operator or viewer.provider is not None):
        return refused(v)  # another role's pages
    if not viewer.sees_provider(provider):
        return missing(v, "access.org_not_found", name=provider)
    try:
        fleet, use, jobs, settled = await asyncio.gather(
            v.api.get("/fleet", FleetResponse),
            v.api.get("/utilisation", UtilisationResponse, provider=provider),
            v.api.get(
                "/jobs", JobListResponse, provider=provider, limit=PAGE, offset=(page - 1) * PAGE
            ),
            v.api.get(
                f"/providers/{provider}/settlements",
                SettlementPageResponse,
                month=month,
                limit=PAGE,
                offset=(spage - 1) * PAGE,
            ),
        )
        costs = await job_costs(v, jobs.jobs)
    except ApiFailure as exc:
        return failure(v, exc)
    return v.page(
        "provider.html",
        role="provider",
        who=provider,
        fleet=fleet,
        clusters=[c for c in fleet.clusters if c.provider == provider],
        totals=fleet.by_provider.get(provider),
        use=use,
        jobs=jobs,
        costs=costs,
        pager=pager(page, jobs.total, v.request),
        settled=settled,
        spager=pager(spage, settled.total, v.request, "spage"),
    )


# --- operator -------------------------------------------------------------------------------


@router.get("/operator", response_class=HTMLResponse)
@public
async def operator_page(v: ViewDep, tpage: Page = 1) -> Response:
    if v.viewer is None or not v.viewer.is_operator:
        return refused(v)
    try:
        fleet, queue, spent, policies, use, tenants = await asyncio.gather(
            v.api.get("/fleet", FleetResponse),
            v.api.get("/queue", QueueResponse),
            v.api.get("/voucher-pools", list[PoolUseResponse]),
            v.api.get("/voucher-policies", list[VoucherPolicyResponse]),
            v.api.get("/utilisation", UtilisationResponse),
            # one more than a page: whether a next page exists, without counting them all
            v.api.get("/tenants", list[TenantResponse], limit=PAGE + 1, offset=(tpage - 1) * PAGE),
        )
    except ApiFailure as exc:
        return failure(v, exc)
    return v.page(
        "operator.html",
        role="operator",
        who=None,
        fleet=fleet,
        regions=fmt.region_grid(fleet),
        queue=queue,
        pools=fmt.pool_rows(spent, policies, use.start.year),
        titles=_titles(policies),
        use=use,
        tenants=tenants[:PAGE],
        tpager=open_pager(tpage, len(tenants), v.request, "tpage"),
    )


@router.get("/operator/jobs", response_class=HTMLResponse)
@public
async def operator_jobs(
    v: ViewDep,
    page: Page = 1,
    status: str | None = None,
    tenant: str | None = None,
    provider: str | None = None,
) -> Response:
    if v.viewer is None or not v.viewer.is_operator:
        return refused(v)
    return await _jobs(v, "operator", None, page, status, tenant or None, provider)


# --- sign-in --------------------------------------------------------------------------------


@router.get("/sign-in", response_class=HTMLResponse)
@public
async def sign_in_page(request: Request, next: str = "/console") -> Response:
    return await _sign_in_form(request, next)


@router.post("/sign-in", response_class=HTMLResponse)
@public
async def sign_in(request: Request) -> Response:
    """Check the pasted token and keep it in an HttpOnly, SameSite=Strict cookie."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0].strip()
    back = _local((form.get("next") or ["/console"])[0])
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
        return await _sign_in_form(request, back, "access.cross_origin", 403, origin=origin)
    tokens: TokenCache = request.app.state.tokens
    try:
        tokens.principal(token)
    except Unauthenticated as exc:
        return await _sign_in_form(request, back, exc.code, 401)
    response = RedirectResponse(back, 303)
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict", path="/")
    return response


@router.post("/sign-out")
@public
async def sign_out() -> Response:
    response = RedirectResponse("/console/sign-in", 303)
    response.delete_cookie(TOKEN_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _local(path: str) -> str:
    """Only back into the console: never a redirect to another site."""
    return path if path.startswith("/console") and "//" not in path else "/console"


async def _sign_in_form(
    request: Request, back: str, error: str | None = None, code: int = 200, **params: Any
) -> HTMLResponse:
    lang = page_lang(request)
    view = View(request, lang, ApiCaller(request, lang))
    await view.api.close()  # the form asks the API nothing
    message = render(error, lang, **params) if error else None
    return view.page("sign_in.html", code=code, role=None, next=_local(back), error=message)

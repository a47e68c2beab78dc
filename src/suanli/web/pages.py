"""The console's pages: each asks the API (through ApiCaller) and renders a template."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from suanli.api.auth import TOKEN_COOKIE, TokenCache, public
from suanli.domain.access import Principal
from suanli.domain.errors import Unauthenticated
from suanli.domain.i18n import Lang, pick_lang, render
from suanli.schemas.api import (
    BillResponse,
    ErrorBody,
    FleetResponse,
    JobListResponse,
    JobResponse,
    PoolUseResponse,
    TenantResponse,
    VoucherPolicyResponse,
)
from suanli.schemas.operations import (
    JobCostResponse,
    ProviderResponse,
    QueueResponse,
    SettlementPageResponse,
    UtilisationResponse,
)
from suanli.web import format as fmt
from suanli.web.caller import ApiCaller, ApiFailure

router = APIRouter(prefix="/console", include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
LANG_COOKIE = "suanli_lang"
PAGE = 20
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
VENDOR = Path(__file__).with_name("static") / "vendor"


def _lang(request: Request) -> Lang:
    asked = request.query_params.get("lang")
    if asked in ("zh", "en"):
        return "zh" if asked == "zh" else "en"
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in ("zh", "en"):
        return "zh" if cookie == "zh" else "en"
    return pick_lang(request.headers.get("accept-language"))


class SignInNeeded(Exception):
    """A page was asked without a valid token: the application redirects to sign-in."""


async def _signed_in(request: Request) -> Principal:
    tokens: TokenCache = request.app.state.tokens
    try:
        return await tokens.principal_soon(request.cookies.get(TOKEN_COOKIE))
    except Unauthenticated as exc:
        raise SignInNeeded from exc


@dataclass
class View:
    """One page view: the reader, its language and the API as seen by the reader."""

    request: Request
    lang: Lang
    api: ApiCaller
    viewer: Principal | None = None

    def page(self, template: str, code: int = 200, **context: Any) -> HTMLResponse:
        response = templates.TemplateResponse(
            self.request, template, {**self._base(), **context}, status_code=code
        )
        if self.request.query_params.get("lang") in ("zh", "en"):
            response.set_cookie(LANG_COOKIE, self.lang, max_age=365 * 86400, samesite="lax")
        return response

    def _base(self) -> dict[str, Any]:
        lang = self.lang

        def t(code: str, **params: Any) -> str:
            return render(code, lang, **params)

        other: Lang = "en" if lang == "zh" else "zh"
        query = {k: v for k, v in self.request.query_params.items() if k != "lang"}
        return {
            "lang": lang,
            "html_lang": "zh-CN" if lang == "zh" else "en",
            "t": t,
            "switch_url": f"{self.request.url.path}?{urlencode({**query, 'lang': other})}",
            "yuan": fmt.yuan,
            "pct": fmt.pct,
            "num": fmt.num,
            "region_name": lambda r: fmt.region_name(r, lang),
            "status_name": lambda s: render(f"status.{s}", lang),
            "charts": (VENDOR / "echarts.min.js").exists(),
            "htmx": (VENDOR / "htmx.min.js").exists(),
            "path": self.request.url.path,
            "viewer": self.viewer,
        }


async def _view(request: Request) -> AsyncIterator[View]:
    # Every page needs a signed-in reader; the API then checks what that reader may see.
    viewer = await _signed_in(request)
    lang = _lang(request)
    api = ApiCaller(request, lang)
    try:
        yield View(request, lang, api, viewer)
    finally:
        await api.close()


ViewDep = Annotated[View, Depends(_view)]
Page = Annotated[int, Query(ge=1, le=1_000_000)]


def _failure(v: View, exc: ApiFailure) -> HTMLResponse:
    return v.page("error.html", code=exc.status, error=exc.body)


def _not_for_you(v: View) -> HTMLResponse:
    """Another role's page: said plainly, as the API would (the API refuses its data too)."""
    who = v.viewer
    assert who is not None  # noqa: S101 - every page's view has a signed-in reader
    path = v.request.url.path
    message = render("access.forbidden", v.lang, user=who.user, role=who.role.value, action=path)
    return v.page(
        "error.html", code=403, error=ErrorBody(code="access.forbidden", message=message)
    )


def pager(page: int, total: int, request: Request, key: str = "page") -> dict[str, Any]:
    """Links and figures for one page of ``PAGE`` rows out of ``total``."""
    query = dict(request.query_params)

    def link(n: int) -> str:
        return f"{request.url.path}?{urlencode({**query, key: n})}"

    last_page = max(1, -(-total // PAGE))
    return {
        "first": min(total, (page - 1) * PAGE + 1),
        "last": min(total, page * PAGE),
        "total": total,
        "prev": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < last_page else None,
    }


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
        return _failure(v, exc)
    return v.page("home.html", role=None, tenants=tenants, fleet=fleet)


# --- tenant ---------------------------------------------------------------------------------


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
    return await _jobs(v, "tenant", tenant, page, status, tenant, provider)


async def _jobs(
    v: View,
    role: str,
    who: str | None,
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
            v.api.get("/tenants", list[TenantResponse], limit=100),
        )
    except ApiFailure as exc:
        return _failure(v, exc)
    return v.page(
        "jobs.html",
        role=role,
        who=who,
        jobs=jobs,
        statuses=STATUSES,
        status=chosen,
        providers={x.name: x.display_name for x in providers},
        provider=provider,
        tenants=tenants if role == "operator" else None,
        tenant=tenant,
        pager=pager(page, jobs.total, v.request),
    )


@router.get("/tenant/{tenant}/submit", response_class=HTMLResponse)
@public
async def submit_page(tenant: str, v: ViewDep) -> Response:
    example = resources.files("suanli.web").joinpath("example.yaml").read_text("utf-8")
    return v.page("submit.html", role="tenant", who=tenant, example=example)


@router.get("/tenant/{tenant}/bills", response_class=HTMLResponse)
@public
async def bills_page(
    tenant: str, v: ViewDep, page: Page = 1, month: str | None = None
) -> Response:
    try:
        bill = await v.api.get(
            f"/bills/{tenant}", BillResponse, month=month, limit=PAGE, offset=(page - 1) * PAGE
        )
    except ApiFailure as exc:
        return _failure(v, exc)
    return v.page(
        "bills.html",
        role="tenant",
        who=tenant,
        bill=bill,
        pager=pager(page, bill.totals.lines, v.request),
    )


async def _job_and_cost(v: View, job_id: str) -> tuple[JobResponse, JobCostResponse]:
    job, cost = await asyncio.gather(
        v.api.get(f"/jobs/{job_id}", JobResponse),
        v.api.get(f"/jobs/{job_id}/cost", JobCostResponse),
    )
    return job, cost


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
@public
async def job_page(job_id: str, v: ViewDep) -> Response:
    try:
        job, cost = await _job_and_cost(v, job_id)
    except ApiFailure as exc:
        return _failure(v, exc)
    return v.page("job.html", role="tenant", who=job.tenant, job=job, cost=cost)


@router.get("/jobs/{job_id}/panel", response_class=HTMLResponse)
@public
async def job_panel(job_id: str, v: ViewDep) -> Response:
    """The live part of the job page (status, history, placement, cost), polled by htmx."""
    try:
        job, cost = await _job_and_cost(v, job_id)
    except ApiFailure as exc:
        return _failure(v, exc)
    return v.page("_job_panel.html", job=job, cost=cost)


# --- provider -------------------------------------------------------------------------------


@router.get("/provider/{provider}", response_class=HTMLResponse)
@public
async def provider_page(
    provider: str, v: ViewDep, page: Page = 1, spage: Page = 1, month: str | None = None
) -> Response:
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
    except ApiFailure as exc:
        return _failure(v, exc)
    return v.page(
        "provider.html",
        role="provider",
        who=provider,
        fleet=fleet,
        clusters=[c for c in fleet.clusters if c.provider == provider],
        totals=fleet.by_provider.get(provider),
        use=use,
        jobs=jobs,
        pager=pager(page, jobs.total, v.request),
        settled=settled,
        spager=pager(spage, settled.total, v.request, "spage"),
    )


# --- operator -------------------------------------------------------------------------------


@router.get("/operator", response_class=HTMLResponse)
@public
async def operator_page(v: ViewDep, tpage: Page = 1) -> Response:
    if v.viewer is None or not v.viewer.is_operator:
        return _not_for_you(v)
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
        return _failure(v, exc)
    return v.page(
        "operator.html",
        role="operator",
        who=None,
        fleet=fleet,
        regions=fmt.region_grid(fleet),
        queue=queue,
        pools=fmt.pool_rows(spent, policies, use.start.year),
        use=use,
        tenants=tenants[:PAGE],
        tpager=pager(tpage, (tpage - 1) * PAGE + len(tenants), v.request, "tpage"),
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
        return _not_for_you(v)
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
    lang = _lang(request)
    view = View(request, lang, ApiCaller(request, lang))
    await view.api.close()  # the form asks the API nothing
    message = render(error, lang, **params) if error else None
    return view.page("sign_in.html", code=code, role=None, next=_local(back), error=message)

"""One page view: who reads it, in which language, the API as that reader sees it, and the
pieces every page shares (navigation by role, pagers, error pages said in words)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from suanli.api.auth import TOKEN_COOKIE, TokenCache
from suanli.domain.access import Principal, Role
from suanli.domain.errors import Unauthenticated
from suanli.domain.i18n import Lang, pick_lang, render
from suanli.schemas.api import ErrorBody
from suanli.web import format as fmt
from suanli.web.caller import ApiCaller, ApiFailure

templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
LANG_COOKIE = "suanli_lang"
PAGE = 20
VENDOR = Path(__file__).with_name("static") / "vendor"


def page_lang(request: Request) -> Lang:
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


@dataclass(frozen=True)
class NavLink:
    key: str  # its id and the message code ui.<key>
    href: str


def nav_for(viewer: Principal | None) -> list[NavLink]:
    """The pages the reader's role may open: no link here leads to a refusal."""
    if viewer is None:
        return []
    if viewer.is_operator:
        return [
            NavLink("overview", "/console/operator"),
            NavLink("jobs", "/console/operator/jobs"),
            NavLink("services", "/console/services"),
            NavLink("eval", "/console/eval"),
            NavLink("tenants", "/console/tenants"),
            NavLink("users", "/console/users"),
            NavLink("tokens", "/console/tokens"),
            NavLink("apikeys", "/console/apikeys"),
            NavLink("audit", "/console/audit"),
        ]
    if viewer.provider is not None:
        return [
            NavLink("overview", f"/console/provider/{viewer.provider}"),
            NavLink("tokens", "/console/tokens"),
        ]
    tenant = viewer.tenant or ""
    links = [
        NavLink("jobs", f"/console/tenant/{tenant}/jobs"),
        NavLink("submit", f"/console/tenant/{tenant}/submit"),
        NavLink("services", "/console/services"),
        NavLink("bills", f"/console/tenant/{tenant}/bills"),
        NavLink("vouchers", f"/console/tenant/{tenant}/vouchers"),
        NavLink("usage", f"/console/tenant/{tenant}/usage"),
    ]
    if viewer.role is Role.TENANT_ADMIN:
        links.append(NavLink("users", "/console/users"))
    links.append(NavLink("tokens", "/console/tokens"))
    links.append(NavLink("apikeys", "/console/apikeys"))
    return links


@dataclass
class View:
    """One page view: the reader, its language and the API as seen by the reader."""

    request: Request
    lang: Lang
    api: ApiCaller
    viewer: Principal | None = None

    def t(self, code: str, **params: Any) -> str:
        return render(code, self.lang, **params)

    def page(self, template: str, code: int = 200, **context: Any) -> HTMLResponse:
        response = templates.TemplateResponse(
            self.request, template, {**self._base(), **context}, status_code=code
        )
        if self.request.query_params.get("lang") in ("zh", "en"):
            response.set_cookie(LANG_COOKIE, self.lang, max_age=365 * 86400, samesite="lax")
        return response

    def _base(self) -> dict[str, Any]:
        lang = self.lang
        other: Lang = "en" if lang == "zh" else "zh"
        query = {k: v for k, v in self.request.query_params.items() if k != "lang"}
        return {
            "lang": lang,
            "html_lang": "zh-CN" if lang == "zh" else "en",
            "t": self.t,
            "switch_url": f"{self.request.url.path}?{urlencode({**query, 'lang': other})}",
            "yuan": fmt.yuan,
            "pct": fmt.pct,
            "num": fmt.num,
            "hours": fmt.hours,
            "region_name": lambda r: fmt.region_name(r, lang),
            "status_name": lambda s: render(f"status.{s}", lang),
            "role_name": lambda r: render(f"role.{r}", lang),
            "title_in": lambda title: fmt.title_in(title, lang),
            "titled": lambda text, titles: fmt.with_titles(text, titles, lang),
            "attr_name": lambda k: fmt.attribute_name(k, lang),
            "attr_value": lambda x: fmt.attribute_value(x, lang),
            "charts": (VENDOR / "echarts.min.js").exists(),
            "htmx": (VENDOR / "htmx.min.js").exists(),
            "path": self.request.url.path,
            "viewer": self.viewer,
            "nav": nav_for(self.viewer),
        }


async def _view(request: Request) -> AsyncIterator[View]:
    # Every page needs a signed-in reader; the API then checks what that reader may see.
    viewer = await _signed_in(request)
    lang = page_lang(request)
    api = ApiCaller(request, lang)
    try:
        yield View(request, lang, api, viewer)
    finally:
        await api.close()


ViewDep = Annotated[View, Depends(_view)]
Page = Annotated[int, Query(ge=1, le=1_000_000)]


def failure(v: View, exc: ApiFailure) -> HTMLResponse:
    """The API said no: said in words on the page, never an API path."""
    if exc.status == 403:
        return refused(v)
    body = exc.body
    if "/api/" in body.message:
        body = ErrorBody(code=body.code, message=v.t("ui.error_generic"))
    return v.page("error.html", code=exc.status, error=body)


def refused(v: View) -> HTMLResponse:
    """A page another role's: what is not allowed, in words, with the reader's role."""
    who = v.viewer
    role = who.role.value if who is not None else ""
    message = v.t("ui.forbidden_page", role=v.t(f"role.{role}"))
    return v.page(
        "error.html", code=403, error=ErrorBody(code="access.forbidden", message=message)
    )


def missing(v: View, code: str, **params: Any) -> HTMLResponse:
    """Not found, or not the reader's to see (never saying which)."""
    return v.page("error.html", code=404, error=ErrorBody(code=code, message=v.t(code, **params)))


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


def open_pager(page: int, shown: int, request: Request, key: str = "page") -> dict[str, Any]:
    """A pager for a list the API pages without a count: ask one row more than a page."""
    total = (page - 1) * PAGE + shown
    links = pager(page, total, request, key)
    if shown > PAGE:  # more pages follow: how many is not known
        links["total"] = None
    return links

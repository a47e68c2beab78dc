"""create_app(): the API application with the console pages and their static files mounted."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from suanli.api.app import create_app as create_api
from suanli.api.auth import public
from suanli.api.limits import ApiLimits
from suanli.gateway.app import Gateway, WithGateway
from suanli.service.deps import Platform
from suanli.web import (
    docs,
    eval_page,
    pages,
    pages_access,
    pages_apikeys,
    pages_jobs,
    pages_services,
    usage_page,
)
from suanli.web.view import SignInNeeded

STATIC = Path(__file__).with_name("static")


def create_app(
    platform: Platform,
    run_loop: bool = True,
    interval_s: float = 0.5,
    limits: ApiLimits | None = None,
) -> FastAPI:
    app = create_api(platform, run_loop, interval_s, limits)
    app.include_router(pages.router)
    app.include_router(pages_jobs.router)
    app.include_router(pages_access.router)
    app.include_router(docs.router)
    app.include_router(eval_page.router)
    app.include_router(pages_services.router)
    app.include_router(pages_apikeys.router)
    app.include_router(usage_page.router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")

    @app.exception_handler(SignInNeeded)
    async def sign_in(request: Request, _exc: SignInNeeded) -> RedirectResponse:
        # A page asked without a valid token: to the sign-in page, and back afterwards.
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/console/sign-in?next={quote(back, safe='')}", 303)

    @app.get("/", include_in_schema=False)
    @public
    def root() -> RedirectResponse:
        return RedirectResponse("/console")

    # The model services' gateway (/v1, /services): outermost, past the API's middleware
    # (no audit row, no API rate limit per inference request). Its figures are scraped at
    # the API's /metrics, behind a token (api/routes/metrics.py).
    gateway = Gateway(platform)
    app.state.gateway_metrics = gateway.exposition
    app.add_middleware(WithGateway, gateway=gateway)
    return app

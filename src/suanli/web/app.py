"""create_app(): the API application with the console pages and their static files mounted."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from suanli.api.app import create_app as create_api
from suanli.service.deps import Platform
from suanli.web import pages

STATIC = Path(__file__).with_name("static")


def create_app(platform: Platform, run_loop: bool = True, interval_s: float = 0.5) -> FastAPI:
    app = create_api(platform, run_loop, interval_s)
    app.include_router(pages.router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/console")

    return app

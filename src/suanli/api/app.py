"""create_app(): the FastAPI application; its lifespan runs the control loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from suanli import __version__
from suanli.api import errors
from suanli.api.limits import BodyLimit
from suanli.api.routes import billing, fleet, jobs, operations
from suanli.schemas.api import MAX_BODY_BYTES, ErrorResponse
from suanli.service.deps import Platform
from suanli.workers.control_loop import ControlLoop


def create_app(platform: Platform, run_loop: bool = True, interval_s: float = 0.5) -> FastAPI:
    loop = ControlLoop(platform, interval_s) if run_loop else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if loop is not None:
            loop.start()
        try:
            yield
        finally:
            if loop is not None:
                loop.stop()

    app = FastAPI(
        title="suanli",
        version=__version__,
        description="Unified multi-cloud AI compute scheduling and operations platform (算力调度平台)",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
        responses={
            404: {"model": ErrorResponse},
            409: {"model": ErrorResponse},
            413: {"model": ErrorResponse},
            422: {"model": ErrorResponse},
        },
    )
    app.state.platform = platform
    app.state.loop = loop
    errors.install(app)
    app.include_router(operations.router, prefix="/api/v1")  # before jobs: /jobs/{id}/cost
    app.include_router(jobs.router, prefix="/api/v1")
    app.include_router(fleet.router, prefix="/api/v1")
    app.include_router(billing.router, prefix="/api/v1")

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    return app

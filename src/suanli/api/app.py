"""create_app(): the FastAPI application; its lifespan runs the control loop."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from suanli import __version__
from suanli.api import errors
from suanli.api.audit import AuditTrail
from suanli.api.auth import TokenCache, authorise, install_bearer_scheme, public
from suanli.api.fastsubmit import SubmitFastPath
from suanli.api.limits import ApiLimits, BodyLimit, RateLimit
from suanli.api.routes import access as access_routes
from suanli.api.routes import apikeys as apikey_routes
from suanli.api.routes import billing, fleet, jobs, operations
from suanli.api.routes import evaluation as eval_routes
from suanli.api.routes import metrics as metrics_routes
from suanli.api.routes import redemptions as redemption_routes
from suanli.api.routes import services as service_routes
from suanli.api.routes import usage as usage_routes
from suanli.schemas.api import MAX_BODY_BYTES, ErrorResponse
from suanli.service.deps import Platform
from suanli.service.submissions import SubmitQueue
from suanli.workers.control_loop import ControlLoop


def create_app(
    platform: Platform,
    run_loop: bool = True,
    interval_s: float = 0.5,
    limits: ApiLimits | None = None,
) -> FastAPI:
    limits = limits or ApiLimits()
    loop = ControlLoop(platform, interval_s) if run_loop else None
    submissions = SubmitQueue(platform.jobs, limits.max_active_jobs)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if loop is not None:
            loop.start()
        try:
            yield
        finally:
            submissions.close()
            if loop is not None:
                loop.stop()

    app = FastAPI(
        title="suanli",
        version=__version__,
        description="Unified multi-cloud AI compute scheduling and operations platform (算力调度平台)",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # the console serves /api/v1/docs from its own assets (no CDN)
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(authorise)],  # every route: see suanli.api.auth
        responses={
            400: {"model": ErrorResponse},
            401: {"model": ErrorResponse},
            403: {"model": ErrorResponse},
            404: {"model": ErrorResponse},
            409: {"model": ErrorResponse},
            413: {"model": ErrorResponse},
            422: {"model": ErrorResponse},
            429: {"model": ErrorResponse},
        },
    )
    install_bearer_scheme(app)
    app.state.platform = platform
    app.state.loop = loop
    app.state.tokens = TokenCache(platform)
    app.state.rate = RateLimit(limits.rate_per_token, limits.burst, platform.clock.monotonic)
    app.state.bad_tokens = RateLimit(
        limits.bad_tokens_per_s,
        limits.bad_token_burst,
        platform.clock.monotonic,
        "access.bad_tokens",
    )
    app.state.submissions = submissions
    app.state.stopping = threading.Event()  # set on shutdown: open log streams end at once
    errors.install(app)
    app.include_router(operations.router, prefix="/api/v1")  # before jobs: /jobs/{id}/cost
    app.include_router(jobs.router, prefix="/api/v1")
    app.include_router(fleet.router, prefix="/api/v1")
    app.include_router(billing.router, prefix="/api/v1")
    app.include_router(access_routes.router, prefix="/api/v1")
    app.include_router(eval_routes.router, prefix="/api/v1")
    app.include_router(service_routes.router, prefix="/api/v1")
    app.include_router(metrics_routes.router)  # /metrics: gateway + control plane
    app.include_router(apikey_routes.router, prefix="/api/v1")
    app.include_router(usage_routes.router, prefix="/api/v1")
    app.include_router(redemption_routes.router, prefix="/api/v1")

    @app.get("/healthz", tags=["health"])
    @public
    async def healthz() -> dict[str, str]:
        """Alive; ``scheduler`` says whether this process runs the control loop now.
        (On the event loop: no I/O here, and a hop to the thread pool made the probe wait
        for the GIL behind parsing threads.)"""
        leading = loop is not None and loop.leading
        return {
            "status": "ok",
            "version": __version__,
            "scheduler": "active" if leading else "standby",
        }

    app.add_middleware(SubmitFastPath, state=app.state)  # plain submissions; see its module
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.add_middleware(AuditTrail, platform=platform)  # outermost: sees every answer
    return app

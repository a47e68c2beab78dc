"""GET /metrics: Prometheus text for this process's gateway and the control plane, in one
scrape, to a token holder only.

The operator's token (or a read-only one an operator makes for Prometheus: ``suanli token
create --read-only``) sees every service; a tenant's token sees its own services' lines
only; a provider's token is refused (403) and no token is 401. The gateway's figures are
this process's (each gateway process is scraped on its own); the control plane's are the
store's, the same from every process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
from fastapi import APIRouter, Request, Response

from suanli.api.auth import CallerDep, open_to
from suanli.api.deps import PlatformDep
from suanli.domain.access import TENANT_ROLES, Role
from suanli.service.services_metrics import CONTENT_TYPE, control_plane_metrics

router = APIRouter(tags=["metrics"], include_in_schema=False)
# The gateway's text for an owner (None: all), set by the app that serves a gateway
# (web.app: ``Gateway.exposition``) as ``app.state.gateway_metrics``.
GatewayMetricsText = Callable[[str | None], Awaitable[bytes]]


@router.get("/metrics", response_class=Response)
@open_to(Role.OPERATOR, *TENANT_ROLES)
async def metrics(request: Request, p: PlatformDep, caller: CallerDep) -> Response:
    """The gateway's requests, latency, tokens and replicas, then the control plane's
    replicas desired, by status, and revisions (operator: all tenants'; a tenant: its own)."""
    owner = None if caller.is_operator else caller.tenant or ""
    gateway: GatewayMetricsText | None = getattr(request.app.state, "gateway_metrics", None)
    text = (await gateway(owner)).decode() if gateway is not None else ""
    text += await anyio.to_thread.run_sync(control_plane_metrics, p, owner)
    return Response(text, media_type=CONTENT_TYPE)

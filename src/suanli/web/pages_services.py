"""The console's service pages: the reader's services, and one service with its replicas
(where each runs, its address, ready or not), revisions and a requests/s chart from what
the gateways reported. Read through the API as the reader, like every page."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from suanli.api.auth import public
from suanli.schemas.services import LoadResponse, ServiceListResponse, ServiceResponse
from suanli.web.caller import ApiFailure
from suanli.web.view import ViewDep, failure

router = APIRouter(prefix="/console", include_in_schema=False)
SHOWN_ENDED = 20  # stopped and failed replicas listed under the live ones (newest)


@router.get("/services", response_class=HTMLResponse)
@public
async def services_page(v: ViewDep) -> Response:
    try:
        found = await v.api.get("/services", ServiceListResponse)
    except ApiFailure as exc:
        return failure(v, exc)
    return v.page("services.html", services=found.services)


@router.get("/services/{owner}/{name}", response_class=HTMLResponse)
@public
async def service_page(owner: str, name: str, v: ViewDep) -> Response:
    try:
        service, load = await asyncio.gather(
            v.api.get(f"/services/{name}", ServiceResponse, tenant=owner),
            v.api.get(f"/services/{name}/load", LoadResponse, tenant=owner),
        )
    except ApiFailure as exc:
        return failure(v, exc)
    live = [r for r in service.replicas if r.status in ("starting", "ready", "draining")]
    ended = [r for r in service.replicas if r.status not in ("starting", "ready", "draining")]
    return v.page(
        "service.html",
        service=service,
        live=live,
        ended=list(reversed(ended))[:SHOWN_ENDED],
        load=load,
    )

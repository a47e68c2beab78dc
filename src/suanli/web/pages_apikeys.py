"""The console's service keys page: a tenant's API keys for model services (the operator:
every tenant's). Listed from the API; made and revoked by the browser through the API."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from suanli.api.auth import public
from suanli.schemas.apikeys import ApiKeyResponse
from suanli.web.caller import ApiFailure
from suanli.web.view import PAGE, Page, ViewDep, failure, pager, refused

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/apikeys", response_class=HTMLResponse)
@public
async def apikeys_page(v: ViewDep, page: Page = 1) -> Response:
    """Service keys (never a secret): make one (shown once), revoke one."""
    viewer = v.viewer
    if viewer is None or not (viewer.is_operator or viewer.tenant):
        return refused(v)
    try:
        keys = await v.api.get("/apikeys", list[ApiKeyResponse])
    except ApiFailure as exc:
        return failure(v, exc)
    start = (page - 1) * PAGE
    return v.page(
        "apikeys.html",
        keys=keys[start : start + PAGE],
        pager=pager(page, len(keys), v.request),
        operator=viewer.is_operator,
        base=str(v.request.base_url).rstrip("/"),
    )

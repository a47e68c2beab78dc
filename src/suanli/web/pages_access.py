"""The console's access pages: tenants and organisations (operator), users (operator and
tenant admins), API tokens (everyone: their own; admins: their organisation's) and the
audit log (operator). Lists are read from the API and paged here; changes are made by the
browser through the API (console.js ``api()``), as any other client would."""

from __future__ import annotations

import asyncio
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from suanli.api.auth import public
from suanli.domain.access import Role
from suanli.schemas.access import (
    AuditEventResponse,
    OrganisationResponse,
    TokenResponse,
    UserResponse,
)
from suanli.schemas.api import TenantResponse
from suanli.web.caller import ApiFailure
from suanli.web.view import PAGE, Page, View, ViewDep, failure, open_pager, pager, refused

router = APIRouter(prefix="/console", include_in_schema=False)
AUDIT_MOST = 1000  # the API's largest audit read: 50 pages back
T = TypeVar("T")
Name = Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9._-]*$")]

TENANT_ROLE_NAMES = ("tenant_member", "tenant_admin")
ALL_ROLE_NAMES = ("tenant_member", "tenant_admin", "provider_admin", "operator")


def _slice(rows: list[T], page: int) -> list[T]:
    return rows[(page - 1) * PAGE : page * PAGE]


@router.get("/tenants", response_class=HTMLResponse)
@public
async def tenants_page(v: ViewDep, page: Page = 1) -> Response:
    """Tenants with their eligibility attributes, organisations, and a form to add one."""
    if v.viewer is None or not v.viewer.is_operator:
        return refused(v)
    try:
        tenants, orgs = await asyncio.gather(
            v.api.get("/tenants", list[TenantResponse], limit=PAGE + 1, offset=(page - 1) * PAGE),
            v.api.get("/organisations", list[OrganisationResponse]),
        )
    except ApiFailure as exc:
        return failure(v, exc)
    return v.page(
        "tenants.html",
        role="operator",
        tenants=tenants[:PAGE],
        pager=open_pager(page, len(tenants), v.request),
        orgs=[o for o in orgs if o.kind != "tenant"],
    )


@router.get("/users", response_class=HTMLResponse)
@public
async def users_page(v: ViewDep, page: Page = 1, organisation: Name = None) -> Response:
    """The operator's every user; a tenant admin its tenant's members."""
    viewer = v.viewer
    if viewer is None or not (viewer.is_operator or viewer.role is Role.TENANT_ADMIN):
        return refused(v)
    try:
        users, orgs = await asyncio.gather(
            v.api.get("/users", list[UserResponse], organisation=organisation or None),
            v.api.get("/organisations", list[OrganisationResponse]),
        )
    except ApiFailure as exc:
        return failure(v, exc)
    return v.page(
        "users.html",
        role="operator" if viewer.is_operator else "tenant",
        users=_slice(users, page),
        pager=pager(page, len(users), v.request),
        orgs=orgs,
        organisation=organisation,
        roles=ALL_ROLE_NAMES if viewer.is_operator else TENANT_ROLE_NAMES,
    )


@router.get("/tokens", response_class=HTMLResponse)
@public
async def tokens_page(v: ViewDep, page: Page = 1) -> Response:
    """API tokens (never a secret): create one (its secret shown once) and revoke."""
    viewer = v.viewer
    if viewer is None:
        return refused(v)
    manages = viewer.is_operator or viewer.role is Role.TENANT_ADMIN
    try:
        tokens = await v.api.get("/tokens", list[TokenResponse])
        users = await v.api.get("/users", list[UserResponse]) if manages else []
    except ApiFailure as exc:
        return failure(v, exc)
    return v.page(
        "tokens.html",
        role=_role(v),
        tokens=_slice(tokens, page),
        pager=pager(page, len(tokens), v.request),
        users=[u.name for u in users] or [viewer.user],
    )


@router.get("/audit", response_class=HTMLResponse)
@public
async def audit_page(
    v: ViewDep, page: Page = 1, actor: Name = None, organisation: Name = None
) -> Response:
    """State-changing requests, newest first: who, what, when, from where, the answer."""
    if v.viewer is None or not v.viewer.is_operator:
        return refused(v)
    wanted = min(AUDIT_MOST, page * PAGE + 1)
    try:
        events = await v.api.get(
            "/audit",
            list[AuditEventResponse],
            actor=actor or None,
            organisation=organisation or None,
            limit=wanted,
        )
    except ApiFailure as exc:
        return failure(v, exc)
    shown = events[(page - 1) * PAGE :]
    return v.page(
        "audit.html",
        role="operator",
        events=shown[:PAGE],
        pager=open_pager(page, len(shown), v.request),
        actor=actor or "",
        organisation=organisation or "",
    )


def _role(v: View) -> str:
    viewer = v.viewer
    if viewer is None or viewer.is_operator:
        return "operator"
    return "provider" if viewer.provider is not None else "tenant"

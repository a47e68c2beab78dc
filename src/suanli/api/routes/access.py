"""/api/v1: who am I; organisations, users and API tokens; the audit log (operator)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from pydantic import BeforeValidator

from suanli.api.auth import CallerDep, TokenCache, open_to
from suanli.api.convert_billing import tenant_to_response
from suanli.api.deps import PlatformDep
from suanli.domain.access import EVERYONE, TENANT_ROLES, ApiToken, AuditEvent, OrgKind, Role, Scope
from suanli.schemas.access import (
    AuditEventResponse,
    IssuedTokenResponse,
    OrganisationRequest,
    OrganisationResponse,
    TenantRequest,
    TokenRequest,
    TokenResponse,
    UserRequest,
    UserResponse,
    WhoAmIResponse,
)
from suanli.schemas.api import TenantResponse
from suanli.service import access, tenants

router = APIRouter(tags=["access"])


@router.get("/whoami")
@open_to(*EVERYONE)
def whoami(caller: CallerDep) -> WhoAmIResponse:
    return WhoAmIResponse(
        user=caller.user,
        role=caller.role.value,
        organisation=caller.organisation,
        token_id=caller.token_id,
        scopes=sorted(s.value for s in caller.scopes),
    )


@router.get("/organisations")
@open_to(*EVERYONE)
def list_organisations(p: PlatformDep, caller: CallerDep) -> list[OrganisationResponse]:
    return [
        OrganisationResponse(name=o.name, kind=o.kind.value, created_at=o.created_at)
        for o in access.list_organisations(p, caller)
    ]


@router.post("/organisations", status_code=status.HTTP_201_CREATED)
def add_organisation(
    body: OrganisationRequest, p: PlatformDep, caller: CallerDep
) -> OrganisationResponse:
    """A tenant (a billing tenant's name) or a provider (a provider of the fleet)."""
    org = access.add_organisation(
        p, caller, body.name, OrgKind(body.kind), body.display_name, body.attributes
    )
    return OrganisationResponse(name=org.name, kind=org.kind.value, created_at=org.created_at)


@router.post("/tenants", status_code=status.HTTP_201_CREATED)
def add_tenant(body: TenantRequest, p: PlatformDep, caller: CallerDep) -> TenantResponse:
    """A new tenant with its eligibility attributes, and its organisation (operator)."""
    added = tenants.add_tenant(p, caller, body.name, body.display_name, body.attributes)
    return tenant_to_response(added)


@router.get("/tenants/{tenant}")
@open_to(*TENANT_ROLES)
def get_tenant(tenant: str, p: PlatformDep, caller: CallerDep) -> TenantResponse:
    """One tenant and its eligibility attributes (its members and the operator)."""
    return tenant_to_response(tenants.visible_tenant(p, caller, tenant))


@router.get("/users")
@open_to(*EVERYONE)
def list_users(
    p: PlatformDep, caller: CallerDep, organisation: str | None = None
) -> list[UserResponse]:
    return [
        UserResponse(
            name=u.name, organisation=u.organisation, role=u.role.value, created_at=u.created_at
        )
        for u in access.list_users(p, caller, organisation)
    ]


@router.post("/users", status_code=status.HTTP_201_CREATED)
@open_to(Role.TENANT_ADMIN)
def add_user(body: UserRequest, p: PlatformDep, caller: CallerDep) -> UserResponse:
    """The operator adds anyone; a tenant admin adds members and admins of its tenant."""
    u = access.add_user(p, caller, body.name, body.organisation, Role(body.role))
    return UserResponse(
        name=u.name, organisation=u.organisation, role=u.role.value, created_at=u.created_at
    )


@router.get("/tokens")
@open_to(*EVERYONE)
def list_tokens(p: PlatformDep, caller: CallerDep, user: str | None = None) -> list[TokenResponse]:
    """Your tokens (an admin: its organisation's; the operator: all). Never a secret."""
    return [token_to_response(t) for t in access.list_tokens(p, caller, user)]


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
@open_to(*EVERYONE)
def create_token(body: TokenRequest, p: PlatformDep, caller: CallerDep) -> IssuedTokenResponse:
    """A new token for yourself (or, as an admin, a user you manage); its secret shows once."""
    issued = access.issue_token(
        p,
        caller,
        body.user or caller.user,
        frozenset(Scope(s) for s in body.scopes),
        body.days,
        body.description,
    )
    return IssuedTokenResponse(token=issued.text, info=token_to_response(issued.token))


@router.post("/tokens/{token_id}/revoke")
@open_to(*EVERYONE)
def revoke_token(
    token_id: str, request: Request, p: PlatformDep, caller: CallerDep
) -> TokenResponse:
    revoked = access.revoke_token(p, caller, token_id)
    tokens: TokenCache = request.app.state.tokens
    tokens.forget(token_id)
    return token_to_response(revoked)


def _date_time_only(value: object) -> object:
    # pydantic takes a number as seconds since 1970; the schema says date-time, and so do we.
    if isinstance(value, str) and not re.search(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("a date-time such as 2026-12-01T00:00:00Z")
    return value


@router.get("/audit")
def audit_log(
    p: PlatformDep,
    caller: CallerDep,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    organisation: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[
        dt.datetime | None,
        BeforeValidator(_date_time_only),
        Query(description="a date-time such as 2026-12-01T00:00:00Z"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEventResponse]:
    """State-changing requests, newest first: who, what, when, from where, and the answer."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    return [
        audit_to_response(e)
        for e in access.audit_events(p, caller, actor, organisation, since, limit)
    ]


def token_to_response(t: ApiToken) -> TokenResponse:
    return TokenResponse(
        id=t.id,
        user=t.user,
        scopes=sorted(s.value for s in t.scopes),
        description=t.description,
        created_at=t.created_at,
        expires_at=t.expires_at,
        revoked_at=t.revoked_at,
    )


def audit_to_response(e: AuditEvent) -> AuditEventResponse:
    return AuditEventResponse(
        id=e.id or 0,
        at=e.at,
        actor=e.actor,
        role=e.role,
        organisation=e.organisation,
        token_id=e.token_id,
        action=e.action,
        target=e.target,
        status=e.status,
        remote=e.remote,
    )

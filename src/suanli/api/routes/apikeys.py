"""/api/v1/apikeys: model services' API keys (make one, shown once; list; revoke)."""

from __future__ import annotations

from fastapi import APIRouter, status

from suanli.api.auth import CallerDep, open_to
from suanli.api.deps import PlatformDep
from suanli.domain.access import Role
from suanli.domain.apikeys import ApiKey
from suanli.schemas.apikeys import ApiKeyRequest, ApiKeyResponse, IssuedApiKeyResponse
from suanli.service import apikeys

router = APIRouter(tags=["apikeys"])
_TENANTS = (Role.TENANT_MEMBER, Role.TENANT_ADMIN)


@router.get("/apikeys")
@open_to(*_TENANTS)
def list_keys(
    p: PlatformDep, caller: CallerDep, tenant: str | None = None
) -> list[ApiKeyResponse]:
    """Your tenant's keys, newest first (the operator: every tenant's, or ``tenant``'s). Never a secret."""
    return [key_to_response(k) for k in apikeys.list_keys(p, caller, tenant)]


@router.post("/apikeys", status_code=status.HTTP_201_CREATED)
@open_to(*_TENANTS)
def create_key(body: ApiKeyRequest, p: PlatformDep, caller: CallerDep) -> IssuedApiKeyResponse:
    """A new key for calling model services; the whole key shows once."""
    issued = apikeys.create_key(
        p,
        caller,
        body.name,
        body.tenant,
        body.services,
        body.rate_per_s,
        body.burst,
        body.days,
    )
    return IssuedApiKeyResponse(key=issued.text, info=key_to_response(issued.key))


@router.post("/apikeys/{key_id}/revoke")
@open_to(*_TENANTS)
def revoke_key(key_id: str, p: PlatformDep, caller: CallerDep) -> ApiKeyResponse:
    """Revoke a key for good: every gateway process refuses it within 2 s."""
    key, _ = apikeys.revoke_key(p, caller, key_id)
    return key_to_response(key)


def key_to_response(k: ApiKey) -> ApiKeyResponse:
    return ApiKeyResponse(
        id=k.id,
        tenant=k.tenant,
        name=k.name,
        services=list(k.services),
        rate_per_s=k.rate_per_s,
        burst=k.burst,
        created_at=k.created_at,
        created_by=k.created_by,
        expires_at=k.expires_at,
        revoked_at=k.revoked_at,
    )

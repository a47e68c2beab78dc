"""API keys for model services: make one (shown once), list them, revoke one.

A tenant's members make keys for their own tenant; its admins and the operator also revoke
any of the tenant's keys; the operator sees and manages every tenant's. A key never names
more than its tenant may call: a service it names that the tenant cannot reach simply
never answers it (the gateway refuses it as unknown).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from suanli.domain.access import OrgKind, Principal, Role
from suanli.domain.apikeys import ApiKey, hash_secret, new_key
from suanli.domain.errors import FieldError, InvalidInput, NotFound
from suanli.service.deps import Platform
from suanli.store.apikeys import ApiKeyStore
from suanli.store.memory_apikeys import MemoryApiKeyStore

DEFAULT_BURST_S = 2.0  # a key's burst, when not given: two seconds of its rate


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    text: str  # the whole key: shown once, never stored


def store(p: Platform) -> ApiKeyStore:
    if p.apikeys is None:
        p.apikeys = MemoryApiKeyStore()
    return p.apikeys


def _is_tenant(p: Platform, name: str) -> bool:
    """A tenant of this platform: in the tenant directory jobs and bills use (the tenants
    file seeds it, the operator adds to it), else an organisation of the tenant kind."""
    if p.billing is not None:
        return p.billing.tenants.get(name) is not None
    org = p.access.organisation(name) if p.access is not None else None
    return p.access is None or (org is not None and org.kind is OrgKind.TENANT)


def create_key(
    p: Platform,
    caller: Principal,
    name: str,
    tenant: str | None = None,
    services: Sequence[str] = (),
    rate_per_s: float | None = None,
    burst: int | None = None,
    days: int | None = None,
) -> IssuedKey:
    """A new key of ``tenant`` (default: the caller's) for ``services`` (default: all)."""
    owner = tenant or caller.tenant
    if owner is None:
        raise InvalidInput("invalid_request", errors=[FieldError("tenant", "apikey.no_tenant")])
    if not caller.is_operator and caller.tenant != owner:
        raise NotFound("tenant_not_found", tenant=owner)
    if not _is_tenant(p, owner):
        raise NotFound("tenant_not_found", tenant=owner)
    if burst is not None and rate_per_s is None:
        raise InvalidInput(
            "invalid_request",
            errors=[FieldError("burst", "out_of_range", burst, "a burst only with rate_per_s")],
        )
    scope = tuple(sorted({s if "/" in s else f"{owner}/{s}" for s in services}))
    if rate_per_s is not None and burst is None:
        burst = max(1, round(rate_per_s * DEFAULT_BURST_S))
    now = p.clock.now()
    key_id, secret, text = new_key()
    key = ApiKey(
        id=key_id,
        tenant=owner,
        name=name,
        secret_hash=hash_secret(secret),
        services=scope,
        created_at=now,
        created_by=caller.user,
        rate_per_s=rate_per_s,
        burst=burst,
        expires_at=now + dt.timedelta(days=days) if days else None,
    )
    store(p).add(key)
    return IssuedKey(key, text)


def list_keys(p: Platform, caller: Principal, tenant: str | None = None) -> list[ApiKey]:
    """Keys newest first: the caller's tenant's (the operator: every tenant's, or one)."""
    if caller.is_operator:
        return store(p).list(tenant)
    return store(p).list(caller.tenant) if caller.tenant else []


def revoke_key(p: Platform, caller: Principal, key_id: str) -> tuple[ApiKey, bool]:
    """Revoke ``key_id``; (the key, whether this call revoked it)."""
    key = store(p).get(key_id)
    if key is None or not _may_manage(caller, key):
        raise NotFound("apikey.not_found", key_id=key_id)
    revoked = store(p).revoke(key_id, p.clock.now())
    after = store(p).get(key_id)
    assert after is not None  # noqa: S101 - it existed a moment ago; keys are never deleted
    return after, revoked


def _may_manage(caller: Principal, key: ApiKey) -> bool:
    if caller.is_operator:
        return True
    if caller.tenant != key.tenant:
        return False
    return caller.role is Role.TENANT_ADMIN or key.created_by == caller.user

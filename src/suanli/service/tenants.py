"""Tenant use cases: the operator adds a tenant (stored, seen by billing at once)."""

from __future__ import annotations

from collections.abc import Mapping

from suanli.domain.access import Organisation, OrgKind, Principal
from suanli.domain.errors import FieldError, Forbidden, InvalidInput, NotFound
from suanli.domain.tenants import Attribute, Tenant
from suanli.service.bills import billing_of
from suanli.service.deps import Platform


def add_tenant(
    p: Platform,
    caller: Principal,
    name: str,
    display_name: str = "",
    attributes: Mapping[str, Attribute] | None = None,
) -> Tenant:
    """A new tenant and its organisation; InvalidInput when the name is taken."""
    if not caller.is_operator:
        raise Forbidden(
            "access.forbidden", user=caller.user, role=caller.role.value, action="add tenants"
        )
    tenant = ensure_tenant(p, name, display_name, attributes)
    if tenant is None:
        raise InvalidInput(
            "invalid_request",
            errors=[
                FieldError("name", "access.exists", name, params={"what": "tenant", "name": name})
            ],
        )
    if p.access is not None:
        p.access.add_organisation(Organisation(name, OrgKind.TENANT, p.clock.now()))
    return tenant


def ensure_tenant(
    p: Platform,
    name: str,
    display_name: str = "",
    attributes: Mapping[str, Attribute] | None = None,
) -> Tenant | None:
    """Store the tenant unless one of that name exists: the new tenant, or None."""
    tenant = Tenant(name, display_name or name, dict(sorted((attributes or {}).items())))
    return tenant if billing_of(p).tenants.add(tenant) else None


def visible_tenant(p: Platform, caller: Principal, name: str) -> Tenant:
    """The tenant, if ``caller`` may see it; NotFound otherwise (never saying it exists)."""
    found = billing_of(p).tenants.get(name) if caller.sees_tenant(name) else None
    if found is None:
        raise NotFound("tenant_not_found", tenant=name)
    return found

"""Tenants held in memory (tests and bare platforms); the server keeps them in the database."""

from __future__ import annotations

import builtins
from collections.abc import Iterable

from suanli.domain.tenants import Tenant


class StaticTenantDirectory:
    """Tenants in memory; satisfies ``suanli.store.base.TenantDirectory``."""

    def __init__(self, tenants: Iterable[Tenant]) -> None:
        self._by_name = {t.name: t for t in tenants}

    def get(self, name: str) -> Tenant | None:
        return self._by_name.get(name)

    def all(self) -> builtins.list[Tenant]:
        return [self._by_name[n] for n in sorted(self._by_name)]

    def add(self, tenant: Tenant) -> bool:
        if tenant.name in self._by_name:
            return False
        self._by_name[tenant.name] = tenant
        return True

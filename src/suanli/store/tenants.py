"""Tenants held in memory, loaded from a tenants file (issue 6 adds a database directory)."""

from __future__ import annotations

import builtins
from collections.abc import Iterable

from suanli.domain.tenants import Tenant


class StaticTenantDirectory:
    """A fixed set of tenants; satisfies ``suanli.store.base.TenantDirectory``."""

    def __init__(self, tenants: Iterable[Tenant]) -> None:
        self._by_name = {t.name: t for t in tenants}

    def get(self, name: str) -> Tenant | None:
        return self._by_name.get(name)

    def all(self) -> builtins.list[Tenant]:
        return [self._by_name[n] for n in sorted(self._by_name)]

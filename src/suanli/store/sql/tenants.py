"""SQL directory of tenants and their eligibility attributes (queue terms stay in the file)."""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, select

from suanli.domain.clock import Clock
from suanli.domain.tenants import Tenant
from suanli.store.sql.billing import insert_once
from suanli.store.sql.tenant_tables import tenants


class SqlTenantDirectory:
    """Satisfies ``suanli.store.base.TenantDirectory``; every read asks the database, so a
    tenant one server adds is seen at once by every server on the same database.

    ``terms``: the queue terms of the file's tenants (weight, quota, cohort), joined on read;
    a tenant added later has none (unlimited, like a file tenant without a quota).
    """

    def __init__(self, engine: Engine, clock: Clock, seed: Iterable[Tenant] = ()) -> None:
        self._engine = engine
        self._clock = clock
        seeded = list(seed)
        self._terms = {t.name: t.terms for t in seeded}
        for tenant in seeded:  # the file seeds: a tenant already stored is left as it is
            self.add(tenant)

    def get(self, name: str) -> Tenant | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(tenants).where(tenants.c.name == name)).first()
        return None if row is None else self._tenant(row)

    def all(self) -> builtins.list[Tenant]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(tenants).order_by(tenants.c.name)).all()
        return [self._tenant(r) for r in rows]

    def add(self, tenant: Tenant) -> bool:
        row = {
            "name": tenant.name,
            "display_name": tenant.display_name or tenant.name,
            "attributes": json.dumps(dict(sorted(tenant.attributes.items())), ensure_ascii=False),
            "created_at": self._clock.now(),
        }
        return insert_once(self._engine, tenants, row, tenants.c.name == tenant.name)

    def _tenant(self, row: Any) -> Tenant:
        attributes = json.loads(row.attributes)
        return Tenant(row.name, row.display_name, attributes, self._terms.get(row.name))

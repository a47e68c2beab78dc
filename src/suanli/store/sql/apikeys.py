"""SQL store of API keys: insert, read, list newest first, revoke once (a guarded update)."""

from __future__ import annotations

import builtins
import datetime as dt
import json
from typing import Any

from sqlalchemy import Engine, insert, select, update

from suanli.domain.apikeys import ApiKey
from suanli.store.apikeys import MAX_KEYS_LISTED
from suanli.store.sql.apikey_tables import api_keys


class SqlApiKeyStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, key: ApiKey) -> None:
        with self._engine.begin() as conn:
            conn.execute(insert(api_keys).values(_row(key)))

    def get(self, key_id: str) -> ApiKey | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
        return _key(row) if row is not None else None

    def list(
        self, tenant: str | None = None, limit: int = MAX_KEYS_LISTED
    ) -> builtins.list[ApiKey]:
        query = select(api_keys).order_by(api_keys.c.created_at.desc(), api_keys.c.id)
        if tenant is not None:
            query = query.where(api_keys.c.tenant == tenant)
        with self._engine.connect() as conn:
            return [_key(r) for r in conn.execute(query.limit(limit))]

    def revoke(self, key_id: str, at: dt.datetime) -> bool:
        query = (
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        with self._engine.begin() as conn:
            return conn.execute(query).rowcount == 1


def _row(k: ApiKey) -> dict[str, Any]:
    return {
        "id": k.id,
        "tenant": k.tenant,
        "name": k.name,
        "secret_hash": k.secret_hash,
        "services": json.dumps(list(k.services)),
        "rate_per_s": k.rate_per_s,
        "burst": k.burst,
        "created_at": k.created_at,
        "created_by": k.created_by,
        "expires_at": k.expires_at,
        "revoked_at": k.revoked_at,
    }


def _key(row: Any) -> ApiKey:
    return ApiKey(
        id=row.id,
        tenant=row.tenant,
        name=row.name,
        secret_hash=row.secret_hash,
        services=tuple(json.loads(row.services)),
        created_at=row.created_at,
        created_by=row.created_by,
        rate_per_s=row.rate_per_s,
        burst=row.burst,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )

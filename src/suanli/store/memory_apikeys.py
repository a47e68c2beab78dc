"""API keys kept in process memory (tests, the simulator, a bare platform)."""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt
import threading

from suanli.domain.apikeys import ApiKey
from suanli.store.apikeys import MAX_KEYS_LISTED


class MemoryApiKeyStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, ApiKey] = {}

    def add(self, key: ApiKey) -> None:
        with self._lock:
            if key.id in self._keys:
                raise ValueError(f"API key {key.id} exists")
            self._keys[key.id] = key

    def get(self, key_id: str) -> ApiKey | None:
        return self._keys.get(key_id)

    def list(
        self, tenant: str | None = None, limit: int = MAX_KEYS_LISTED
    ) -> builtins.list[ApiKey]:
        with self._lock:
            found = [k for k in self._keys.values() if tenant is None or k.tenant == tenant]
        found.sort(key=lambda k: (-k.created_at.timestamp(), k.id))
        return found[:limit]

    def revoke(self, key_id: str, at: dt.datetime) -> bool:
        with self._lock:
            key = self._keys.get(key_id)
            if key is None or key.revoked_at is not None:
                return False
            self._keys[key_id] = dataclasses.replace(key, revoked_at=at)
            return True

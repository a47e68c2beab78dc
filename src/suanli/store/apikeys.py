"""Where API keys are kept (hashes only): ``suanli.domain.apikeys.ApiKey``."""

from __future__ import annotations

import builtins
import datetime as dt
from typing import Protocol

from suanli.domain.apikeys import ApiKey

MAX_KEYS_LISTED = 1_000


class ApiKeyStore(Protocol):
    def add(self, key: ApiKey) -> None:
        """Store a new key (its id is fresh)."""
        ...

    def get(self, key_id: str) -> ApiKey | None: ...

    def list(
        self, tenant: str | None = None, limit: int = MAX_KEYS_LISTED
    ) -> builtins.list[ApiKey]:
        """Keys newest first, optionally of one tenant."""
        ...

    def revoke(self, key_id: str, at: dt.datetime) -> bool:
        """Mark the key revoked (once); True when this call revoked it."""
        ...

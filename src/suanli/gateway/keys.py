"""API keys at the gateway: who is calling, and may they call this often.

A key is looked up at most every ``ttl_s`` seconds per process (1 s: a revoked key is
refused by every gateway process within 2 s); its secret is checked against the stored
hash on every request. Each key's rate limit is a token bucket kept per process: with N
gateway processes behind one address a key may reach N× its rate.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio

from suanli.domain.apikeys import ApiKey, secret_matches, split_key
from suanli.domain.clock import Clock
from suanli.gateway.errors import GatewayError
from suanli.store.apikeys import ApiKeyStore

MAX_CACHED = 100_000


class KeyCheck:
    def __init__(self, store: ApiKeyStore | None, clock: Clock, ttl_s: float = 1.0) -> None:
        self.store = store
        self.clock = clock
        self.ttl_s = ttl_s
        self._found: dict[str, tuple[float, ApiKey | None]] = {}
        self._buckets: dict[str, tuple[float, float]] = {}  # key id -> (tokens, at)

    async def key_of(self, authorization: str | None) -> ApiKey:
        """The usable key ``authorization`` (``Bearer sk-sl-...``) carries, or a 401."""
        if not authorization:
            raise GatewayError(401, "missing_api_key", "gateway.no_key")
        scheme, _, text = authorization.strip().partition(" ")
        parts = split_key(text.strip()) if scheme.lower() == "bearer" else None
        if parts is None:
            raise GatewayError(401, "invalid_api_key", "gateway.bad_key")
        key = await self._lookup(parts[0])
        if (
            key is None
            or not secret_matches(parts[1], key.secret_hash)
            or not key.usable(self.clock.now())
        ):
            raise GatewayError(401, "invalid_api_key", "gateway.bad_key")
        return key

    def take(self, key: ApiKey) -> None:
        """Spend one of ``key``'s requests, or a 429 saying when to retry."""
        if key.rate_per_s is None:
            return
        rate = key.rate_per_s
        burst = float(max(key.burst or 1, 1))
        now = self.clock.monotonic()
        tokens, at = self._buckets.get(key.id, (burst, now))
        tokens = min(burst, tokens + (now - at) * rate)
        if tokens < 1.0:
            self._buckets[key.id] = (tokens, now)
            wait = (1.0 - tokens) / rate
            raise GatewayError(
                429,
                "rate_limit_exceeded",
                "gateway.key_rate",
                retry_after_s=wait,
                rate=f"{rate:g}",
                burst=int(burst),
                retry_after=f"{wait:.2f}",
            )
        if len(self._buckets) > MAX_CACHED:
            self._buckets.clear()
        self._buckets[key.id] = (tokens - 1.0, now)

    async def _lookup(self, key_id: str) -> ApiKey | None:
        now = self.clock.monotonic()
        hit = self._found.get(key_id)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        store = self.store
        if store is None:
            return None
        get: Callable[[str], ApiKey | None] = store.get
        key = await anyio.to_thread.run_sync(get, key_id)
        if len(self._found) > MAX_CACHED:
            self._found.clear()
        self._found[key_id] = (now, key)
        return key

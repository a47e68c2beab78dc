"""API keys at the gateway: who is calling, and may they call this often.

A key is looked up at most every ``ttl_s`` seconds per process (1 s: a revoked key is
refused by every gateway process within 2 s); its secret is checked against the stored
hash on every request.

Each key's rate limit is one token bucket in the store (``suanli.store.ratelimits``) that
every gateway process shares. A process leases about ``LEASE_S`` seconds of the key's rate
at once (at least 1 token, at most ``burst``) and spends it locally, so a busy key costs
one store write per lease, not per request; when fewer than half a lease is left the next
is taken in the background, so a request waits for the store only when a key's tokens ran
out. The bound: over any interval of T seconds the key's requests admitted by all N
processes together are at most ``burst + rate × T + N × held_at_most``, the last term
being the tokens processes may hold unspent from earlier leases (``lease + lease // 2 - 1``
each; 0 for keys of ≤ 10 requests/s, whose leases are 1 token and never taken ahead).
A refused key is refused locally, without the store, until its bucket can hold a token
again (nobody adds tokens but time, so that refusal is exact).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import anyio

from suanli.domain.apikeys import ApiKey, secret_matches, split_key
from suanli.domain.clock import Clock
from suanli.gateway.errors import GatewayError
from suanli.store.apikeys import ApiKeyStore
from suanli.store.ratelimits import KeyBuckets, MemoryKeyBuckets

log = logging.getLogger("suanli.gateway")

MAX_CACHED = 100_000
# Chosen, not tuned on data: 0.1 s of a key's rate per lease keeps a 200 requests/s key at
# 10 store writes a second per process, and the over-admission bound at N × 29 requests.
LEASE_S = 0.1
LEASE_TTL_S = 1.0  # leased tokens not spent this long are dropped (never returned)


@dataclass
class _Held:
    tokens: int  # leased, not yet spent
    until: float  # monotonic: the lease's tokens are dropped then
    refused_until: float = 0.0  # monotonic: the bucket cannot hold a token before
    low: int = 0  # fewer tokens than this left: the next lease is taken ahead
    refilling: bool = False


def lease_size(rate_per_s: float, burst: int) -> int:
    return max(1, min(burst, math.floor(rate_per_s * LEASE_S)))


def held_at_most(rate_per_s: float, burst: int) -> int:
    """Tokens one process may hold unspent: what it can admit beyond the bucket's rate."""
    lease = lease_size(rate_per_s, burst)
    return lease + lease // 2 - 1


class KeyCheck:
    def __init__(
        self,
        store: ApiKeyStore | None,
        clock: Clock,
        ttl_s: float = 1.0,
        buckets: KeyBuckets | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.ttl_s = ttl_s
        self._found: dict[str, tuple[float, ApiKey | None]] = {}
        self.buckets: KeyBuckets = buckets or MemoryKeyBuckets()
        self._held: dict[str, _Held] = {}  # key id -> what this process leased
        self._locks: dict[str, asyncio.Lock] = {}
        self._ahead: set[asyncio.Future[None]] = set()  # leases taken ahead, in flight

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

    async def take(self, key: ApiKey) -> None:
        """Spend one of ``key``'s requests, or a 429 saying when to retry."""
        if key.rate_per_s is None:
            return
        if self._spend_held(key):
            return
        if len(self._locks) > MAX_CACHED:
            self._locks.clear()
            self._held.clear()
        lock = self._locks.setdefault(key.id, asyncio.Lock())
        async with lock:  # one lease at a time per key and process
            if self._spend_held(key):
                return
            rate, burst = key.rate_per_s, max(key.burst or 1, 1)
            lease = await anyio.to_thread.run_sync(
                self.buckets.lease,
                key.id,
                rate,
                burst,
                lease_size(rate, burst),
                self.clock.now().timestamp(),
            )
            now = self.clock.monotonic()
            if lease.granted:
                low = lease_size(rate, burst) // 2
                self._held[key.id] = _Held(lease.granted - 1, now + LEASE_TTL_S, low=low)
                return
            wait = max(0.0, 1.0 - lease.left) / rate
            self._held[key.id] = _Held(0, 0.0, now + wait)
        raise _refusal(key, wait)

    def _spend_held(self, key: ApiKey) -> bool:
        """True when a leased token was spent; a 429 while the bucket is known empty."""
        held = self._held.get(key.id)
        if held is None:
            return False
        now = self.clock.monotonic()
        if held.tokens > 0 and now < held.until:
            held.tokens -= 1
            if held.tokens < held.low and not held.refilling:
                held.refilling = True
                task = asyncio.ensure_future(self._lease_ahead(key, held))
                self._ahead.add(task)
                task.add_done_callback(self._ahead.discard)
            return True
        if now < held.refused_until:
            raise _refusal(key, held.refused_until - now)
        return False

    async def _lease_ahead(self, key: ApiKey, held: _Held) -> None:
        """The next lease, taken before this one runs out (off every request's path)."""
        rate, burst = key.rate_per_s or 0.0, max(key.burst or 1, 1)
        try:
            async with self._locks.setdefault(key.id, asyncio.Lock()):
                lease = await anyio.to_thread.run_sync(
                    self.buckets.lease,
                    key.id,
                    rate,
                    burst,
                    lease_size(rate, burst),
                    self.clock.now().timestamp(),
                )
            if lease.granted:
                held.tokens += lease.granted
                held.until = self.clock.monotonic() + LEASE_TTL_S
        except Exception as exc:  # noqa: BLE001 - a store hiccup: the next request leases itself
            log.warning("lease ahead for API key %s failed: %s", key.id, exc)
        finally:
            held.refilling = False

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


def _refusal(key: ApiKey, wait: float) -> GatewayError:
    rate = key.rate_per_s or 0.0
    return GatewayError(
        429,
        "rate_limit_exceeded",
        "gateway.key_rate",
        retry_after_s=wait,
        rate=f"{rate:g}",
        burst=max(key.burst or 1, 1),
        retry_after=f"{wait:.2f}",
    )

"""Each API key's rate limit as one token bucket that every gateway process shares.

A gateway process does not ask the store for every request: it leases a few of a key's
tokens at once (``want``) and spends them itself (``suanli.gateway.keys``). The store is the
one truth: a bucket holds at most ``burst`` tokens, refills at ``rate_per_s`` from the time
of its last take, and a lease takes whole tokens only, atomically, so no two processes ever
spend the same token. ``at`` is wall-clock seconds (every process's clock); a take dated
before the bucket's last one refills nothing (clocks a little apart never mint tokens).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Lease:
    granted: int  # whole requests taken from the bucket (0: none left now)
    left: float  # tokens left in the bucket after this take


class KeyBuckets(Protocol):
    def lease(self, key_id: str, rate_per_s: float, burst: int, want: int, at: float) -> Lease:
        """Take up to ``want`` whole tokens from ``key_id``'s bucket at ``at`` (a full bucket
        of ``burst`` the first time a key is seen)."""
        ...


def refill(tokens: float, last: float, rate_per_s: float, burst: int, at: float) -> float:
    """The bucket's tokens at ``at`` (the one rule; the SQL store writes it in SQL)."""
    return min(float(burst), tokens + max(0.0, at - last) * rate_per_s)


def grant(available: float, want: int) -> int:
    return max(0, min(want, math.floor(available)))


class MemoryKeyBuckets:
    """Buckets in process memory (a memory platform: one process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key id -> (tokens, last take)

    def lease(self, key_id: str, rate_per_s: float, burst: int, want: int, at: float) -> Lease:
        with self._lock:
            tokens, last = self._buckets.get(key_id, (float(burst), at))
            available = refill(tokens, last, rate_per_s, burst, at)
            granted = grant(available, want)
            self._buckets[key_id] = (available - granted, max(last, at))
        return Lease(granted, available - granted)

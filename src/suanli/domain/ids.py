"""Identifiers: short, URL-safe, sortable by creation for humans reading lists."""

from __future__ import annotations

import os
import secrets
import threading
from typing import NewType

JobId = NewType("JobId", str)
ClusterName = NewType("ClusterName", str)
PoolName = NewType("PoolName", str)

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def new_job_id() -> JobId:
    """Return a fresh job id such as ``j-7f3k2a9q4m``."""
    # 50 random bits, 5 per character (32 letters: exactly uniform).
    bits = _random_bits.next() & ((1 << 50) - 1)
    return JobId("j-" + "".join(_ALPHABET[(bits >> (5 * i)) & 31] for i in range(10)))


class _RandomBits:
    """64-bit draws from the operating system's random source, fetched 512 at a time: one
    system call per id showed on the submit path. A forked child fetches its own."""

    def __init__(self, batch: int = 512) -> None:
        self.batch = batch
        self._lock = threading.Lock()
        self._ready: list[int] = []
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:  # in a forked child: never the parent's draws again
        self._lock = threading.Lock()
        self._ready = []

    def next(self) -> int:
        with self._lock:
            if not self._ready:
                raw = secrets.token_bytes(8 * self.batch)
                self._ready = [int.from_bytes(raw[i : i + 8]) for i in range(0, len(raw), 8)]
            return self._ready.pop()


_random_bits = _RandomBits()


def engine_key(job_id: JobId, attempt: int) -> str:
    """The stable key an engine is told, so a restarted control plane re-adopts the run."""
    return f"suanli-{job_id}-a{attempt}"


def parse_engine_key(key: str) -> tuple[JobId, int] | None:
    """The job id and attempt an engine key names, or None when it is no suanli key."""
    head, sep, attempt = key.rpartition("-a")
    if not sep or not head.startswith("suanli-j-") or not attempt.isdigit():
        return None
    return JobId(head.removeprefix("suanli-")), int(attempt)

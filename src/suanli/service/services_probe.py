"""Readiness probes: is a replica answering on ``readiness.path`` yet?

Probes run in the control loop's thread (never on the API's event loop), several at once
in a small pool, each bounded by the spec's timeout (at most ``MAX_PROBE_S``), each
replica at most once per ``readiness.period_s``. Behind a protocol so that tests of the
control plane decide readiness themselves (a fake, not a patch).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import httpx

# One probe never holds the control loop longer than this (seconds), whatever the spec's
# readiness timeout (that one bounds how long a replica may take to become ready at all).
MAX_PROBE_S = 2.0
PROBES_AT_ONCE = 8


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    replica_id: str
    url: str  # the replica's base URL
    path: str  # readiness.path
    period_s: float


class ReadinessProbe(Protocol):
    def check(self, targets: Sequence[ProbeTarget], now: float) -> dict[str, bool]:
        """Probe the targets due at ``now`` (monotonic seconds); results by replica id for
        the ones probed (a target probed less than its period ago is left out)."""
        ...


class HttpProbe:
    """GET ``url + path``; ready on any 2xx answer within the time limit."""

    def __init__(self, timeout_s: float = MAX_PROBE_S) -> None:
        self._timeout = httpx.Timeout(timeout_s)
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(PROBES_AT_ONCE, thread_name_prefix="suanli-probe")

    def check(self, targets: Sequence[ProbeTarget], now: float) -> dict[str, bool]:
        with self._lock:
            due = [t for t in targets if now - self._last.get(t.replica_id, -1e18) >= t.period_s]
            for t in due:
                self._last[t.replica_id] = now
            known = {t.replica_id for t in targets}
            for gone in [k for k in self._last if k not in known]:
                del self._last[gone]
        answers = self._pool.map(self._one, due)
        return {t.replica_id: ok for t, ok in zip(due, answers, strict=True)}

    def _one(self, target: ProbeTarget) -> bool:
        try:
            with httpx.Client(timeout=self._timeout, trust_env=False) as client:
                answer = client.get(target.url + target.path)
        except httpx.HTTPError:
            return False
        return 200 <= answer.status_code < 300

"""Which service a request is for, and which of its replicas answers it.

The route table is read at most every ``ttl_s`` seconds (the control plane's view may be a
second or two old) and indexed by served model name and by ``owner/name``. Replicas are
chosen by least outstanding requests among the ready ones, ties in turn; a replica that
refused a connection is avoided for ``suspect_s`` seconds, before the control plane has
noticed it is gone.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import anyio

from suanli.domain.serving import ReplicaEndpoint, RouteTable, ServiceRoute


@dataclass(frozen=True)
class RouteIndex:
    routes: tuple[ServiceRoute, ...] = ()
    by_model: dict[str, tuple[ServiceRoute, ...]] = field(default_factory=dict)
    by_path: dict[tuple[str, str], ServiceRoute] = field(default_factory=dict)
    by_id: dict[str, ServiceRoute] = field(default_factory=dict)

    @staticmethod
    def of(routes: Sequence[ServiceRoute]) -> RouteIndex:
        by_model: dict[str, list[ServiceRoute]] = {}
        for r in routes:
            if r.served_name:
                by_model.setdefault(r.served_name, []).append(r)
        return RouteIndex(
            tuple(routes),
            {k: tuple(v) for k, v in by_model.items()},
            {(r.owner, r.name): r for r in routes},
            {r.service_id: r for r in routes},
        )

    def model(self, model: str, tenant: str) -> ServiceRoute | None:
        """The service ``tenant`` reaches as ``model``: its own first, then others' it may call.
        ``owner/model`` names one owner's."""
        owner, sep, served = model.partition("/")
        if sep:
            found = [r for r in self.by_model.get(served, ()) if r.owner == owner]
        else:
            found = list(self.by_model.get(model, ()))
        found = [r for r in found if r.callable_by(tenant)]
        found.sort(key=lambda r: (r.owner != tenant, r.owner, r.name))
        return found[0] if found else None

    def path(self, owner: str, name: str, tenant: str) -> ServiceRoute | None:
        route = self.by_path.get((owner, name))
        return route if route is not None and route.callable_by(tenant) else None


class Routes:
    """The route table as last read, refreshed at most every ``ttl_s`` seconds."""

    def __init__(self, table: RouteTable, monotonic: Callable[[], float], ttl_s: float) -> None:
        self.table = table
        self._monotonic = monotonic
        self.ttl_s = ttl_s
        self._index = RouteIndex()
        self._read_at: float | None = None
        self._lock = asyncio.Lock()

    @property
    def last(self) -> RouteIndex:
        """The index as last read (no refresh)."""
        return self._index

    async def current(self, max_age: float | None = None) -> RouteIndex:
        """The index, read again when older than ``max_age`` (default ``ttl_s``) seconds."""
        age = self.ttl_s if max_age is None else max_age
        if self._read_at is not None and self._monotonic() - self._read_at < age:
            return self._index
        async with self._lock:
            now = self._monotonic()
            if self._read_at is None or now - self._read_at >= age:
                routes = await anyio.to_thread.run_sync(self.table.routes)
                self._index = RouteIndex.of(routes)
                self._read_at = now
        return self._index


class Balancer:
    """Outstanding requests per replica; picks the least loaded ready one."""

    def __init__(
        self, concurrency: int, monotonic: Callable[[], float], suspect_s: float = 5.0
    ) -> None:
        self.concurrency = concurrency  # requests one replica is given at once
        self._monotonic = monotonic
        self.suspect_s = suspect_s
        self.outstanding: dict[str, int] = {}
        self._suspect: dict[str, float] = {}  # replica id -> until
        self._turn = itertools.count()

    def ready(self, route: ServiceRoute) -> list[ReplicaEndpoint]:
        now = self._monotonic()
        found = [
            r for r in route.replicas if r.ready and self._suspect.get(r.replica_id, 0.0) <= now
        ]
        # every ready replica suspect: try them anyway rather than refuse
        return found or [r for r in route.replicas if r.ready]

    def pick(
        self, route: ServiceRoute, exclude: frozenset[str] = frozenset()
    ) -> ReplicaEndpoint | None:
        """The least loaded ready replica with room, or None (none ready, or all full)."""
        ready = [r for r in self.ready(route) if r.replica_id not in exclude]
        if not ready:
            return None
        start = next(self._turn) % len(ready)
        best: ReplicaEndpoint | None = None
        best_load = self.concurrency
        for i in range(len(ready)):
            replica = ready[(start + i) % len(ready)]
            load = self.outstanding.get(replica.replica_id, 0)
            if load < best_load:
                best, best_load = replica, load
        return best

    def acquire(self, replica: ReplicaEndpoint) -> None:
        self.outstanding[replica.replica_id] = self.outstanding.get(replica.replica_id, 0) + 1

    def release(self, replica: ReplicaEndpoint) -> None:
        left = self.outstanding.get(replica.replica_id, 1) - 1
        if left > 0:
            self.outstanding[replica.replica_id] = left
        else:
            self.outstanding.pop(replica.replica_id, None)

    def suspect(self, replica: ReplicaEndpoint) -> None:
        self._suspect[replica.replica_id] = self._monotonic() + self.suspect_s

"""Where model services are kept: services, revisions, replicas and the gateways' load.

The store is also what the gateway reads and writes (suanli.domain.serving): it *is* the
:class:`RouteTable` (routes from the services in force and their replicas) and the
:class:`LoadSink` (one row per gateway process, service and window, pruned by the
autoscaler step once older than it needs). Memory here; SQL in store/sql/services.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Sequence
from typing import Protocol

from suanli.domain.services import Replica, Revision, Service, route_of
from suanli.domain.serving import LoadSample, ServiceRoute


class ServiceStore(Protocol):
    def create(self, service: Service, revision: Revision) -> bool:
        """Store a new service with its first revision, both or neither; False when its
        owner already has a service of that name."""

    def get(self, service_id: str) -> Service | None: ...

    def named(self, owner: str, name: str) -> Service | None: ...

    def services(self, owner: str | None = None) -> list[Service]:
        """Services by owner and name (every owner's when ``owner`` is None)."""

    def save(self, before: Service, after: Service) -> bool:
        """Write ``after`` if the stored service is still ``before`` (its version); the
        stored version becomes ``before.version + 1``. False: someone changed it first."""

    def add_revision(self, before: Service, after: Service, revision: Revision) -> bool:
        """A new revision and the service pointing at it, together, guarded as ``save``."""

    def revisions(self, service_id: str) -> list[Revision]:
        """Oldest first."""

    def remove(self, service_id: str) -> None:
        """Forget the service, its revisions, replicas and load (after it was drained)."""

    def put_replica(self, replica: Replica) -> None:
        """Insert or replace one replica (the control loop alone writes them)."""

    def forget_ended(self, service_id: str, keep: int) -> int:
        """Drop the service's stopped and failed replicas but the ``keep`` newest (by
        ``updated_at``); how many went."""

    def replicas(self, service_id: str | None = None, live: bool = False) -> list[Replica]:
        """A service's replicas (every service's when None), oldest first; ``live``: those
        not stopped or failed."""

    def observe(self, sample: LoadSample) -> None:
        """LoadSink: keep one gateway's window (the same window twice is kept once)."""

    def samples(self, service_id: str, since: dt.datetime) -> list[LoadSample]:
        """Windows ending after ``since``, oldest first."""

    def prune(self, service_id: str, before: dt.datetime) -> int:
        """Drop windows ending before ``before``; how many went."""

    def routes(self) -> Sequence[ServiceRoute]:
        """RouteTable: every service in force (not being deleted) as the gateway needs it."""

    def want_replica(self, service_id: str, at: dt.datetime) -> None:
        """RouteTable: a request waits: at least one replica is wanted from ``at`` on."""


def wanting(service: Service, at: dt.datetime) -> Service | None:
    """``service`` as a waiting request leaves it (None: nothing to change). Requests that
    wait together write once a second at most."""
    if service.deleting:
        return None
    recent = service.wanted_at is not None and at - service.wanted_at < WANT_EVERY
    if service.desired >= 1 and recent:
        return None
    desired = max(service.desired, 1)
    return dataclasses.replace(service, desired=desired, wanted_at=at, updated_at=at)


# Waiting requests refresh a service's ``wanted_at`` at most this often.
WANT_EVERY = dt.timedelta(seconds=1)


class MemoryServiceStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._services: dict[str, Service] = {}
        self._revisions: dict[str, list[Revision]] = {}
        self._replicas: dict[str, Replica] = {}
        self._load: dict[tuple[str, str, dt.datetime], LoadSample] = {}

    def create(self, service: Service, revision: Revision) -> bool:
        with self._lock:
            if self.named(service.owner, service.name) is not None:
                return False
            self._services[service.id] = dataclasses.replace(service, version=0)
            self._revisions[service.id] = [revision]
            return True

    def get(self, service_id: str) -> Service | None:
        with self._lock:
            return self._services.get(service_id)

    def named(self, owner: str, name: str) -> Service | None:
        with self._lock:
            return next(
                (s for s in self._services.values() if s.owner == owner and s.name == name),
                None,
            )

    def services(self, owner: str | None = None) -> list[Service]:
        with self._lock:
            found = [s for s in self._services.values() if owner is None or s.owner == owner]
        return sorted(found, key=lambda s: (s.owner, s.name))

    def save(self, before: Service, after: Service) -> bool:
        with self._lock:
            stored = self._services.get(before.id)
            if stored is None or stored.version != before.version:
                return False
            self._services[before.id] = dataclasses.replace(after, version=before.version + 1)
            return True

    def add_revision(self, before: Service, after: Service, revision: Revision) -> bool:
        with self._lock:
            if not self.save(before, after):
                return False
            self._revisions[before.id].append(revision)
            return True

    def revisions(self, service_id: str) -> list[Revision]:
        with self._lock:
            return list(self._revisions.get(service_id, []))

    def remove(self, service_id: str) -> None:
        with self._lock:
            self._services.pop(service_id, None)
            self._revisions.pop(service_id, None)
            for replica in [r for r in self._replicas.values() if r.service_id == service_id]:
                del self._replicas[replica.id]
            for key in [k for k in self._load if k[0] == service_id]:
                del self._load[key]

    def put_replica(self, replica: Replica) -> None:
        with self._lock:
            self._replicas[replica.id] = replica

    def replicas(self, service_id: str | None = None, live: bool = False) -> list[Replica]:
        with self._lock:
            found = [
                r
                for r in self._replicas.values()
                if (service_id is None or r.service_id == service_id)
                and not (live and r.status.is_final)
            ]
        return sorted(found, key=lambda r: (r.created_at, r.id))

    def forget_ended(self, service_id: str, keep: int) -> int:
        with self._lock:
            ended = sorted(
                (
                    r
                    for r in self._replicas.values()
                    if r.service_id == service_id and r.status.is_final
                ),
                key=lambda r: (r.updated_at, r.id),
                reverse=True,
            )
            for replica in ended[keep:]:
                del self._replicas[replica.id]
            return len(ended[keep:])

    def observe(self, sample: LoadSample) -> None:
        with self._lock:
            self._load.setdefault((sample.service_id, sample.gateway, sample.end), sample)

    def samples(self, service_id: str, since: dt.datetime) -> list[LoadSample]:
        with self._lock:
            found = [s for s in self._load.values() if s.service_id == service_id]
        return sorted((s for s in found if s.end > since), key=lambda s: (s.end, s.gateway))

    def prune(self, service_id: str, before: dt.datetime) -> int:
        with self._lock:
            old = [k for k in self._load if k[0] == service_id and k[2] < before]
            for key in old:
                del self._load[key]
        return len(old)

    def routes(self) -> Sequence[ServiceRoute]:
        with self._lock:
            live = [s for s in self._services.values() if not s.deleting]
            return [
                route_of(s, self._revisions[s.id][s.revision - 1].spec, self.replicas(s.id, True))
                for s in sorted(live, key=lambda s: (s.owner, s.name))
            ]

    def want_replica(self, service_id: str, at: dt.datetime) -> None:
        for _ in range(10):
            service = self.get(service_id)
            after = wanting(service, at) if service is not None else None
            if after is None or service is None or self.save(service, after):
                return

"""SQL store of model services (store/services.py says what each call promises)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, and_, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from suanli.domain.service_spec import ServiceSpec
from suanli.domain.services import Replica, ReplicaStatus, Revision, Service, route_of
from suanli.domain.serving import LoadSample, ServiceRoute
from suanli.store.services import wanting
from suanli.store.sql.service_tables import (
    service_load,
    service_replicas,
    service_revisions,
    services,
)

FINAL = [s.value for s in ReplicaStatus if s.is_final]


class SqlServiceStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert

    def create(self, service: Service, revision: Revision) -> bool:
        try:
            with self._engine.begin() as conn:
                conn.execute(services.insert().values(**_service_row(service, 0)))
                conn.execute(service_revisions.insert().values(**_revision_row(revision)))
        except IntegrityError:
            return False
        return True

    def get(self, service_id: str) -> Service | None:
        return self._one(services.c.id == service_id)

    def named(self, owner: str, name: str) -> Service | None:
        return self._one(and_(services.c.owner == owner, services.c.name == name))

    def _one(self, where: Any) -> Service | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(services).where(where)).first()
        return _service(row) if row is not None else None

    def services(self, owner: str | None = None) -> list[Service]:
        query = select(services).order_by(services.c.owner, services.c.name)
        if owner is not None:
            query = query.where(services.c.owner == owner)
        with self._engine.connect() as conn:
            return [_service(r) for r in conn.execute(query)]

    def save(self, before: Service, after: Service) -> bool:
        with self._engine.begin() as conn:
            return self._save(conn, before, after)

    def _save(self, conn: Any, before: Service, after: Service) -> bool:
        row = _service_row(after, before.version + 1)
        del row["id"]
        done = conn.execute(
            update(services)
            .where(services.c.id == before.id, services.c.version == before.version)
            .values(**row)
        )
        return bool(done.rowcount == 1)

    def add_revision(self, before: Service, after: Service, revision: Revision) -> bool:
        try:
            with self._engine.begin() as conn:
                if not self._save(conn, before, after):
                    raise _Stale
                conn.execute(service_revisions.insert().values(**_revision_row(revision)))
        except (_Stale, IntegrityError):
            return False
        return True

    def revisions(self, service_id: str) -> list[Revision]:
        query = (
            select(service_revisions)
            .where(service_revisions.c.service_id == service_id)
            .order_by(service_revisions.c.number)
        )
        with self._engine.connect() as conn:
            return [_revision(r) for r in conn.execute(query)]

    def remove(self, service_id: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(service_load).where(service_load.c.service_id == service_id))
            conn.execute(
                delete(service_replicas).where(service_replicas.c.service_id == service_id)
            )
            conn.execute(
                delete(service_revisions).where(service_revisions.c.service_id == service_id)
            )
            conn.execute(delete(services).where(services.c.id == service_id))

    def put_replica(self, replica: Replica) -> None:
        row = _replica_row(replica)
        stmt = self._insert(service_replicas).values(**row)
        changed = {k: v for k, v in row.items() if k != "id"}
        with self._engine.begin() as conn:
            conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=changed))

    def forget_ended(self, service_id: str, keep: int) -> int:
        mine = and_(
            service_replicas.c.service_id == service_id, service_replicas.c.status.in_(FINAL)
        )
        kept = (
            select(service_replicas.c.id)
            .where(mine)
            .order_by(service_replicas.c.updated_at.desc(), service_replicas.c.id.desc())
            .limit(keep)
        )
        with self._engine.begin() as conn:
            keep_ids = [r.id for r in conn.execute(kept)]
            done = conn.execute(
                delete(service_replicas).where(mine, service_replicas.c.id.not_in(keep_ids))
            )
        return int(done.rowcount or 0)

    def replicas(self, service_id: str | None = None, live: bool = False) -> list[Replica]:
        query = select(service_replicas).order_by(
            service_replicas.c.created_at, service_replicas.c.id
        )
        if service_id is not None:
            query = query.where(service_replicas.c.service_id == service_id)
        if live:
            query = query.where(service_replicas.c.status.not_in(FINAL))
        with self._engine.connect() as conn:
            return [_replica(r) for r in conn.execute(query)]

    def observe(self, sample: LoadSample) -> None:
        stmt = self._insert(service_load).values(
            service_id=sample.service_id,
            gateway=sample.gateway[:128],
            end_at=sample.end,
            start_at=sample.start,
            in_flight=sample.in_flight,
            requests=sample.requests,
            output_tokens=sample.output_tokens,
            waiting=sample.waiting,
        )
        with self._engine.begin() as conn:
            conn.execute(stmt.on_conflict_do_nothing())

    def samples(self, service_id: str, since: dt.datetime) -> list[LoadSample]:
        query = (
            select(service_load)
            .where(service_load.c.service_id == service_id, service_load.c.end_at > since)
            .order_by(service_load.c.end_at, service_load.c.gateway)
        )
        with self._engine.connect() as conn:
            return [
                LoadSample(
                    r.service_id,
                    r.gateway,
                    r.start_at,
                    r.end_at,
                    r.in_flight,
                    r.requests,
                    r.output_tokens,
                    r.waiting,
                )
                for r in conn.execute(query)
            ]

    def prune(self, service_id: str, before: dt.datetime) -> int:
        with self._engine.begin() as conn:
            done = conn.execute(
                delete(service_load).where(
                    service_load.c.service_id == service_id, service_load.c.end_at < before
                )
            )
        return int(done.rowcount or 0)

    def routes(self) -> Sequence[ServiceRoute]:
        with self._engine.connect() as conn:
            found = [
                _service(r)
                for r in conn.execute(
                    select(services)
                    .where(services.c.deleting.is_(False))
                    .order_by(services.c.owner, services.c.name)
                )
            ]
            specs = {
                (r.service_id, r.number): r.spec
                for r in conn.execute(
                    select(
                        service_revisions.c.service_id,
                        service_revisions.c.number,
                        service_revisions.c.spec,
                    )
                    .join(services, services.c.id == service_revisions.c.service_id)
                    .where(service_revisions.c.number == services.c.revision)
                )
            }
            live: dict[str, list[Replica]] = {}
            for r in conn.execute(
                select(service_replicas)
                .where(service_replicas.c.status.not_in(FINAL))
                .order_by(service_replicas.c.created_at, service_replicas.c.id)
            ):
                live.setdefault(r.service_id, []).append(_replica(r))
        return [
            route_of(s, _spec(specs[(s.id, s.revision)]), live.get(s.id, []))
            for s in found
            if (s.id, s.revision) in specs
        ]

    def want_replica(self, service_id: str, at: dt.datetime) -> None:
        for _ in range(10):
            service = self.get(service_id)
            after = wanting(service, at) if service is not None else None
            if after is None or service is None or self.save(service, after):
                return


class _Stale(Exception):
    """The service changed under a guarded write."""


_SPECS: dict[str, ServiceSpec] = {}


def _spec(text: str) -> ServiceSpec:
    """A stored spec, decoded once per process (a revision never changes)."""
    found = _SPECS.get(text)
    if found is None:
        if len(_SPECS) > 1024:
            _SPECS.clear()
        found = _SPECS[text] = ServiceSpec.model_validate_json(text)
    return found


def _service_row(s: Service, version: int) -> dict[str, Any]:
    return {
        "id": s.id,
        "owner": s.owner,
        "name": s.name,
        "revision": s.revision,
        "latest": s.latest,
        "desired": s.desired,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "wanted_at": s.wanted_at,
        "deleting": s.deleting,
        "version": version,
    }


def _service(r: Any) -> Service:
    return Service(
        r.id,
        r.owner,
        r.name,
        r.revision,
        r.latest,
        r.desired,
        r.created_at,
        r.updated_at,
        r.wanted_at,
        bool(r.deleting),
        r.version,
    )


def _revision_row(rev: Revision) -> dict[str, Any]:
    return {
        "service_id": rev.service_id,
        "number": rev.number,
        "spec": rev.spec.model_dump_json(),
        "created_at": rev.created_at,
    }


def _revision(r: Any) -> Revision:
    return Revision(r.service_id, r.number, _spec(r.spec), r.created_at)


def _replica_row(r: Replica) -> dict[str, Any]:
    return {
        "id": r.id,
        "service_id": r.service_id,
        "revision": r.revision,
        "status": r.status.value,
        "job_id": r.job_id,
        "attempt": r.attempt,
        "cluster": r.cluster,
        "url": r.url,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "ready_at": r.ready_at,
        "drain_at": r.drain_at,
        "floor": r.floor,
        "detail": r.detail[:500],
    }


def _replica(r: Any) -> Replica:
    return Replica(
        id=r.id,
        service_id=r.service_id,
        revision=r.revision,
        status=ReplicaStatus(r.status),
        job_id=r.job_id,
        created_at=r.created_at,
        updated_at=r.updated_at,
        attempt=r.attempt,
        cluster=r.cluster,
        url=r.url,
        ready_at=r.ready_at,
        drain_at=r.drain_at,
        floor=bool(r.floor),
        detail=r.detail,
    )

"""Model services to their wire form (schemas/services.py)."""

from __future__ import annotations

import datetime as dt

from suanli.domain.services import Replica, ReplicaStatus, Revision, Service
from suanli.scheduler.autoscaling import Sample
from suanli.schemas.services import (
    LoadPoint,
    ReplicaResponse,
    RevisionResponse,
    ServiceResponse,
)


def replica_to_response(r: Replica) -> ReplicaResponse:
    return ReplicaResponse(
        id=r.id,
        revision=r.revision,
        status=r.status.value,
        job_id=r.job_id,
        attempt=r.attempt,
        cluster=r.cluster,
        url=r.url,
        floor=r.floor,
        created_at=r.created_at,
        ready_at=r.ready_at,
        detail=r.detail,
    )


def service_to_response(
    s: Service,
    revisions: list[Revision],
    replicas: list[Replica],
    detail: bool = False,
    created: bool = False,
    changed: bool = False,
) -> ServiceResponse:
    spec = revisions[s.revision - 1].spec
    return ServiceResponse(
        id=s.id,
        owner=s.owner,
        name=s.name,
        revision=s.revision,
        latest=s.latest,
        desired=s.desired,
        ready=sum(r.status is ReplicaStatus.READY for r in replicas),
        min_replicas=spec.replicas.min,
        max_replicas=spec.replicas.max,
        served_name=spec.model.served_name if spec.model else None,
        deleting=s.deleting,
        created_at=s.created_at,
        updated_at=s.updated_at,
        created=created,
        changed=changed,
        replicas=[replica_to_response(r) for r in replicas] if detail else [],
        revisions=[
            RevisionResponse(
                number=r.number,
                created_at=r.created_at,
                spec=r.spec.model_dump(mode="json", exclude_defaults=True),
            )
            for r in revisions
        ]
        if detail
        else [],
    )


def load_points(samples: tuple[Sample, ...]) -> list[LoadPoint]:
    return [
        LoadPoint(
            end=dt.datetime.fromtimestamp(s.end, dt.UTC),
            requests_per_s=round(s.value("rps"), 3),
            in_flight=s.in_flight,
            tokens_per_s=round(s.value("tokens_per_s"), 3),
        )
        for s in samples
    ]

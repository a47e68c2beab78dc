"""Model services as the control plane keeps them: services, revisions, replicas.

A service is named by its owner; each changed spec is a new revision (numbered from 1);
``revision`` is the one in force (a rollback points it back at an older one). Each
replica runs one revision as a job placed by the scheduler (``job_id``); the engine
reports its address, the readiness probe says when it may take requests.
Plain frozen dataclasses, no I/O; :func:`route_of` turns one into the gateway's view.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from suanli.domain.service_spec import ServiceSpec
from suanli.domain.serving import ReplicaEndpoint, ServiceRoute
from suanli.domain.spec import JobSpec

# Env of a replica's run: its service, and whether it is one of the service's minimum
# (batch work never preempts those: scheduler.fairqueue reads it).
SERVICE_ENV = "SUANLI_SERVICE_ID"
FLOOR_ENV = "SUANLI_SERVICE_FLOOR"


def holds_floor(spec: JobSpec) -> bool:
    """Whether a job is a replica within its service's ``replicas.min`` (not preemptible)."""
    return spec.env.get(FLOOR_ENV) == "1"


class ReplicaStatus(StrEnum):
    STARTING = "starting"  # its job is queued, placed or starting, or it is not ready yet
    READY = "ready"  # its readiness probe passed: in the routes
    DRAINING = "draining"  # out of the routes; its job is stopped after the drain time
    STOPPED = "stopped"  # its job ended after a stop (scale down, rollout, delete)
    FAILED = "failed"  # its job failed, was lost, or it never became ready: replaced

    @property
    def is_final(self) -> bool:
        return self in (ReplicaStatus.STOPPED, ReplicaStatus.FAILED)

    @property
    def is_live(self) -> bool:
        """Counted toward the desired replicas (a draining one is on its way out)."""
        return self in (ReplicaStatus.STARTING, ReplicaStatus.READY)


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    owner: str
    name: str
    revision: int  # the revision in force
    latest: int  # the newest revision there is
    desired: int  # replicas wanted now (autoscaler, `serve scale`, scale from zero)
    created_at: dt.datetime
    updated_at: dt.datetime
    wanted_at: dt.datetime | None = None  # last time a request waited for a replica
    deleting: bool = False  # `serve delete`: replicas drain, then the service is gone
    version: int = 0  # bumped by every save (guarded writes)


@dataclass(frozen=True, slots=True)
class Revision:
    service_id: str
    number: int
    spec: ServiceSpec
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Replica:
    id: str
    service_id: str
    revision: int
    status: ReplicaStatus
    job_id: str
    created_at: dt.datetime
    updated_at: dt.datetime
    attempt: int = 0
    cluster: str = ""
    url: str = ""  # base URL the engine reported ("" until it did)
    ready_at: dt.datetime | None = None
    drain_at: dt.datetime | None = None  # when it left the routes
    floor: bool = False  # one of the service's `replicas.min`: batch work never preempts it
    detail: str = ""  # why it failed or stopped, in the engine's or the probe's words

    @property
    def ready(self) -> bool:
        return self.status is ReplicaStatus.READY


def route_of(service: Service, spec: ServiceSpec, replicas: list[Replica]) -> ServiceRoute:
    """The gateway's view of ``service`` at its revision ``spec``: replicas not yet
    draining, ready or not (the gateway sends requests to the ready ones only)."""
    model = spec.model
    endpoints = tuple(
        ReplicaEndpoint(r.id, r.url, r.ready, r.cluster)
        for r in sorted(replicas, key=lambda r: r.id)
        if r.status.is_live and r.url
    )
    return ServiceRoute(
        service_id=service.id,
        name=service.name,
        owner=service.owner,
        revision=service.revision,
        served_name=model.served_name if model else None,
        visibility=model.visibility if model else "private",
        tenants=tuple(model.tenants) if model else (),
        payer=model.payer if model else "owner",
        base_model=model.base_model if model else None,
        publisher=model.publisher if model else None,
        domestic=model.domestic if model else False,
        input_price_per_million_yuan=model.input_price_per_million_yuan if model else Decimal(0),
        output_price_per_million_yuan=model.output_price_per_million_yuan if model else Decimal(0),
        replicas=endpoints,
        min_replicas=spec.replicas.min,
        max_replicas=spec.replicas.max,
    )

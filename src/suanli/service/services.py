"""Model services, as their owners use them: deploy, roll out, roll back, scale, delete.

Each call changes what is *wanted* (the revision in force, the replica count, deleting);
the control step of the scheduling cycle (services_control) moves the replicas toward it.
A spec is checked against the fleet exactly as a job's before anything is stored, so an
invalid one leaves nothing behind; a service and its first revision are stored together.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from dataclasses import dataclass

from suanli.domain.access import Principal
from suanli.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from suanli.domain.jobs import Job
from suanli.domain.service_spec import ServiceSpec
from suanli.domain.services import FLOOR_ENV, SERVICE_ENV, Replica, Revision, Service
from suanli.domain.spec import JobSpec, RetryPolicy
from suanli.domain.tenants import DEMO_TENANT
from suanli.engines.base import REPLICA_ENV, LogChunk
from suanli.service.deps import Platform
from suanli.service.jobs import new_job, read_logs

# The service priority class: replicas come before batch work in the queue.
SERVICE_PRIORITY = 100
# A replica serves until stopped: the longest time limit a job may have (a year).
REPLICA_TIME_LIMIT_HOURS = 8760
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(10))


def replica_job_spec(spec: ServiceSpec, service_id: str, replica_id: str, floor: bool) -> JobSpec:
    """The job one replica runs: the service's resources and command, never retried by the
    job layer (a failed replica is replaced by the control plane, anywhere it fits)."""
    env = {**spec.env, SERVICE_ENV: service_id, REPLICA_ENV: replica_id}
    if floor:
        env[FLOOR_ENV] = "1"
    return JobSpec(
        name=spec.name,
        description=spec.description,
        resources=spec.resources,
        stacks=spec.stacks,
        regions=spec.regions,
        domestic_only=spec.domestic_only,
        image=spec.image,
        setup=spec.setup,
        run=spec.run,
        env=env,
        time_limit_hours=REPLICA_TIME_LIMIT_HOURS,
        priority=SERVICE_PRIORITY,
        retry=RetryPolicy(max_attempts=1, when=[]),
        objective=spec.objective,
    )


def replica_job(p: Platform, service: Service, spec: ServiceSpec, floor: bool) -> Job:
    """A new replica's PENDING job (checked against the fleet, not stored yet)."""
    replica_id = new_id("r-")
    return new_job(p, replica_job_spec(spec, service.id, replica_id, floor), None, service.owner)


def check_service(p: Platform, owner: str, spec: ServiceSpec) -> None:
    """Raise InvalidInput (each field named) when a replica of ``spec`` could never run."""
    new_job(p, replica_job_spec(spec, "s-check", "r-check", True), None, owner)


@dataclass(frozen=True)
class Deployed:
    service: Service
    created: bool  # a new service
    changed: bool  # a new revision (a new service's first counts)


def deploy(p: Platform, owner: str, spec: ServiceSpec) -> Deployed:
    """Create ``spec.name`` for ``owner``, or roll it out as a new revision when it differs
    from the revision in force (the same spec again changes nothing)."""
    check_service(p, owner, spec)
    now = p.clock.now()
    for _ in range(10):
        found = p.services.named(owner, spec.name)
        if found is None:
            service = Service(new_id("s-"), owner, spec.name, 1, 1, spec.replicas.min, now, now)
            if p.services.create(service, Revision(service.id, 1, spec, now)):
                return Deployed(service, True, True)
            continue  # another request created it first
        if found.deleting:
            raise Conflict("service_deleted", service=spec.name)
        revisions = p.services.revisions(found.id)
        if revisions[found.revision - 1].spec == spec:
            return Deployed(found, False, False)
        number = found.latest + 1
        after = _moved(found, number, spec, now, latest=number)
        if p.services.add_revision(found, after, Revision(found.id, number, spec, now)):
            return Deployed(dataclasses.replace(after, version=found.version + 1), False, True)
    raise Conflict("service_deleted", service=spec.name)


def _moved(
    service: Service, revision: int, spec: ServiceSpec, now: dt.datetime, latest: int
) -> Service:
    low, high = spec.replicas.min, spec.replicas.max
    return dataclasses.replace(
        service,
        revision=revision,
        latest=latest,
        desired=min(high, max(low, service.desired)),
        updated_at=now,
    )


def get_service(p: Platform, owner: str, name: str) -> Service:
    found = p.services.named(owner, name)
    if found is None:
        raise NotFound("service_not_found", service=name)
    return found


def revisions(p: Platform, service: Service) -> list[Revision]:
    return p.services.revisions(service.id)


def spec_in_force(p: Platform, service: Service) -> ServiceSpec:
    return p.services.revisions(service.id)[service.revision - 1].spec


def rollout(p: Platform, owner: str, spec: ServiceSpec) -> Deployed:
    """A new revision of an existing service (``deploy`` creates one that does not exist)."""
    get_service(p, owner, spec.name)
    return deploy(p, owner, spec)


def rollback(p: Platform, owner: str, name: str, revision: int | None = None) -> Service:
    """Put ``revision`` (default: the one before the revision in force) back in force; its
    replicas replace the others as in any rollout."""
    for _ in range(10):
        service = get_service(p, owner, name)
        if service.deleting:
            raise Conflict("service_deleted", service=name)
        target = revision if revision is not None else service.revision - 1
        if not 1 <= target <= service.latest:
            raise InvalidInput(
                "service_revision_not_found",
                service=name,
                revision=target,
                latest=service.latest,
            )
        spec = p.services.revisions(service.id)[target - 1].spec
        after = _moved(service, target, spec, p.clock.now(), latest=service.latest)
        if p.services.save(service, after):
            return dataclasses.replace(after, version=service.version + 1)
    raise Conflict("service_deleted", service=name)


def scale(p: Platform, owner: str, name: str, replicas: int) -> Service:
    """Set the replica count now, within ``replicas.min``..``max`` (the autoscaler moves it
    from there as the load says). At 0 the service stays at zero until a request waits for
    a replica (scale from zero), whatever the traffic before."""
    for _ in range(10):
        service = get_service(p, owner, name)
        if service.deleting:
            raise Conflict("service_deleted", service=name)
        bounds = spec_in_force(p, service).replicas
        if not bounds.min <= replicas <= bounds.max:
            raise InvalidInput(
                "service_scale_out_of_range",
                replicas=replicas,
                min=bounds.min,
                max=bounds.max,
            )
        # A request that waited before (scale from zero) holds no replica past a scale to 0.
        wanted_at = service.wanted_at if replicas else None
        after = dataclasses.replace(
            service, desired=replicas, wanted_at=wanted_at, updated_at=p.clock.now()
        )
        if p.services.save(service, after):
            return dataclasses.replace(after, version=service.version + 1)
    raise Conflict("service_deleted", service=name)


def delete(p: Platform, owner: str, name: str) -> Service:
    """Take the service out of the routes; its replicas drain and stop, then it is gone."""
    for _ in range(10):
        service = get_service(p, owner, name)
        if service.deleting:
            return service
        after = dataclasses.replace(service, deleting=True, desired=0, updated_at=p.clock.now())
        if p.services.save(service, after):
            return dataclasses.replace(after, version=service.version + 1)
    raise Conflict("service_deleted", service=name)


def replicas(p: Platform, service: Service, live: bool = False) -> list[Replica]:
    return p.services.replicas(service.id, live)


def replica_logs(
    p: Platform, service: Service, replica_id: str | None, offset: int = 0, limit: int = 1 << 20
) -> tuple[Replica, LogChunk]:
    """A replica's output (default: the newest replica of the service)."""
    found = p.services.replicas(service.id)
    chosen = [r for r in found if replica_id in (None, r.id)]
    if not chosen:
        raise NotFound("service_not_found", service=f"{service.name}/{replica_id}")
    replica = chosen[-1]
    return replica, read_logs(p, replica.job_id, offset, limit)


def owner_for(caller: Principal, asked: str | None, action: str) -> str:
    """The tenant whose services ``caller`` acts on: its own; the operator names any."""
    if caller.is_operator:
        return asked or DEMO_TENANT
    if caller.tenant is None or asked not in (None, caller.tenant):
        raise Forbidden(
            "access.forbidden", user=caller.user, role=caller.role.value, action=action
        )
    return caller.tenant

"""Job use cases: submit, read, list, cancel, logs."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from suanli.domain.errors import Conflict, FieldError, InvalidInput, NotFound
from suanli.domain.fleet import REGIONS, Fleet
from suanli.domain.ids import JobId, new_job_id
from suanli.domain.jobs import Job, JobEvent, JobStatus, Reason, ReasonList
from suanli.domain.lifecycle import note, transition
from suanli.domain.spec import JobSpec
from suanli.domain.tenants import DEMO_TENANT
from suanli.engines.base import LogChunk
from suanli.scheduler.feasibility import exclusion
from suanli.service.deps import Platform
from suanli.store.base import Outcome

S = JobStatus


def check_spec(spec: JobSpec, fleet: Fleet, pinned: str | None = None) -> list[FieldError]:
    """What in ``spec`` this fleet cannot honour: unknown names, or no pool that could ever fit."""
    errors: list[FieldError] = []
    known = ", ".join(fleet.catalog.ids())
    acc = spec.resources.accelerator
    for i, name in enumerate(acc.model or [] if acc else []):
        if fleet.catalog.get(name) is None:
            errors.append(
                FieldError(f"resources.accelerator.model[{i}]", "unknown_accelerator", name, known)
            )
    regions = sorted(set(REGIONS) | set(fleet.regions()))
    for i, region in enumerate(spec.regions or []):
        if region not in regions:
            errors.append(
                FieldError(f"regions[{i}]", "unknown_region", region, ", ".join(regions))
            )
    for i, data in enumerate(spec.inputs):
        if data.region not in regions:
            errors.append(
                FieldError(
                    f"inputs[{i}].region", "unknown_region", data.region, ", ".join(regions)
                )
            )
    if pinned is not None and fleet.cluster(pinned) is None:
        names = ", ".join(c.name for c in fleet.clusters())
        errors.append(FieldError("cluster", "unknown_cluster", pinned, names))
    if errors:
        return errors
    excluded = []
    for cluster, pool in fleet.pools():
        reason = exclusion(spec, cluster, pool, fleet.catalog, pinned)
        if reason is None:
            return []
        excluded.append((f"{cluster.name}/{pool.name}", reason))
    return [
        FieldError("resources", "no_feasible_pool", params={"detail": ReasonList(tuple(excluded))})
    ]


def submit_job(
    p: Platform, spec: JobSpec, cluster: str | None = None, tenant: str = DEMO_TENANT
) -> Job:
    """Validate ``spec`` against the fleet and store it PENDING; the control loop takes it on."""
    errors = check_spec(spec, p.fleet, cluster)
    if p.billing is not None and p.billing.tenants.get(tenant) is None:
        known = ", ".join(t.name for t in p.billing.tenants.all())
        errors.append(FieldError("tenant", "unknown_tenant", tenant, known))
    if errors:
        raise InvalidInput("invalid_spec", errors=errors)
    now = p.clock.now()
    job = Job(
        id=new_job_id(),
        spec=spec,
        status=S.PENDING,
        submitted_at=now,
        updated_at=now,
        pinned_cluster=cluster,
        tenant=tenant,
    )
    p.jobs.add(job, [JobEvent(job.id, now, None, S.PENDING, Reason("reason_submitted"))])
    return job


def get_job(p: Platform, job_id: str) -> Job:
    job = p.jobs.get(JobId(job_id))
    if job is None:
        raise NotFound("job_not_found", job_id=job_id)
    return job


@dataclass(frozen=True)
class JobPage:
    jobs: list[Job]
    total: int


def list_jobs(
    p: Platform,
    statuses: Sequence[JobStatus] | None = None,
    limit: int = 50,
    offset: int = 0,
    tenant: str | None = None,
    provider: str | None = None,
    cluster: str | None = None,
) -> JobPage:
    clusters = None
    if provider is not None or cluster is not None:
        clusters = [
            c.name
            for c in p.fleet.clusters()
            if (provider is None or c.provider == provider) and (cluster in (None, c.name))
        ]
    found = p.jobs.list(statuses, limit, offset, tenant=tenant, clusters=clusters)
    return JobPage(found, p.jobs.count(statuses, tenant=tenant, clusters=clusters))


def job_history(p: Platform, job_id: str) -> list[JobEvent]:
    get_job(p, job_id)
    return p.jobs.events(JobId(job_id))


def cancel_job(p: Platform, job_id: str) -> Job:
    """Cancel at once if nothing runs yet; otherwise ask the engine and let the reconciler finish.

    Retries on a concurrent change, so a cancel never loses a race with the control loop.
    """
    for _ in range(20):
        job = get_job(p, job_id)
        now = p.clock.now()
        if job.status.is_terminal:
            raise Conflict("already_finished", job_id=job.id, status=job.status.value)
        if job.status in (S.STARTING, S.RUNNING):
            if job.cancel_requested:
                return job
            after = dataclasses.replace(job, cancel_requested=True, updated_at=now)
            events = [note(job, now, Reason("reason_cancel_requested"))]
        else:
            after, event = transition(
                job, S.CANCELLED, now, Reason("reason_cancel_requested"), cancel_requested=True
            )
            events = [event]
        if p.jobs.save(job, after, events) is Outcome.APPLIED:
            if after.status is not S.CANCELLED:
                request_engine_cancel(p, after)
            return dataclasses.replace(after, version=job.version + 1)
    raise Conflict("already_finished", job_id=job_id, status="busy")


def request_engine_cancel(p: Platform, job: Job) -> None:
    """Tell the engine to stop the run (idempotent); failures are retried by the reconciler."""
    if job.placement is None or job.engine_key is None:
        return
    engine = p.engine(job.placement.cluster)
    if engine is not None:
        engine.cancel(job.engine_key)


def read_logs(p: Platform, job_id: str, offset: int = 0, limit: int = 1 << 20) -> LogChunk:
    job = get_job(p, job_id)
    if job.placement is None or job.engine_key is None:
        return LogChunk(b"", offset)
    engine = p.engine(job.placement.cluster)
    if engine is None:
        return LogChunk(b"", offset)
    return engine.read_log(job.engine_key, offset, limit)

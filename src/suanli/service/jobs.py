"""Job use cases: submit, read, list, cancel, logs."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from suanli.domain.access import Principal
from suanli.domain.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
)
from suanli.domain.fleet import REGIONS, Fleet
from suanli.domain.ids import JobId
from suanli.domain.jobs import Job, JobEvent, JobStatus, Reason
from suanli.domain.lifecycle import note, transition
from suanli.domain.near import near
from suanli.domain.spec import MILLI, JobSpec
from suanli.domain.tenants import DEMO_TENANT, TenantTerms, may_use, most_ever
from suanli.domain.waits import why_no_pool
from suanli.engines.base import LogChunk
from suanli.engines.checkpoints import drop_checkpoints
from suanli.scheduler.fairqueue import show_count
from suanli.scheduler.feasibility import exclusion
from suanli.schemas.specfile import parse_submission
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
            close = near(name, fleet.catalog.ids())
            field = f"resources.accelerator.model[{i}]"
            if close:  # the near misses, not the whole catalog
                errors.append(
                    FieldError(field, "unknown_accelerator_near", name, ", ".join(close))
                )
            else:
                errors.append(FieldError(field, "unknown_accelerator", name, known))
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
        reason = exclusion(spec, cluster, pool, fleet.catalog, pinned, fleet.measured)
        if reason is None:
            return []
        excluded.append((f"{cluster.name}/{pool.name}", reason))
    return [FieldError("resources", "no_feasible_pool", params={"detail": why_no_pool(excluded)})]


def check_quota(
    spec: JobSpec,
    fleet: Fleet,
    terms: TenantTerms,
    tenants: Mapping[str, TenantTerms],
    pinned: str | None = None,
) -> list[FieldError]:
    """A job wider than its tenant could ever hold on every model that could run it, or one
    that none of the pools the tenant may use (``TenantTerms.pools``) can run."""
    if terms.pools is not None and not any(
        may_use(terms.pools, cluster.name, pool.name)
        and exclusion(spec, cluster, pool, fleet.catalog, pinned, fleet.measured) is None
        for cluster, pool in fleet.pools()
    ):
        return [FieldError("resources", "queue_no_pool", params={"tenant": terms.name})]
    need = spec.share_milli * spec.total_accelerators
    if need == 0 or not terms.quota:
        return []
    bounds: dict[str, int] = {}
    for cluster, pool in fleet.pools():
        model = pool.accelerator
        if not may_use(terms.pools, cluster.name, pool.name):
            continue
        if model and exclusion(spec, cluster, pool, fleet.catalog, pinned, fleet.measured) is None:
            most = most_ever(terms, tenants.values(), model)
            if most is None or need <= most * MILLI:
                return []
            bounds[model] = most
    if not bounds:
        return []
    allowed = ", ".join(f"{model} ≤ {most}" for model, most in sorted(bounds.items()))
    return [
        FieldError(
            "resources.accelerator.count",
            "over_quota",
            show_count(need / MILLI),
            allowed,
            params={"tenant": terms.name},
        )
    ]


@dataclass(frozen=True)
class Admitted:
    """A submission checked against the fleet and the tenant: the PENDING job to store and
    its first event (not stored yet: the submission writer or ``submit_job`` stores them)."""

    job: Job
    events: list[JobEvent]


def admit_body(p: Platform, caller: Principal, raw: bytes) -> Admitted:
    """The one submission path of the API: the body of ``POST /api/v1/jobs`` (its JSON and
    spec parsed with bounds, see suanli.schemas.specfile) admitted for ``caller``."""
    parsed = parse_submission(raw)
    try:
        return admit(p, parsed.spec, parsed.cluster, submitting_tenant(caller, parsed.tenant))
    except InvalidInput as exc:
        exc.source = parsed.source
        raise


def admit(
    p: Platform, spec: JobSpec, cluster: str | None = None, tenant: str = DEMO_TENANT
) -> Admitted:
    """Validate ``spec`` against the fleet and the tenant's terms: the job to store."""
    job = new_job(p, spec, cluster, tenant)
    return Admitted(job, first_events(job))


def submit_job(
    p: Platform, spec: JobSpec, cluster: str | None = None, tenant: str = DEMO_TENANT
) -> Job:
    """``admit`` and store at once, without the API's writer (in-process callers, tests)."""
    admitted = admit(p, spec, cluster, tenant)
    p.jobs.add(admitted.job, admitted.events)
    return admitted.job


def new_job(
    p: Platform, spec: JobSpec, cluster: str | None = None, tenant: str = DEMO_TENANT
) -> Job:
    """Validate ``spec`` against the fleet: the PENDING job to store (not stored yet)."""
    errors = check_spec(spec, p.fleet, cluster)
    if p.billing is not None and p.billing.tenants.get(tenant) is None:
        known = ", ".join(t.name for t in p.billing.tenants.all())
        errors.append(FieldError("tenant", "unknown_tenant", tenant, known))
    if not errors and tenant in p.tenant_terms:
        errors += check_quota(spec, p.fleet, p.tenant_terms[tenant], p.tenant_terms, cluster)
    if errors:
        raise InvalidInput("invalid_spec", errors=errors)
    now = p.clock.now()
    return Job(
        id=p.job_ids(),
        spec=spec,
        status=S.PENDING,
        submitted_at=now,
        updated_at=now,
        pinned_cluster=cluster,
        tenant=tenant,
    )


def first_events(job: Job) -> list[JobEvent]:
    """A submitted job's history: its submission (no need to read it back)."""
    return [JobEvent(job.id, job.submitted_at, None, S.PENDING, Reason("reason_submitted"))]


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
    caller: Principal | None = None,
    tenant: str | None = None,
    provider: str | None = None,
    cluster: str | None = None,
) -> JobPage:
    """The jobs ``caller`` may see (all of them when no caller is given: the platform itself),
    narrowed by the asked filters (tenant, placed on a provider's clusters or on a cluster)."""
    own_tenant, own_clusters = _view(p, caller)
    if own_tenant is not None and tenant not in (None, own_tenant):
        return JobPage([], 0)
    tenant = tenant or own_tenant
    clusters = own_clusters
    if provider is not None or cluster is not None:
        asked = [
            c.name
            for c in p.fleet.clusters()
            if (provider is None or c.provider == provider) and (cluster in (None, c.name))
        ]
        clusters = asked if clusters is None else [c for c in asked if c in clusters]
    return JobPage(
        p.jobs.list(statuses, limit, offset, tenant, clusters),
        p.jobs.count(statuses, tenant, clusters),
    )


def _view(p: Platform, caller: Principal | None) -> tuple[str | None, list[str] | None]:
    """(tenant, clusters) filters of what ``caller`` sees: a tenant its jobs, a provider the
    jobs on its clusters, the operator everything."""
    if caller is None or caller.is_operator:
        return None, None
    if caller.tenant is not None:
        return caller.tenant, None
    provider = p.fleet.provider(caller.provider or "")
    return None, [c.name for c in provider.clusters] if provider else []


def visible_job(p: Platform, caller: Principal, job_id: str) -> Job:
    """The job, if ``caller`` may see it; NotFound otherwise (never saying it exists)."""
    job = get_job(p, job_id)
    if caller.is_operator or (caller.tenant is not None and job.tenant == caller.tenant):
        return job
    if caller.provider is not None and job.placement is not None:
        cluster = p.fleet.cluster(job.placement.cluster)
        if cluster is not None and cluster.provider == caller.provider:
            return job
    raise NotFound("job_not_found", job_id=job_id)


def owned_job(p: Platform, caller: Principal, job_id: str, action: str) -> Job:
    """The job, if ``caller`` may act on it or read its logs: its tenant or the operator."""
    job = visible_job(p, caller, job_id)
    if not (caller.is_operator or job.tenant == caller.tenant):
        raise Forbidden(
            "access.forbidden", user=caller.user, role=caller.role.value, action=action
        )
    return job


def submitting_tenant(caller: Principal, asked: str | None) -> str:
    """Whom a submission is billed to: the caller's tenant; the operator names any."""
    if caller.is_operator:
        return asked or DEMO_TENANT
    if caller.tenant is None:
        raise Forbidden(
            "access.forbidden", user=caller.user, role=caller.role.value, action="submit jobs"
        )
    if asked is not None and asked != caller.tenant:
        raise Forbidden(
            "access.forbidden",
            user=caller.user,
            role=caller.role.value,
            action=f"submit jobs for {asked}",
        )
    return caller.tenant


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
            elif after.spec.resumes:  # cancelled between attempts: nothing resumes
                drop_checkpoints(p.engines.values(), after.id)
            return dataclasses.replace(after, version=job.version + 1)
    raise Conflict("already_finished", job_id=job_id, status="busy")


def request_engine_cancel(p: Platform, job: Job, grace_s: float | None = None) -> None:
    """Tell the engine to stop the run (idempotent); failures are retried by the reconciler.

    ``grace_s``: how long the run may take to stop after its SIGTERM (None: the engine's
    default, as for a user's cancel; a preemption gives the queue's grace period).
    """
    if job.placement is None or job.engine_key is None:
        return
    engine = p.engine(job.placement.cluster)
    if engine is not None:
        engine.cancel(job.engine_key, grace_s)


def read_logs(p: Platform, job_id: str, offset: int = 0, limit: int = 1 << 20) -> LogChunk:
    job = get_job(p, job_id)
    if job.placement is None or job.engine_key is None:
        return LogChunk(b"", offset)
    engine = p.engine(job.placement.cluster)
    if engine is None:
        return LogChunk(b"", offset)
    return engine.read_log(job.engine_key, offset, limit)

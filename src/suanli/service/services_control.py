"""The control plane's step of the scheduling cycle: move every service's replicas toward
what is wanted.

For each service, in order: follow each replica's job (placed, running, ended) and ask its
engine where it answers; probe the starting and the ready ones (services_probe); let the
autoscaler set the desired count from the gateways' load (services_autoscale); plan starts
and stops (scheduler.autoscaling.rollout, pure); start new replicas as jobs the same
scheduler places (service priority class), take the ones to stop out of the routes, and
stop them once drained. A replica whose job failed, was lost with its cluster, or never
became ready (or, once ready, stopped answering) is replaced: its successor is placed
wherever capacity is, another cluster if its own is down.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import math

from suanli.domain.errors import Conflict, EngineFailure, InvalidInput, SuanliError
from suanli.domain.ids import JobId
from suanli.domain.jobs import Job, JobStatus
from suanli.domain.service_spec import ServiceSpec
from suanli.domain.services import Replica, ReplicaStatus, Service
from suanli.engines.base import REPLICA_ENV, address_source
from suanli.scheduler.autoscaling.rollout import ReplicaView, plan_replicas, restart_delay
from suanli.service.deps import Platform
from suanli.service.jobs import cancel_job, first_events
from suanli.service.services import replica_job
from suanli.service.services_autoscale import autoscaled
from suanli.service.services_probe import ProbeTarget

log = logging.getLogger("suanli.services")
# While a request waits for a service's first replica (scale from zero: the gateway holds
# it), starting replicas are probed at least this often, whatever readiness.period_s says,
# so the answer follows the replica's own start within a fraction of a second.
HURRY_PERIOD_S = 0.25
HELD_FOR = dt.timedelta(seconds=60)
# A ready replica is probed too, every readiness.period_s: this many failed probes in a row
# (Kubernetes' liveness failureThreshold default) and it leaves the routes and is replaced.
# Its job may still look alive (its cluster silent for up to the cluster grace, 60 s by
# default), but requests sent to it would fail all that time.
MISSES_TO_FAIL = 3
KEEP_ENDED = 50  # stopped and failed replicas kept per service (status, console)
S = JobStatus
R = ReplicaStatus


def run_services_step(p: Platform) -> int:
    """One pass over every service; returns how many replicas were started or stopped."""
    changed = 0
    services = p.services.services()
    if not services:
        return 0
    # Two reads for all services: their replicas, and the jobs not ended (a replica's job
    # that just ended is read alone, once).
    rows: dict[str, list[Replica]] = {}
    for replica in p.services.replicas():
        rows.setdefault(replica.service_id, []).append(replica)
    active = {j.id: j for j in p.jobs.active()}
    for service in services:
        try:
            changed += _step(p, service, rows.get(service.id, []), active)
        except SuanliError:
            log.exception("service %s/%s: step failed", service.owner, service.name)
    return changed


def _step(p: Platform, service: Service, rows: list[Replica], active: dict[JobId, Job]) -> int:
    now = p.clock.now()
    specs = _specs(p, service)
    spec = specs[service.revision]
    ended = [r for r in rows if r.status.is_final]
    followed = [_follow(p, r, active, now) for r in rows if not r.status.is_final]
    held = service.wanted_at is not None and now - service.wanted_at < HELD_FOR
    replicas = _probe(p, followed, specs, now, HURRY_PERIOD_S if held else None)
    if not service.deleting:
        service = _autoscale(p, service, spec, now)
    live = [r for r in replicas if r.status.is_live]
    plan = plan_replicas(
        [ReplicaView(r.id, r.revision, r.ready, r.created_at.timestamp()) for r in live],
        service.revision,
        0 if service.deleting else service.desired,
        spec.rollout.surge,
        spec.rollout.max_unavailable,
    )
    changed = 0
    current: list[Replica] = []
    for seen, job in replicas_and_jobs(replicas, followed):
        replica = seen
        if seen.id in plan.stop:
            replica = dataclasses.replace(seen, status=R.DRAINING, drain_at=now, updated_at=now)
            p.services.put_replica(replica)
            changed += 1
        if replica.status is R.DRAINING:
            _drain(p, replica, job, specs[replica.revision], now)
        current.append(replica)
    floors = sum(r.floor for r in live if r.revision == service.revision)
    rows = ended + current
    for _ in range(plan.start if not _backing_off(rows, service, now) else 0):
        _start(p, service, spec, floors < spec.replicas.min, now)
        floors += 1
        changed += 1
    if service.deleting and not any(not r.status.is_final for r in current) and not plan.start:
        p.services.remove(service.id)
    elif sum(r.status.is_final for r in rows) > KEEP_ENDED:
        p.services.forget_ended(service.id, KEEP_ENDED)
    return changed


# Each service's revisions as last read, with the newest number then: a revision never
# changes, so they are read again only when a new one was added (or by another process).
_SPECS: dict[str, tuple[int, dict[int, ServiceSpec]]] = {}


def _specs(p: Platform, service: Service) -> dict[int, ServiceSpec]:
    known = _SPECS.get(service.id)
    if known is not None and known[0] == service.latest:
        return known[1]
    specs = {r.number: r.spec for r in p.services.revisions(service.id)}
    if len(_SPECS) > 10_000:
        _SPECS.clear()
    _SPECS[service.id] = (service.latest, specs)
    return specs


def replicas_and_jobs(
    replicas: list[Replica], followed: list[tuple[Replica, Job | None]]
) -> list[tuple[Replica, Job | None]]:
    jobs = {r.id: job for r, job in followed}
    return [(r, jobs.get(r.id)) for r in replicas]


def _backing_off(rows: list[Replica], service: Service, now: dt.datetime) -> bool:
    """Whether the revision in force failed too recently to start another replica now:
    failures since its last replica that became ready, each doubling the wait."""
    mine = [r for r in rows if r.revision == service.revision]
    failed: list[Replica] = []
    for r in sorted(mine, key=lambda r: r.created_at, reverse=True):
        if r.ready_at is not None or r.status.is_live:
            break
        if r.status is R.FAILED:
            failed.append(r)
    if not failed:
        return False
    wait = dt.timedelta(seconds=restart_delay(len(failed)))
    return now - max(r.updated_at for r in failed) < wait


def _start(
    p: Platform, service: Service, spec: ServiceSpec, floor: bool, now: dt.datetime
) -> None:
    try:
        job = replica_job(p, service, spec, floor)
    except InvalidInput as exc:  # the fleet changed under the spec: say so, start nothing
        log.warning("service %s/%s: %s", service.owner, service.name, exc.message("en"))
        return
    replica = Replica(
        job.spec.env[REPLICA_ENV],
        service.id,
        service.revision,
        R.STARTING,
        job.id,
        now,
        now,
        floor=floor,
    )
    # The replica first, then its job: a crash between leaves a replica whose job does not
    # exist, which _follow marks failed (and the plan replaces), never a job nobody follows.
    p.services.put_replica(replica)
    p.jobs.add(job, first_events(job))


def _follow(
    p: Platform, replica: Replica, active: dict[JobId, Job], now: dt.datetime
) -> tuple[Replica, Job | None]:
    """The replica as its job says it is now (stored when it changed), and that job."""
    job = active.get(JobId(replica.job_id)) or p.jobs.get(JobId(replica.job_id))
    after = _as_job_says(p, replica, job)
    if after != replica:
        after = dataclasses.replace(after, updated_at=now)
        p.services.put_replica(after)
    return after, job


def _as_job_says(p: Platform, replica: Replica, job: Job | None) -> Replica:
    if job is None:
        return dataclasses.replace(replica, status=R.FAILED, detail="its job is gone")
    cluster = job.placement.cluster if job.placement is not None else replica.cluster
    replica = dataclasses.replace(replica, cluster=cluster, attempt=job.attempt)
    if job.status.is_terminal:
        # Drained on purpose: stopped; drained for never becoming ready, or ended by
        # itself: failed.
        stopped = replica.status is R.DRAINING and not replica.detail
        ended = R.STOPPED if stopped else R.FAILED
        detail = replica.detail or _why(job)
        return dataclasses.replace(replica, status=ended, detail=detail, url="")
    if job.status is not S.RUNNING:
        return replica
    if not replica.url and job.engine_key is not None:
        engine = address_source(p.engine(cluster))
        if engine is not None:
            with contextlib.suppress(EngineFailure):  # asked again next cycle
                replica = dataclasses.replace(replica, url=engine.address(job.engine_key) or "")
    return replica


def _why(job: Job) -> str:
    if job.exit_code is not None:
        return f"{job.status.value}: exit {job.exit_code}"
    return job.status.value


def _probe(
    p: Platform,
    followed: list[tuple[Replica, Job | None]],
    specs: dict[int, ServiceSpec],
    now: dt.datetime,
    hurry_s: float | None = None,
) -> list[Replica]:
    """Starting replicas with an address are probed; ready ones join the routes; one not
    ready within ``readiness.timeout_s`` of its start fails (and is replaced). Ready ones
    are probed as well: one that fails ``MISSES_TO_FAIL`` probes in a row fails (and is
    replaced) at once, whatever its job's state says. ``hurry_s``: a shorter period for
    starting replicas while requests wait for one (scale from zero)."""
    replicas = [r for r, _ in followed]
    jobs = {r.id: job for r, job in followed}
    probed = [r for r in replicas if r.status in (R.STARTING, R.READY) and r.url]
    targets = [
        ProbeTarget(
            r.id,
            r.url,
            specs[r.revision].readiness.path,
            min(
                specs[r.revision].readiness.period_s,
                (hurry_s or math.inf) if r.status is R.STARTING else math.inf,
            ),
        )
        for r in probed
    ]
    answers = p.readiness.check(targets, p.clock.monotonic()) if targets else {}
    out: list[Replica] = []
    for seen in replicas:
        replica = seen
        answered = answers.get(seen.id)
        if seen.status is R.READY:
            if _silent(seen.id, answered):
                replica = dataclasses.replace(
                    seen,
                    status=R.DRAINING,
                    drain_at=now - dt.timedelta(days=1),  # nothing reaches it: stop at once
                    detail=f"stopped answering {specs[seen.revision].readiness.path}",
                    updated_at=now,
                )
                p.services.put_replica(replica)
                log.warning("replica %s at %s: %s", seen.id, seen.url, replica.detail)
        elif answered:
            replica = dataclasses.replace(seen, status=R.READY, ready_at=now, updated_at=now)
            p.services.put_replica(replica)
        elif seen.status is R.STARTING and _too_late(jobs.get(seen.id), seen, specs, now):
            replica = dataclasses.replace(
                seen,
                status=R.DRAINING,
                drain_at=now - dt.timedelta(days=1),  # stopped at once: it served nothing
                detail="not ready within readiness.timeout_s",
                updated_at=now,
            )
            p.services.put_replica(replica)
        out.append(replica)
    return out


# Failed probes in a row of each ready replica (this process's count: a new leader starts
# again from zero, which only delays a replacement by a few probes).
_MISSES: dict[str, int] = {}


def _silent(replica_id: str, answered: bool | None) -> bool:
    """Whether a ready replica has now failed ``MISSES_TO_FAIL`` probes in a row
    (``answered`` None: not probed this time)."""
    if answered is None:
        return False
    if answered:
        _MISSES.pop(replica_id, None)
        return False
    if len(_MISSES) > 100_000:
        _MISSES.clear()
    _MISSES[replica_id] = _MISSES.get(replica_id, 0) + 1
    if _MISSES[replica_id] < MISSES_TO_FAIL:
        return False
    del _MISSES[replica_id]
    return True


def _too_late(
    job: Job | None, replica: Replica, specs: dict[int, ServiceSpec], now: dt.datetime
) -> bool:
    if job is None or job.started_at is None:
        return False  # waiting for capacity is not the replica's fault
    limit = dt.timedelta(seconds=specs[replica.revision].readiness.timeout_s)
    return now - job.started_at > limit


def _drain(
    p: Platform, replica: Replica, job: Job | None, spec: ServiceSpec, now: dt.datetime
) -> None:
    """Stop a draining replica's job once the drain time has passed (its requests done)."""
    if replica.drain_at is None or now - replica.drain_at < dt.timedelta(
        seconds=spec.rollout.drain_s
    ):
        return
    if job is None or job.status.is_terminal or job.cancel_requested:
        return
    # Ended meanwhile, or the engine does not answer: asked again next cycle.
    with contextlib.suppress(Conflict, EngineFailure):
        cancel_job(p, job.id)


def _autoscale(p: Platform, service: Service, spec: ServiceSpec, now: dt.datetime) -> Service:
    wanted = autoscaled(p, service, spec, now)
    if wanted == service.desired:
        return service
    after = dataclasses.replace(service, desired=wanted, updated_at=now)
    if p.services.save(service, after):
        log.info(
            "service %s/%s: %d -> %d replicas",
            service.owner,
            service.name,
            service.desired,
            wanted,
        )
        return dataclasses.replace(after, version=service.version + 1)
    return p.services.get(service.id) or service

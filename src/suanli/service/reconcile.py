"""Follow runs on their engines and move jobs along the lifecycle to match."""

from __future__ import annotations

import dataclasses
import datetime as dt

from suanli.domain.jobs import Job, JobEvent, JobStatus, Reason
from suanli.domain.lifecycle import note, transition
from suanli.engines.base import RunState, RunStatus
from suanli.service.billing import meter_attempt
from suanli.service.deps import Platform
from suanli.service.dispatch import launch
from suanli.service.jobs import request_engine_cancel
from suanli.store.base import Outcome

S = JobStatus


def check_engines(p: Platform) -> None:
    """Mark clusters whose engine does not answer as unavailable (excluded from placement)."""
    for name, engine in p.engines.items():
        if engine.ping():
            p.unavailable.discard(name)
        else:
            p.unavailable.add(name)


def adopt_runs(p: Platform) -> int:
    """After a restart: note in each live job's history that its run was re-adopted."""
    adopted = 0
    for job in p.jobs.list([S.STARTING, S.RUNNING], limit=100_000):
        if job.placement is None or job.engine_key is None:
            continue
        engine = p.engine(job.placement.cluster)
        if engine is None:
            continue
        if engine.status(job.engine_key).state in (RunState.PENDING, RunState.RUNNING):
            reason = Reason("reason_adopted", {"key": job.engine_key, "engine": engine.name})
            p.jobs.add_events([note(job, p.clock.now(), reason)])
            adopted += 1
    return adopted


def reconcile(p: Platform) -> int:
    """Poll every dispatched run once; returns how many jobs changed."""
    changed = 0
    for job in p.jobs.list([S.STARTING, S.RUNNING], limit=100_000):
        if job.placement is None or job.engine_key is None:
            continue
        engine = p.engine(job.placement.cluster)
        if engine is None:
            continue
        if job.cancel_requested:
            request_engine_cancel(p, job)
        status = engine.status(job.engine_key)
        if status.state is RunState.PENDING and job.status is S.STARTING:
            launch(p, engine, job)  # idempotent: starts it only if the engine never did
            continue
        if _apply(p, job, status):
            changed += 1
    return changed


def _apply(p: Platform, job: Job, status: RunStatus) -> bool:
    now = p.clock.now()
    events: list[JobEvent] = []
    current = job
    if status.state is RunState.PENDING:
        return False
    if current.status is S.STARTING and status.state is not RunState.LOST:
        current, ev = transition(
            current, S.RUNNING, status.started_at or now, Reason("reason_running")
        )
        events.append(ev)
    ran = current  # the attempt as it ran (a retry below clears its start and placement)
    final = _final(current, status, now)
    if final is not None:
        current, more = final
        events.extend(more)
        # Meter before the transition that ends the attempt is stored (idempotent by key).
        meter_attempt(p, ran, more[0].at)
    if not events:
        return False
    return p.jobs.save(job, current, events) is Outcome.APPLIED


def _final(job: Job, status: RunStatus, now: dt.datetime) -> tuple[Job, list[JobEvent]] | None:
    state = status.state
    at = status.finished_at or now
    if state is RunState.RUNNING:
        return None
    if state is RunState.SUCCEEDED:
        after, ev = transition(job, S.SUCCEEDED, at, Reason("reason_exit_ok"), exit_code=0)
        return after, [ev]
    if state is RunState.CANCELLED or job.cancel_requested:
        after, ev = transition(
            job, S.CANCELLED, at, Reason("reason_cancelled"), exit_code=status.exit_code
        )
        return after, [ev]
    if state is RunState.FAILED:
        reason = status.reason or Reason("reason_exit_failed", {"code": status.exit_code})
        if "failed" in job.spec.retry.when and status.reason is None:
            return _retry_or_fail(job, reason, at, status.exit_code)
        after, ev = transition(job, S.FAILED, at, reason, exit_code=status.exit_code)
        return after, [ev]
    lost = status.reason or Reason("reason_lost", {"detail": "unknown"})
    if "lost" in job.spec.retry.when:
        return _retry_or_fail(job, lost, at, None)
    after, ev = transition(job, S.FAILED, at, lost)
    return after, [ev]


def _retry_or_fail(
    job: Job, why: Reason, at: dt.datetime, exit_code: int | None
) -> tuple[Job, list[JobEvent]]:
    """RECOVERING -> QUEUED while attempts are left (placement cleared), else FAILED."""
    max_attempts = job.spec.retry.max_attempts
    recovering, ev1 = transition(job, S.RECOVERING, at, why, exit_code=exit_code)
    if job.attempt < max_attempts:
        queued, ev2 = transition(
            recovering,
            S.QUEUED,
            at,
            Reason("reason_retry", {"attempt": job.attempt + 1, "max_attempts": max_attempts}),
            placement=None,
            engine_key=None,
        )
        return dataclasses.replace(queued, started_at=None), [ev1, ev2]
    failed, ev2 = transition(
        recovering,
        S.FAILED,
        at,
        Reason("reason_retries_exhausted", {"max_attempts": max_attempts}),
    )
    return failed, [ev1, ev2]

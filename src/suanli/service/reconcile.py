"""Follow runs on their engines and move jobs along the lifecycle to match.

Cluster health: a cluster whose engine does not answer is unavailable (its pools leave
placement); its runs are left alone for ``Platform.cluster_grace``, then given up (their jobs
go RECOVERING -> QUEUED and are placed elsewhere). When it answers again, what still runs
there is reconciled: the current run of a job not yet placed again is re-adopted; a run whose
job moved on (placed again, or finished) is cancelled, so a job never runs twice.
"""

from __future__ import annotations

import datetime as dt

from suanli.billing.metering import usage_key
from suanli.domain.checkpoints import kept_on_start
from suanli.domain.errors import EngineFailure
from suanli.domain.ids import parse_engine_key
from suanli.domain.jobs import Job, JobEvent, JobStatus, Reason, job_with
from suanli.domain.lifecycle import note, transition
from suanli.engines.base import RunState, RunStatus, inventory_source
from suanli.engines.checkpoints import drop_checkpoints
from suanli.scheduler.fairqueue import current_service, show_count, speeds
from suanli.service.billing import meter_attempt
from suanli.service.deps import Platform
from suanli.service.dispatch import launch
from suanli.service.jobs import request_engine_cancel
from suanli.store.base import Outcome

S = JobStatus


def check_engines(p: Platform) -> None:
    """Mark clusters whose engine does not answer as unavailable (excluded from placement).

    A cluster that answers again is reconciled first (sweep_cluster), then available again.
    """
    now = p.clock.now()
    down = p.down_since
    for name, engine in p.engines.items():
        if engine.ping():
            if name in down:
                try:
                    sweep_cluster(p, name)
                except EngineFailure:
                    continue  # it answered a ping but not the sweep: still unavailable
                p.health.mark_up(name)
        elif name not in down:
            p.health.mark_down(name, now)


def sweep_cluster(p: Platform, cluster: str) -> tuple[int, int]:
    """Reconcile ``cluster`` after it answers again; returns (re-adopted, cancelled).

    1. Jobs given up on here and not placed again get their run back if the engine still
       has it (running, or even finished meanwhile: the reconciler then records its end).
    2. Runs the engine still has live whose job moved on (placed again, or ended) are
       cancelled. Runs of jobs this control plane does not know are left alone.
    Raises EngineFailure when the engine stops answering meanwhile.
    """
    engine = p.engine(cluster)
    if engine is None:
        return 0, 0
    adopted = cancelled = 0
    now = p.clock.now()
    # 1. Re-adopt.
    for job in p.jobs.list([S.QUEUED], limit=100_000):
        if job.placement is None or job.placement.cluster != cluster or job.engine_key is None:
            continue
        if job.cancel_requested:
            continue
        status = engine.status(job.engine_key)
        if status.state in (RunState.LOST, RunState.CANCELLED):
            continue  # gone: the job waits for its next placement
        reason = Reason(
            "reason_cluster_back_readopted", {"cluster": cluster, "key": job.engine_key}
        )
        # The reading taken when the run was given up (held unsettled since) makes way for
        # one up to the run's real end, taken when it ends; it also knows when it started.
        given_up = (
            p.billing.store.forget_usage(usage_key(job.id, job.attempt)) if p.billing else None
        )
        started = status.started_at or (given_up.usage.started_at if given_up else now)
        after, event = transition(job, S.RUNNING, now, reason)
        after = job_with(after, started_at=started)
        if p.jobs.save(job, after, [event]) is Outcome.APPLIED:
            adopted += 1
        elif given_up is not None and p.billing is not None:
            p.billing.store.add_usage(given_up, now)  # not re-adopted after all
    # 2. Cancel what runs there for nobody.
    source = inventory_source(engine)
    if source is None:
        return adopted, cancelled
    for key in source.live_runs():
        parsed = parse_engine_key(key)
        owner = p.jobs.get(parsed[0]) if parsed else None
        if owner is None:
            continue
        here = owner.placement.cluster if owner.placement is not None else None
        if owner.engine_key == key and here == cluster and owner.status in (S.STARTING, S.RUNNING):
            continue  # the job's current run: the reconciler follows it
        engine.cancel(key)
        reason = Reason("reason_stray_run_cancelled", {"cluster": cluster, "key": key})
        p.jobs.add_events([note(owner, now, reason)])
        cancelled += 1
    return adopted, cancelled


def give_up_unanswered(p: Platform) -> int:
    """Recover the runs on clusters silent for longer than the grace; returns how many."""
    now = p.clock.now()
    down = p.down_since
    expired = {name for name, since in down.items() if now - since >= p.cluster_grace}
    if not expired:
        return 0
    given_up = 0
    for job in p.jobs.list([S.STARTING, S.RUNNING], limit=100_000):
        if job.placement is None or job.placement.cluster not in expired:
            continue
        seconds = int((now - down[job.placement.cluster]).total_seconds())
        why = Reason(
            "reason_cluster_down",
            {"cluster": job.placement.cluster, "seconds": seconds, "key": job.engine_key},
        )
        if job.cancel_requested or "lost" not in job.spec.retry.when:
            final = S.CANCELLED if job.cancel_requested else S.FAILED
            after, event = transition(job, final, now, why)
            events = [event]
        else:
            # Placement and key stay on the queued job: if the run turns out alive when the
            # cluster answers again before the job is placed elsewhere, it is re-adopted.
            after, events = _retry_or_fail(job, why, now, None, keep_placement=True)
        if job.started_at is not None:
            # Billed up to the moment it was given up; should the run be re-adopted, this
            # reading is held unsettled and replaced (billing.may_resume, sweep_cluster).
            meter_attempt(p, job, now)
        if p.jobs.save(job, after, events) is Outcome.APPLIED:
            given_up += 1
    return given_up


def adopt_runs(p: Platform) -> int:
    """After a restart: note in each live job's history that its run was re-adopted.

    Clusters that answer are swept first: runs given up before the restart are cancelled.
    """
    for name, cluster_engine in p.engines.items():
        try:
            if not cluster_engine.ping():
                raise EngineFailure(engine=cluster_engine.name, detail="no answer")
            sweep_cluster(p, name)
        except EngineFailure:
            p.health.mark_down(name, p.clock.now())
    adopted = 0
    down = p.unavailable
    for job in p.jobs.list([S.STARTING, S.RUNNING], limit=100_000):
        if job.placement is None or job.engine_key is None:
            continue
        engine = p.engine(job.placement.cluster)
        if engine is None or job.placement.cluster in down:
            continue
        try:
            state = engine.status(job.engine_key).state
        except EngineFailure:
            continue
        if state in (RunState.PENDING, RunState.RUNNING):
            reason = Reason("reason_adopted", {"key": job.engine_key, "engine": engine.name})
            p.jobs.add_events([note(job, p.clock.now(), reason)])
            adopted += 1
    return adopted


def reconcile(p: Platform) -> int:
    """Poll every dispatched run once; returns how many jobs changed.

    Runs on unavailable clusters are not polled; past the grace they are given up.
    """
    changed = give_up_unanswered(p)
    down = p.unavailable
    steady = p.cycle_state.runs.steady(p.engines)

    def quiet(job: Job) -> bool:
        """Skipped: not dispatched, no engine, or steady on a cluster that answers."""
        if job.placement is None or job.engine_key is None:
            return True
        if p.engine(job.placement.cluster) is None:
            return True
        return (
            job.placement.cluster not in down
            and job.status is S.RUNNING
            and not job.cancel_requested
            and job.preempt_at is None
            and job.placement.cluster in steady
            and steady[job.placement.cluster](job.engine_key)
        )

    # Only the jobs whose record or run may have changed, where the store and engines
    # tell which (service.followed_runs); the rule below decides as for every job.
    walk = p.cycle_state.runs.to_walk(p.jobs, p.engines)
    for job in walk:
        if job.placement is None or job.engine_key is None:
            continue
        engine = p.engine(job.placement.cluster)
        if engine is None or job.placement.cluster in down:
            continue
        if (
            job.status is S.RUNNING
            and not job.cancel_requested
            and job.preempt_at is None
            and job.placement.cluster in steady
            and steady[job.placement.cluster](job.engine_key)
        ):
            continue  # its engine says nothing changed: a poll would find it running
        try:
            if job.cancel_requested:
                request_engine_cancel(p, job)
            elif _grace_over(p, job):
                request_engine_cancel(p, job, grace_s=0.0)  # the grace is spent: kill now
            status = engine.status(job.engine_key)
        except EngineFailure:
            continue  # e.g. it stopped answering since the last ping; tried again next tick
        if status.state is RunState.PENDING and job.status is S.STARTING:
            if job.preempt_at is None:
                launch(p, engine, job)  # idempotent: starts it only if the engine never did
            continue
        if _apply(p, job, status):
            changed += 1
    p.cycle_state.runs.walked(p.jobs, walk, quiet)
    return changed


def _apply(p: Platform, job: Job, status: RunStatus) -> bool:
    now = p.clock.now()
    events: list[JobEvent] = []
    current = job
    if status.state is RunState.PENDING:
        return False
    if current.status is S.STARTING and status.state is not RunState.LOST:
        current, ev = transition(
            current,
            S.RUNNING,
            status.started_at or now,
            Reason("reason_running"),
            image_digest=status.image_digest,
            checkpoint_cluster=kept_on_start(current),  # where its next attempt resumes
        )
        events.append(ev)
        if status.image_digest and current.spec.image:  # what ran, exactly, per attempt
            why = {"attempt": current.attempt, "image": current.spec.image}
            why["digest"] = status.image_digest
            events.append(note(current, ev.at, Reason("reason_image_resolved", why)))
    ran = current  # the attempt as it ran (a retry below clears its start and placement)
    final = _preempted(p, current, status, now) or _final(current, status, now)
    if final is not None:
        current, more = final
        events.extend(more)
        # Meter before the transition that ends the attempt is stored (idempotent by key).
        meter_attempt(p, ran, more[0].at)
    if not events:
        return False
    if p.jobs.save(job, current, events) is not Outcome.APPLIED:
        return False
    if current.status.is_terminal and current.spec.resumes:  # no attempt will resume
        drop_checkpoints(p.engines.values(), current.id)
    return True


def _grace_over(p: Platform, job: Job) -> bool:
    """A preempted attempt still running after the grace: its engine is asked again."""
    if job.preempt_at is None:
        return False
    grace = dt.timedelta(seconds=p.queue_settings.grace_s)
    return p.clock.now() - job.preempt_at >= grace


def _preempted(
    p: Platform, job: Job, status: RunStatus, now: dt.datetime
) -> tuple[Job, list[JobEvent]] | None:
    """A preempted attempt that stopped: back to the queue, its service carried over.

    An attempt that succeeded meanwhile simply succeeded; a cancel by the user wins.
    """
    if job.preempt_at is None or job.cancel_requested:
        return None
    if status.state in (RunState.RUNNING, RunState.PENDING, RunState.SUCCEEDED):
        return None
    at = status.finished_at or now
    served = job.attained + current_service(job, at, speeds(p.fleet))
    reason = Reason("reason_preempted", {"attempt": job.attempt, "attained": _service(served)})
    queued, event = transition(
        job,
        S.QUEUED,
        at,
        reason,
        placement=None,
        engine_key=None,
        exit_code=status.exit_code,
        preempt_at=None,
        borrowed=False,
        attained=served,
        queued_at=at,
        decision=None,
        preemptions=job.preemptions + 1,
    )
    return job_with(queued, started_at=None), [event]


def _service(seconds: float) -> str:
    """Normalised accelerator-seconds as accelerator-hours of the reference card."""
    return f"{show_count(round(seconds / 3600, 3))} A100·h"


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
    job: Job,
    why: Reason,
    at: dt.datetime,
    exit_code: int | None,
    keep_placement: bool = False,
) -> tuple[Job, list[JobEvent]]:
    """RECOVERING -> QUEUED while attempts are left (placement cleared), else FAILED.

    Attempts that a preemption ended are not counted against the retries.
    """
    max_attempts = job.spec.retry.max_attempts
    recovering, ev1 = transition(job, S.RECOVERING, at, why, exit_code=exit_code)
    tried = job.attempt - job.preemptions
    if tried < max_attempts:
        queued, ev2 = transition(
            recovering,
            S.QUEUED,
            at,
            Reason("reason_retry", {"attempt": tried + 1, "max_attempts": max_attempts}),
            placement=job.placement if keep_placement else None,
            engine_key=job.engine_key if keep_placement else None,
            preempt_at=None,
            borrowed=False,
            queued_at=at,
        )
        return job_with(queued, started_at=None), [ev1, ev2]
    failed, ev2 = transition(
        recovering,
        S.FAILED,
        at,
        Reason("reason_retries_exhausted", {"max_attempts": max_attempts}),
    )
    return failed, [ev1, ev2]

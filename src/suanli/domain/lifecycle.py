"""The job lifecycle as data: one transition table, one function that applies it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from suanli.domain.errors import IllegalTransition
from suanli.domain.jobs import Job, JobEvent, JobStatus, Reason, job_with

S = JobStatus

ALLOWED: dict[JobStatus, frozenset[JobStatus]] = {
    S.PENDING: frozenset({S.QUEUED, S.FAILED, S.CANCELLED}),
    # QUEUED -> RUNNING: a run given up on when its cluster stopped answering is found still
    # running when the cluster comes back, before the job was placed again: re-adopted.
    S.QUEUED: frozenset({S.PLACED, S.FAILED, S.CANCELLED, S.RUNNING}),
    # PLACED -> QUEUED: the placement was withdrawn before anything reached an engine.
    S.PLACED: frozenset({S.STARTING, S.QUEUED, S.FAILED, S.CANCELLED}),
    # STARTING/RUNNING -> QUEUED: preempted (fair queues); the engine stopped the attempt and
    # the job waits for its next one, its history and attained service kept.
    S.STARTING: frozenset({S.RUNNING, S.FAILED, S.CANCELLED, S.RECOVERING, S.QUEUED}),
    S.RUNNING: frozenset({S.SUCCEEDED, S.FAILED, S.CANCELLED, S.RECOVERING, S.QUEUED}),
    S.RECOVERING: frozenset({S.QUEUED, S.FAILED, S.CANCELLED}),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}


def can_transition(src: JobStatus, dst: JobStatus) -> bool:
    return dst in ALLOWED[src]


def transition(
    job: Job, to: JobStatus, at: dt.datetime, reason: Reason, **changes: Any
) -> tuple[Job, JobEvent]:
    """Move ``job`` to ``to`` at ``at``, or raise IllegalTransition; return the event too.

    ``changes`` sets other fields in the same step (placement, exit code, ...), so a status
    and the facts that go with it are never persisted apart.
    """
    if not can_transition(job.status, to):
        raise IllegalTransition(job_id=job.id, from_status=job.status, to_status=to)
    stamps: dict[str, Any] = {}
    if to is S.RUNNING and job.started_at is None:
        stamps["started_at"] = at
    if to.is_terminal:
        stamps["finished_at"] = at
    new = job_with(job, status=to, updated_at=at, **stamps, **changes)
    return new, JobEvent(job.id, at, job.status, to, reason, new.attempt)


def note(job: Job, at: dt.datetime, reason: Reason) -> JobEvent:
    """A history entry that changes no status (e.g. a run re-adopted after a restart)."""
    return JobEvent(job.id, at, job.status, job.status, reason, job.attempt)

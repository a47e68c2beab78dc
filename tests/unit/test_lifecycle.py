"""The job lifecycle table: exactly the architecture's transitions, nothing else."""

from __future__ import annotations

import itertools

import pytest

from suanli.domain.errors import IllegalTransition
from suanli.domain.jobs import JobStatus, Reason
from suanli.domain.lifecycle import ALLOWED, can_transition, transition
from tests.builders import T0, make_job

S = JobStatus
# The architecture's lifecycle: the happy path, the terminal exits, and recovery.
WANT_EDGES = {
    (S.PENDING, S.QUEUED),
    (S.PENDING, S.FAILED),
    (S.PENDING, S.CANCELLED),
    (S.QUEUED, S.PLACED),
    (S.QUEUED, S.FAILED),
    (S.QUEUED, S.CANCELLED),
    (S.QUEUED, S.RUNNING),
    (S.PLACED, S.STARTING),
    (S.PLACED, S.QUEUED),
    (S.PLACED, S.FAILED),
    (S.PLACED, S.CANCELLED),
    (S.STARTING, S.RUNNING),
    (S.STARTING, S.FAILED),
    (S.STARTING, S.CANCELLED),
    (S.STARTING, S.RECOVERING),
    (S.STARTING, S.QUEUED),  # preempted (fair queues) before its process started
    (S.RUNNING, S.SUCCEEDED),
    (S.RUNNING, S.FAILED),
    (S.RUNNING, S.CANCELLED),
    (S.RUNNING, S.RECOVERING),
    (S.RUNNING, S.QUEUED),  # preempted: the engine stopped it, it waits for its next attempt
    (S.RECOVERING, S.QUEUED),
    (S.RECOVERING, S.FAILED),
    (S.RECOVERING, S.CANCELLED),
}


def test_table_covers_every_status() -> None:
    assert set(ALLOWED) == set(JobStatus)


def test_table_is_exactly_the_architecture() -> None:
    got = {(a, b) for a, targets in ALLOWED.items() for b in targets}
    assert got == WANT_EDGES


@pytest.mark.parametrize("status", sorted(S.__members__.values()), ids=lambda s: s.value)
def test_terminal_statuses_go_nowhere(status: JobStatus) -> None:
    assert status.is_terminal == (not ALLOWED[status])


@pytest.mark.parametrize(
    ("src", "dst"),
    [(a, b) for a, b in itertools.product(JobStatus, JobStatus) if (a, b) not in WANT_EDGES],
    ids=lambda s: s.value,
)
def test_illegal_transitions_are_refused(src: JobStatus, dst: JobStatus) -> None:
    job = make_job(status=src)
    assert not can_transition(src, dst)
    with pytest.raises(IllegalTransition) as info:
        transition(job, dst, T0, Reason("x"))
    assert info.value.code == "illegal_transition"


def test_transition_stamps_time_and_returns_event() -> None:
    job = make_job(status=S.STARTING)
    later = T0.replace(hour=10)
    running, event = transition(job, S.RUNNING, later, Reason("reason_running"))
    assert running.status is S.RUNNING
    assert running.started_at == later
    assert running.updated_at == later
    assert (event.from_status, event.to_status, event.at) == (S.STARTING, S.RUNNING, later)
    done, _ = transition(running, S.SUCCEEDED, later.replace(hour=11), Reason("reason_exit_ok"))
    assert done.finished_at == later.replace(hour=11)
    assert done.started_at == later


def test_transition_carries_related_changes_in_one_step() -> None:
    job = make_job(status=S.RUNNING)
    after, _ = transition(job, S.FAILED, T0, Reason("reason_exit_failed"), exit_code=3)
    assert after.exit_code == 3
    assert job.exit_code is None  # the input is untouched

"""Where a replay stands after a tick: what a driver shows while it runs (no I/O here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from suanli.domain.jobs import JobStatus

_WAITING = (JobStatus.PENDING, JobStatus.QUEUED)
_RUNNING = (JobStatus.PLACED, JobStatus.STARTING, JobStatus.RUNNING, JobStatus.RECOVERING)


@dataclass(frozen=True)
class ReplayProgress:
    """One tick's counts: simulated seconds since the trace's first submission, trace jobs
    arrived (of ``total``; ``rejected`` of them refused at submission), and the submitted
    jobs waiting (pending or queued), running (placed to running, or recovering) and
    finished (succeeded, failed or cancelled), with the ticks run so far."""

    sim_s: float
    arrived: int
    total: int
    rejected: int
    waiting: int
    running: int
    finished: int
    ticks: int

    @classmethod
    def of(
        cls,
        sim_s: float,
        arrived: int,
        total: int,
        rejected: int,
        ticks: int,
        counts: Mapping[JobStatus, int],
    ) -> ReplayProgress:
        return cls(
            sim_s=sim_s,
            arrived=arrived,
            total=total,
            rejected=rejected,
            waiting=sum(counts.get(s, 0) for s in _WAITING),
            running=sum(counts.get(s, 0) for s in _RUNNING),
            finished=sum(counts.get(s, 0) for s in JobStatus if s.is_terminal),
            ticks=ticks,
        )

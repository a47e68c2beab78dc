"""The unfinished jobs a scheduling cycle reads, by what the cycle does with them.

Each cycle admits the PENDING jobs, queues the QUEUED ones and counts the jobs that hold
capacity (PLACED, STARTING, RUNNING) against the fleet; it read every unfinished job each
tick to sort them into those three (``JobStore.active``, merged across statuses), which
costs in proportion to what runs and waits however little changed. Where the job store
reports the jobs that changed (``store.base.JobChanges``), ``FollowedActive`` keeps the
three lists across ticks and moves only the changed jobs; elsewhere it sorts one
``active()`` read. Either way each list is in the store's order (submission time, then
id, oldest first), as ``active()`` lists them (``tests/service/test_followed_cycle.py``
replays both ways and every job ends the same).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sortedcontainers import SortedKeyList

from suanli.domain.ids import JobId
from suanli.domain.jobs import Job, JobStatus
from suanli.store.base import JobChanges, JobFeed, JobStore

S = JobStatus
PENDING, QUEUED, HOLDING = 0, 1, 2  # the lists, by what the cycle does with a job


def _group(status: JobStatus) -> int | None:
    if status is S.PENDING:
        return PENDING
    if status is S.QUEUED:
        return QUEUED
    return HOLDING if status.holds_capacity else None


def _key(job: Job) -> tuple[dt.datetime, JobId]:
    return (job.submitted_at, job.id)  # the store's order (``MemoryJobStore.active``)


@dataclass(frozen=True)
class ActiveJobs:
    """The unfinished jobs a cycle reads, oldest submission first in each list."""

    pending: list[Job]
    queued: list[Job]
    holding: list[Job]


def sorted_out(active: Iterable[Job]) -> ActiveJobs:
    """``active`` (in the store's order) sorted out into the three lists."""
    lists: tuple[list[Job], list[Job], list[Job]] = ([], [], [])
    for job in active:
        group = _group(job.status)
        if group is not None:
            lists[group].append(job)
    return ActiveJobs(*lists)


@dataclass
class FollowedActive:
    """The three lists kept across ticks by a job store's change feed (one control loop
    per platform)."""

    jobs: JobStore | None = None
    feed: JobFeed | None = None
    # Each list's jobs in the store's order (a list is copied out of one without a lookup
    # per job: most ticks change a few of the running jobs and none of the others).
    lists: tuple[SortedKeyList[Job, tuple[dt.datetime, JobId]], ...] = ()
    found: dict[JobId, tuple[int, Job]] = field(default_factory=dict)

    def read(self, jobs: JobStore) -> ActiveJobs:
        """The unfinished jobs of ``jobs`` now, sorted out."""
        feed = self.feed
        if self.jobs is not jobs or feed is None:
            if not isinstance(jobs, JobChanges):  # checked once per store: it is slow
                return sorted_out(jobs.active())
            self.jobs, self.feed = jobs, jobs.follow()  # first, so no change falls between
            self.lists = tuple(SortedKeyList(key=_key) for _ in range(3))
            self.found = {}
            for job in jobs.active():
                self._enter(job)
        else:
            lists, found = self.lists, self.found
            for i in feed.take():
                was = found.pop(i, None)
                if was is not None:
                    lists[was[0]].remove(was[1])  # the very job entered: found by its key
                now = jobs.get(i)
                if now is not None:
                    self._enter(now)
        pending, queued, holding = (list(group) for group in self.lists)  # the caller's
        return ActiveJobs(pending, queued, holding)

    def _enter(self, job: Job) -> None:
        group = _group(job.status)
        if group is not None:
            self.lists[group].add(job)
            self.found[job.id] = (group, job)

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

from sortedcontainers import SortedList

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
    keys: tuple[SortedList[tuple[dt.datetime, JobId]], ...] = ()
    found: dict[JobId, tuple[int, Job]] = field(default_factory=dict)
    # Each list as last made, None once a job entered or left it: a list no job changed
    # in is copied, not made again (most ticks change a few of the running jobs).
    made: list[list[Job] | None] = field(default_factory=lambda: [None, None, None])

    def read(self, jobs: JobStore) -> ActiveJobs:
        """The unfinished jobs of ``jobs`` now, sorted out."""
        feed = self.feed
        if self.jobs is not jobs or feed is None:
            if not isinstance(jobs, JobChanges):  # checked once per store: it is slow
                return sorted_out(jobs.active())
            self.jobs, self.feed = jobs, jobs.follow()  # first, so no change falls between
            self.keys, self.found = (SortedList(), SortedList(), SortedList()), {}
            self.made = [None, None, None]
            for job in jobs.active():
                self._enter(job)
        else:
            keys, found, made = self.keys, self.found, self.made
            for i in feed.take():
                was = found.pop(i, None)
                if was is not None:
                    keys[was[0]].remove(_key(was[1]))
                    made[was[0]] = None
                now = jobs.get(i)
                if now is not None:
                    self._enter(now)
        found, made = self.found, self.made
        for g, group in enumerate(self.keys):
            if made[g] is None:
                made[g] = [found[i][1] for _, i in group]
        pending, queued, holding = (list(m or ()) for m in made)  # the caller's to change
        return ActiveJobs(pending, queued, holding)

    def _enter(self, job: Job) -> None:
        group = _group(job.status)
        if group is not None:
            self.keys[group].add(_key(job))
            self.found[job.id] = (group, job)
            self.made[group] = None

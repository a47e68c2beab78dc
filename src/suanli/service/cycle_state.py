"""What one scheduling cycle derived that the next may reuse while its inputs are the same.

The cycle reads fresh state every tick (``service.scheduling``); deriving everything from it
again costs most when little changed, as between two ticks of a busy server or two events
of the simulator. Each entry here follows the exact inputs it was derived from, so a cycle
decides as if it had derived it anew (``tests/service/test_cycle_state.py`` checks it).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from suanli.domain.fleet import Fleet
from suanli.domain.ids import JobId
from suanli.domain.jobs import Job, JobStatus
from suanli.scheduler.capacity import LiveCapacity
from suanli.scheduler.fairqueue import finished_service, service_history, speeds, units
from suanli.scheduler.queueing import ServiceHistory
from suanli.scheduler.queueing.gittins import KEEP, size_class
from suanli.scheduler.snapshot import PoolState
from suanli.service.followed_runs import FollowedRuns
from suanli.store.base import JobChanges, JobFeed, JobStore

Class = tuple[str, int]  # (tenant, size class)
FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED)


@dataclass
class HistoryWindow:
    """``fairqueue.service_history`` of the finished jobs a cycle reads, kept up to date by
    the jobs that enter and leave that list between cycles instead of read anew each time.

    Exact while a class keeps every sample of the list (``KEEP`` is more than the cycle
    reads; a longer list is derived anew): a class's samples are then the sorted services
    of its jobs there, whatever their order; a class holding a NaN is sorted as
    ``history_of`` sorts it (oldest first). Classes that did not change keep their very
    samples tuple, which the Gittins table recognises to reuse its rows.
    """

    fleet: Fleet | None = None
    members: dict[tuple[JobId, int], tuple[Class, float] | None] = field(default_factory=dict)
    ordered: dict[Class, list[float]] = field(default_factory=dict)
    nans: dict[Class, int] = field(default_factory=dict)
    kept: dict[Class, tuple[float, ...]] = field(default_factory=dict)
    history: ServiceHistory | None = None

    def follow(self, finished: Sequence[Job], fleet: Fleet) -> ServiceHistory:
        """The history of ``finished`` (newest first, as the store lists them)."""
        if len(finished) > KEEP:
            return service_history(reversed(finished), fleet)
        if fleet is not self.fleet:  # another fleet's speeds: start over
            self.members, self.ordered, self.nans, self.kept = {}, {}, {}, {}
            self.fleet, self.history = fleet, None
        now = {(j.id, j.version): j for j in finished}
        members, ordered, nans = self.members, self.ordered, self.nans
        changed: set[Class] = set()
        for key in [k for k in members if k not in now]:
            member = members.pop(key)
            if member is None:
                continue
            cls, value = member
            samples = ordered[cls]
            if value != value or nans[cls]:
                samples.remove(value)  # by identity first: a NaN too
                nans[cls] -= value != value
                if not nans[cls]:
                    samples.sort()  # sorted around a NaN, it may not be in order
            else:
                del samples[bisect.bisect_left(samples, value)]
            changed.add(cls)
        speed = speeds(fleet) if len(now) > len(members) else {}
        for key, job in now.items():
            if key in members:
                continue
            size = units(job)
            if not size:
                members[key] = None  # holds no accelerator: not in the history
                continue
            cls = (job.tenant, size_class(size))
            value = max(finished_service(job, speed), 0.0)
            members[key] = (cls, value)
            samples = ordered.setdefault(cls, [])
            nans[cls] = nans.get(cls, 0) + (value != value)
            if nans[cls]:
                samples.append(value)
            else:
                bisect.insort(samples, value)
            changed.add(cls)
        for cls in changed:
            samples = ordered[cls]
            if nans[cls]:  # as history_of sorts a class with a NaN: oldest first
                oldest_first = (members[(j.id, j.version)] for j in reversed(finished))
                samples[:] = sorted(m[1] for m in oldest_first if m is not None and m[0] == cls)
            if samples:
                self.kept[cls] = tuple(samples)
            else:
                del ordered[cls], nans[cls]
                self.kept.pop(cls, None)
        if self.history is None or changed:
            self.history = ServiceHistory(dict(self.kept))
        return self.history


@dataclass
class FollowedCapacity:
    """The snapshot's pools (``scheduler.capacity.LiveCapacity``) kept up to date by a job
    store's change feed (``store.base.JobChanges``)."""

    jobs: JobStore | None = None
    feed: JobFeed | None = None
    capacity: LiveCapacity | None = None

    def pools(
        self, jobs: JobStore, fleet: Fleet, unavailable: frozenset[str]
    ) -> list[PoolState] | None:
        """The pools with their free capacity now; None when ``jobs`` cannot tell what
        changed (the cycle builds its snapshot from every holding job then)."""
        if not isinstance(jobs, JobChanges):
            return None
        capacity = self.capacity
        if capacity is None or capacity.fleet is not fleet or self.jobs is not jobs:
            self.jobs, self.feed = jobs, jobs.follow()  # first, so no change falls between
            capacity = self.capacity = LiveCapacity(fleet)
            capacity.update((j.id, j) for j in jobs.holding())
        elif self.feed is not None:
            capacity.update((i, jobs.get(i)) for i in self.feed.take())
        return capacity.available(unavailable)


@dataclass
class FollowedHistory:
    """The history of the newest finished jobs, read again only when a job that is or was
    among them changed (or another finished), as a job store's change feed tells."""

    jobs: JobStore | None = None
    feed: JobFeed | None = None
    ids: set[JobId] = field(default_factory=set)
    history: ServiceHistory | None = None

    def read(
        self, jobs: JobStore, limit: int, derive: Callable[[Sequence[Job]], ServiceHistory]
    ) -> ServiceHistory:
        """``derive`` of ``jobs.list([SUCCEEDED, FAILED], limit=limit)``."""
        if not isinstance(jobs, JobChanges):
            return derive(jobs.list(FINISHED, limit=limit))
        if self.history is None or self.jobs is not jobs or self.feed is None:
            self.jobs, self.feed = jobs, jobs.follow()
        else:
            for i in self.feed.take():
                if i in self.ids:
                    break
                job = jobs.get(i)
                if job is not None and job.status in FINISHED:
                    break
            else:
                return self.history  # the same finished jobs: the same history
        finished = jobs.list(FINISHED, limit=limit)
        self.ids = {j.id for j in finished}
        self.history = derive(finished)
        return self.history


@dataclass
class CycleState:
    """Kept by the platform from one cycle to the next (one control loop per platform)."""

    window: HistoryWindow = field(default_factory=HistoryWindow)
    capacity: FollowedCapacity = field(default_factory=FollowedCapacity)
    finished: FollowedHistory = field(default_factory=FollowedHistory)
    runs: FollowedRuns = field(default_factory=FollowedRuns)  # the reconciler's walk

    def history(self, finished: Sequence[Job], fleet: Fleet) -> ServiceHistory:
        """``service_history(reversed(finished), fleet)``, followed from the last cycle's."""
        return self.window.follow(finished, fleet)

    def learned(self, jobs: JobStore, limit: int, fleet: Fleet) -> ServiceHistory:
        """``history`` of the newest ``limit`` finished jobs of ``jobs``."""
        if self.window.fleet is not fleet:
            self.finished.history = None  # another fleet's speeds: derive it again
        return self.finished.read(jobs, limit, lambda f: self.history(f, fleet))

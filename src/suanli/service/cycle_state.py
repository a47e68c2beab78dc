"""What one scheduling cycle derived that the next may reuse while its inputs are the same.

The cycle reads fresh state every tick (``service.scheduling``); deriving everything from it
again costs most when little changed, as between two ticks of a busy server or two events
of the simulator. Each entry here follows the exact inputs it was derived from, so a cycle
decides as if it had derived it anew (``tests/service/test_cycle_state.py`` checks it).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sortedcontainers import SortedDict

from suanli.domain.fleet import Fleet
from suanli.domain.ids import JobId
from suanli.domain.jobs import Job, JobStatus
from suanli.domain.tenants import Tenant
from suanli.scheduler.capacity import LiveCapacity
from suanli.scheduler.fairqueue import (
    KeptTurn,
    finished_service,
    service_history,
    speeds,
    units,
)
from suanli.scheduler.kept_plans import KeptPlans
from suanli.scheduler.queueing import ServiceHistory
from suanli.scheduler.queueing.gittins import KEEP, size_class
from suanli.scheduler.snapshot import PoolState
from suanli.service.followed_active import FollowedActive
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
        left = [k for k in self.members if k not in now]
        entered = [job for key, job in now.items() if key not in self.members]
        return self.move(left, entered, lambda: reversed(finished))

    def move(
        self,
        left: Iterable[tuple[JobId, int]],
        entered: Iterable[Job],
        oldest_first: Callable[[], Iterable[Job]],
    ) -> ServiceHistory:
        """The history once the jobs ``left`` (by id and version) have left the list and
        ``entered`` have entered it; ``oldest_first`` lists the jobs now listed, oldest
        first (read only for a class holding a NaN)."""
        fleet = self.fleet
        if fleet is None:
            raise ValueError("a history moves from a whole list followed first")
        members, ordered, nans = self.members, self.ordered, self.nans
        changed: set[Class] = set()
        for key in left:
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
        speed: dict[str, float] | None = None
        for job in entered:
            size = units(job)
            if not size:
                members[(job.id, job.version)] = None  # holds no accelerator: not in it
                continue
            if speed is None:
                speed = speeds(fleet)
            cls = (job.tenant, size_class(size))
            value = max(finished_service(job, speed), 0.0)
            members[(job.id, job.version)] = (cls, value)
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
                listed = (members[(j.id, j.version)] for j in oldest_first())
                samples[:] = sorted(m[1] for m in listed if m is not None and m[0] == cls)
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
        capacity = self.capacity
        feed = self.feed
        if capacity is not None and capacity.fleet is fleet and self.jobs is jobs:
            # ``jobs`` was checked when first followed: a protocol check costs more than a
            # quiet tick's update.
            if feed is not None:
                capacity.update((i, jobs.get(i)) for i in feed.take())
            return capacity.available(unavailable)
        if not isinstance(jobs, JobChanges):
            return None
        self.jobs, self.feed = jobs, jobs.follow()  # first, so no change falls between
        capacity = self.capacity = LiveCapacity(fleet)
        capacity.update((j.id, j) for j in jobs.holding())
        return capacity.available(unavailable)


def _newest(job: Job) -> tuple[dt.datetime, JobId]:
    return (job.submitted_at, job.id)  # the job store lists jobs by it, newest first


@dataclass
class FollowedHistory:
    """The newest finished jobs (``jobs.list([SUCCEEDED, FAILED], limit=limit)``) kept up to
    date by a job store's change feed: a job that finished enters the list if it is among
    the newest, the oldest leaves; the history (``HistoryWindow``) moves by the jobs that
    entered and left. The list is read anew only when it lost a job it cannot tell the
    successor of (a listed job saved out of the finished statuses or removed)."""

    jobs: JobStore | None = None
    feed: JobFeed | None = None
    limit: int = 0
    listed: SortedDict[tuple[dt.datetime, JobId], Job] = field(default_factory=SortedDict)
    keys: dict[JobId, tuple[dt.datetime, JobId]] = field(default_factory=dict)

    def read(
        self, jobs: JobStore, limit: int, window: HistoryWindow, fleet: Fleet
    ) -> ServiceHistory:
        """``window.follow`` of ``jobs.list([SUCCEEDED, FAILED], limit=limit)``."""
        if (
            self.jobs is not jobs  # checked when first followed: a protocol check is slow
            or self.feed is None
            or self.limit != limit
            or window.fleet is not fleet
            or window.history is None
            or limit > KEEP
        ):
            if not isinstance(jobs, JobChanges) or limit > KEEP:
                return window.follow(jobs.list(FINISHED, limit=limit), fleet)
            self.jobs, self.feed, self.limit = jobs, jobs.follow(), limit
            return self._anew(jobs, window, fleet)
        listed, keys = self.listed, self.keys
        left: list[tuple[JobId, int]] = []
        entered: dict[JobId, Job] = {}
        lost = False  # a listed job left: its place may be an older one's, unlisted
        for i in sorted(self.feed.take()):  # in one order: ties in the history's samples
            job = jobs.get(i)
            was = keys.pop(i, None)
            if was is not None:
                old = listed.pop(was)
                left.append((old.id, old.version))
            if job is None or job.status not in FINISHED:
                lost = lost or was is not None
                continue
            key = _newest(job)
            lost = lost or (was is not None and was != key)
            if len(listed) >= limit and key < listed.peekitem(0)[0]:
                continue  # older than every listed job: not among the newest
            listed[key] = job
            keys[i] = key
            entered[i] = job
            if len(listed) > limit:
                _, out = listed.popitem(0)
                del keys[out.id]
                if entered.pop(out.id, None) is None:
                    left.append((out.id, out.version))
        if lost and jobs.count(FINISHED) > len(listed):
            return self._anew(jobs, window, fleet)  # an older finished job moves up: read it
        return window.move(left, entered.values(), lambda: iter(listed.values()))

    def _anew(self, jobs: JobStore, window: HistoryWindow, fleet: Fleet) -> ServiceHistory:
        finished = jobs.list(FINISHED, limit=self.limit)
        self.listed = SortedDict((_newest(j), j) for j in finished)
        self.keys = {j.id: _newest(j) for j in finished}
        return window.follow(finished, fleet)


@dataclass
class KeptRates:
    """The rates the last cycles quoted, valid while ``inputs`` (what every quote reads) and
    each tenant's record are the same (one control loop per platform)."""

    inputs: tuple[object, ...] | None = None
    tenants: dict[str, Tenant | None] = field(default_factory=dict)
    rates: dict[str, tuple[Decimal | None, Decimal | None]] = field(default_factory=dict)


@dataclass
class CycleState:
    """Kept by the platform from one cycle to the next (one control loop per platform)."""

    window: HistoryWindow = field(default_factory=HistoryWindow)
    capacity: FollowedCapacity = field(default_factory=FollowedCapacity)
    finished: FollowedHistory = field(default_factory=FollowedHistory)
    runs: FollowedRuns = field(default_factory=FollowedRuns)  # the reconciler's walk
    rates: KeptRates = field(default_factory=KeptRates)  # service.voucher_rates
    active: FollowedActive = field(default_factory=FollowedActive)  # the cycle's jobs
    turn: KeptTurn = field(default_factory=KeptTurn)  # the fair queue's, turn to turn
    plans: KeptPlans = field(
        default_factory=KeptPlans
    )  # the planner, fair queue's and placement's

    def history(self, finished: Sequence[Job], fleet: Fleet) -> ServiceHistory:
        """``service_history(reversed(finished), fleet)``, followed from the last cycle's."""
        return self.window.follow(finished, fleet)

    def learned(self, jobs: JobStore, limit: int, fleet: Fleet) -> ServiceHistory:
        """``history`` of the newest ``limit`` finished jobs of ``jobs``."""
        return self.finished.read(jobs, limit, self.window, fleet)

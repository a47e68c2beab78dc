"""What one scheduling cycle derived that the next may reuse while its inputs are the same.

The cycle reads fresh state every tick (``service.scheduling``); deriving everything from it
again costs most when little changed, as between two ticks of a busy server or two events
of the simulator. Each entry here follows the exact inputs it was derived from, so a cycle
decides as if it had derived it anew (``tests/service/test_cycle_state.py`` checks it).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

from suanli.domain.fleet import Fleet
from suanli.domain.ids import JobId
from suanli.domain.jobs import Job
from suanli.scheduler.fairqueue import finished_service, service_history, speeds, units
from suanli.scheduler.queueing import ServiceHistory
from suanli.scheduler.queueing.gittins import KEEP, size_class

Class = tuple[str, int]  # (tenant, size class)


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
class CycleState:
    """Kept by the platform from one cycle to the next (one control loop per platform)."""

    window: HistoryWindow = field(default_factory=HistoryWindow)

    def history(self, finished: Sequence[Job], fleet: Fleet) -> ServiceHistory:
        """``service_history(reversed(finished), fleet)``, followed from the last cycle's."""
        return self.window.follow(finished, fleet)

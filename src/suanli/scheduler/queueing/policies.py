"""Queue policies: the order in which work gets accelerators, behind one protocol.

A policy only *ranks* work (a sort key) and says whether ranking may take accelerators back
from running work (``preemptive``); quotas, cohorts, borrowing, gang admission and
placement are shared by all of them (``suanli.scheduler.queueing.admission``).
"""

from __future__ import annotations

import bisect
import math
from typing import Any, Protocol

from suanli.domain.throughput import UNIFORM, ThroughputTable
from suanli.scheduler.queueing.gittins import GittinsTable, ServiceHistory, table_of
from suanli.scheduler.queueing.model import (
    GUARD_GAIN,
    GUARD_S,
    LEVELS_S,
    PREEMPT_GAIN,
    QueueSettings,
    Work,
)

__all__ = ["GUARD_GAIN", "GUARD_S", "LEVELS_S", "PREEMPT_GAIN"]

Key = tuple[Any, ...]


class QueuePolicy(Protocol):
    name: str
    preemptive: bool
    tracks_progress: bool  # ranks running work by progress: drivers bring it up to date
    reserves_nodes: bool  # a gang fragmented out of its pool clears nodes of lower work
    learns: bool  # ranks by finished jobs' service: drivers pass a history (``informed``)
    settings: QueueSettings
    throughput: ThroughputTable  # how pools are chosen: UNIFORM = heterogeneity-agnostic

    def key(self, work: Work, now: float) -> Key:
        """Lower sorts first. Pure: depends on ``work`` and ``now`` only."""
        ...

    def next_change(self, work: Work, now: float) -> float | None:
        """When this work's key next changes on its own (a level crossed), if ever."""
        ...

    def wait_order(self, work: Work) -> tuple[Key, Key]:
        """(group, order) of waiting work: inside one group, ``key`` at any instant sorts
        waiting work as ``order`` does (drivers keep each group sorted once, not per event).
        Work of one tenant and one size shares its groups whatever history is learned."""
        ...

    def informed(self, history: ServiceHistory) -> QueuePolicy:
        """This policy ranking with what ``history`` (finished jobs' service) teaches; the
        same policy when it learns nothing from history. Pure."""
        ...


class _Base:
    name = "base"
    preemptive = False
    tracks_progress = False
    reserves_nodes = False
    learns = False

    def __init__(
        self, settings: QueueSettings | None = None, throughput: ThroughputTable = UNIFORM
    ) -> None:
        self.settings = settings or QueueSettings()
        self.throughput = throughput

    def key(self, work: Work, now: float) -> Key:
        raise NotImplementedError

    def next_change(self, work: Work, now: float) -> float | None:
        return None

    def wait_order(self, work: Work) -> tuple[Key, Key]:
        # These keys do not move while work waits: one group, ordered by the key itself.
        return (), self.key(work, 0.0)

    def informed(self, history: ServiceHistory) -> QueuePolicy:
        return self


class Fifo(_Base):
    """First come, first served (higher priority first)."""

    name = "fifo"

    def key(self, work: Work, now: float) -> Key:
        return (-work.priority, work.submitted, work.id)


class ShortestJobFirst(_Base):
    """Shortest estimated run time first; work with no estimate goes last, in FIFO order."""

    name = "sjf"

    def key(self, work: Work, now: float) -> Key:
        est = work.estimate_s if work.estimate_s is not None else math.inf
        return (-work.priority, est, work.submitted, work.id)


class ShortestRemainingFirst(_Base):
    """Shortest estimated remaining time first, preempting longer running work."""

    name = "srtf"
    preemptive = True
    tracks_progress = True

    def key(self, work: Work, now: float) -> Key:
        rem = work.remaining_s
        return (-work.priority, rem if rem is not None else math.inf, work.submitted, work.id)


class LeastAttained(_Base):
    """Discretised least-attained-service after Tiresias' 2D-LAS (NSDI'19), with suanli's
    levels (``settings.levels_s``) and clock aging instead of the paper's thresholds and
    promotion (those are ``las2d``, ``policies_blind.py``; continuous LAS is ``las-plain``).

    Needs no run-time estimate. Work is ranked by service level: level 0 until it has
    attained ``LEVELS_S[0]`` normalised accelerator-seconds (accelerators × time, so wide
    jobs descend faster), level 1 until ``LEVELS_S[1]``, and so on. Inside a level, first
    come first served by submission (as Tiresias): a preempted job keeps its place among its
    level's jobs instead of going behind them, so long jobs of one level are not
    time-shared round-robin (which delays all of them). Long jobs do not starve: each
    ``aging_s`` boundary of the clock (multiples of ``aging_s``) crossed while waiting lifts
    a job one level, so waiting ``n × aging_s`` lifts it at least ``n`` levels; the
    boundaries are shared so that waiting jobs of one level lift together (and keep one
    order). Being preemptive, a job that climbs above running work of a lower level takes
    its accelerators (after a grace period for the running job to checkpoint and stop); a
    gang admitted but fragmented out of its pool clears whole nodes of lower-ranked work
    (``reserves_nodes``).
    """

    name = "las"
    preemptive = True
    reserves_nodes = True

    def _epoch(self, t: float) -> int:
        return int(t // self.settings.aging_s)

    def level(self, work: Work, now: float) -> int:
        level = bisect.bisect_right(self.settings.levels_s, work.attained)
        if level and work.pool is None and self.settings.aging_s > 0:
            level -= self._epoch(now) - self._epoch(work.queued_since)
            return level if level > 0 else 0
        return level

    def key(self, work: Work, now: float) -> Key:
        return (-work.priority, self.level(work, now), work.submitted, work.id)

    def wait_order(self, work: Work) -> tuple[Key, Key]:
        # Waiting work that entered the queue at one level in one aging epoch lifts at the
        # same instants, so inside that group the key sorts by submission alone.
        level = self.level(work, work.queued_since)
        epoch = self._epoch(work.queued_since) if level and self.settings.aging_s > 0 else 0
        return (-work.priority, level, epoch), (work.submitted, work.id)

    def next_change(self, work: Work, now: float) -> float | None:
        if work.running:
            rate = work.accelerators * work.speed
            for t in self.settings.levels_s:
                if work.attained < t and rate > 0:
                    return now + (t - work.attained) / rate
            return None
        if self.level(work, now) == 0 or self.settings.aging_s <= 0:
            return None
        return (self._epoch(now) + 1) * self.settings.aging_s


_FLOOR = 1e-12  # an index of 0 (nothing known) still lifts
# Lifts counted at most (4**256 is past any ratio of two indexes; more overflows a float:
# a job waiting 85 days at the shipped guard did, in the live cycle's replay).
MAX_LIFTS = 256


class Gittins(LeastAttained):
    """suanli's default: least-attained-service levels ranked by their Gittins index, learned
    from the service of the jobs that finished (``scheduler.queueing.gittins``).

    As ``LeastAttained`` (levels, aging, preemption, node clearing), except that work ranks
    by the Gittins index of its class (tenant and gang size) at its level: how many jobs per
    normalised accelerator-second running it is expected to finish, judging by how much
    service the class's finished jobs took. No job's own run time is used. Inside one
    index, lower level first, then submission. Running work counts its index
    ``PREEMPT_GAIN`` times: only a clearly better job preempts it. ``settings.quanta``
    (shipped off, ``model.QUANTA``): off, the index is the rate of running to the end (one
    over the class's expected remaining service), since a stopped attempt restarts from
    zero; on, the Gittins index proper, which bets on quanta a checkpoint would keep.
    With no history (``informed`` not called, or nothing finished yet) it ranks as
    ``LeastAttained``. Work of one tenant and size shares an index row, so
    ``wait_order``'s groups hold whatever the table.
    """

    name = "default"
    learns = True

    def __init__(
        self,
        settings: QueueSettings | None = None,
        throughput: ThroughputTable = UNIFORM,
        table: GittinsTable | None = None,
        history: ServiceHistory | None = None,
    ) -> None:
        super().__init__(settings, throughput)
        self.table = table
        self.history = history

    def informed(self, history: ServiceHistory) -> QueuePolicy:
        if history is self.history:
            return self
        # Rows of classes whose finished jobs did not change since this policy's table are
        # reused (a driver refreshing its history as jobs finish recomputes only the rest).
        points = (0.0, *self.settings.levels_s)
        table = table_of(history, points, self.table, quanta=self.settings.quanta)
        return Gittins(self.settings, self.throughput, table, history)

    @property
    def guard_s(self) -> float:
        return self.settings.guard_s

    @property
    def guard_gain(self) -> float:
        return self.settings.guard_gain

    def _lifts(self, work: Work, now: float) -> int:
        """How many times the starvation guard has multiplied (by ``guard_gain``) this
        waiting work's index: once per ``guard_s`` since submission, for work never started
        (none with no history: least-attained order then)."""
        if self.table is None or self.guard_s <= 0 or work.pool is not None or work.attained > 0:
            return 0
        return int(max(now - work.submitted, 0.0) // self.guard_s)

    def key(self, work: Work, now: float) -> Key:
        level = self.level(work, now)
        table = self.table
        index = table.index(work.tenant, work.accelerators, level) if table is not None else 0.0
        if work.pool is not None:
            index *= self.settings.preempt_gain
        else:
            lifts = self._lifts(work, now)
            if lifts:
                index = max(index, _FLOOR) * self.guard_gain ** min(lifts, MAX_LIFTS)
        return (-work.priority, -index, level, work.submitted, work.id)

    def wait_order(self, work: Work) -> tuple[Key, Key]:
        # Work never started lifts by its age (submission order inside its group); work that
        # ran does not lift: they are apart.
        group, order = super().wait_order(work)
        return (*group, work.attained <= 0), order

    def next_change(self, work: Work, now: float) -> float | None:
        nxt = super().next_change(work, now)
        if (
            self.table is not None
            and self.guard_s > 0
            and work.pool is None
            and work.attained <= 0
        ):
            lift = work.submitted + (self._lifts(work, now) + 1) * self.guard_s
            nxt = lift if nxt is None else min(nxt, lift)
        return nxt


class FifoAgnostic(Fifo):
    """FIFO that ignores what each model is good at (Gavel's baseline)."""

    name = "fifo-agnostic"


def make_policy(
    name: str, settings: QueueSettings | None = None, throughput: ThroughputTable | None = None
) -> QueuePolicy:
    """A fresh policy by name; heterogeneity-aware ones get ``throughput`` (agnostic: never)."""
    cls = QUEUE_POLICIES[name]
    table = UNIFORM if cls is FifoAgnostic or throughput is None else throughput
    return cls(settings, table)


QUEUE_POLICIES: dict[str, type[_Base]] = {
    p.name: p
    for p in (Gittins, LeastAttained, Fifo, ShortestJobFirst, ShortestRemainingFirst, FifoAgnostic)
}
"""Registry; ``default`` is what the live server uses."""

# The blind baselines build on ``_Base``: registered once it exists (``policies_blind``).
from suanli.scheduler.queueing.policies_blind import BLIND_POLICIES  # noqa: E402

QUEUE_POLICIES.update({p.name: p for p in BLIND_POLICIES})

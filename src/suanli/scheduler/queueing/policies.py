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
from suanli.scheduler.queueing.model import QueueSettings, Work

Key = tuple[Any, ...]


class QueuePolicy(Protocol):
    name: str
    preemptive: bool
    tracks_progress: bool  # ranks running work by progress: drivers bring it up to date
    reserves_nodes: bool  # a gang fragmented out of its pool clears nodes of lower work
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
        waiting work as ``order`` does (drivers keep each group sorted once, not per event)."""
        ...


class _Base:
    name = "base"
    preemptive = False
    tracks_progress = False
    reserves_nodes = False

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


LEVELS_S = (10_000.0, 80_000.0, 640_000.0)
"""Service levels (normalised accelerator-seconds attained) of the default policy: on one
V100 (0.4 of the reference A100) about 7 h, 2.3 days and 18.5 days of running. Measured on
the Philly replay (docs/sim-fidelity.md): lower first levels (240 to 3,600) preempted
bursts of similar jobs into round-robin and did worse; a level above 80,000 orders the
long, wide jobs of overloaded clusters better than submission order does."""


class LeastAttained(_Base):
    """suanli's default: discretised least-attained-service (Tiresias' 2D-LAS, NSDI'19).

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

    name = "default"
    preemptive = True
    reserves_nodes = True

    def _epoch(self, t: float) -> int:
        return int(t // self.settings.aging_s)

    def level(self, work: Work, now: float) -> int:
        level = bisect.bisect_right(LEVELS_S, work.attained)
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
            for t in LEVELS_S:
                if work.attained < t and rate > 0:
                    return now + (t - work.attained) / rate
            return None
        if self.level(work, now) == 0 or self.settings.aging_s <= 0:
            return None
        return (self._epoch(now) + 1) * self.settings.aging_s


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
    for p in (LeastAttained, Fifo, ShortestJobFirst, ShortestRemainingFirst, FifoAgnostic)
}
"""Registry; ``default`` is what the live server uses."""

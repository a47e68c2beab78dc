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


LEVELS_S = (3600.0, 8 * 3600.0)
"""Service levels (normalised accelerator-seconds attained) of the default policy."""


class LeastAttained(_Base):
    """suanli's default: discretised least-attained-service (Tiresias' 2D-LAS, NSDI'19).

    Needs no run-time estimate. Work is ranked by service level: level 0 until it has
    attained ``LEVELS_S[0]`` normalised accelerator-seconds (accelerators × time, so wide
    jobs descend faster), level 1 until ``LEVELS_S[1]``, then level 2. Inside a level, first
    come first served (by when the job last entered the queue). Long jobs do not starve:
    each ``aging_s`` spent waiting lifts a job one level. Being preemptive, a job that
    climbs above running work of a lower level takes its accelerators (after a grace period
    for the running job to checkpoint and stop).
    """

    name = "default"
    preemptive = True

    def level(self, work: Work, now: float) -> int:
        level = bisect.bisect_right(LEVELS_S, work.attained)
        if level and work.pool is None and self.settings.aging_s > 0:
            level -= int((now - work.queued_since) // self.settings.aging_s)
            return level if level > 0 else 0
        return level

    def key(self, work: Work, now: float) -> Key:
        return (-work.priority, self.level(work, now), work.queued_since, work.id)

    def wait_order(self, work: Work) -> tuple[Key, Key]:
        # Waiting work of one service level ages in step: it keeps its order by entry time.
        return (-work.priority, self.level(work, work.queued_since)), (work.queued_since, work.id)

    def next_change(self, work: Work, now: float) -> float | None:
        if work.running:
            rate = work.accelerators * work.speed
            for t in LEVELS_S:
                if work.attained < t and rate > 0:
                    return now + (t - work.attained) / rate
            return None
        if self.level(work, now) == 0 or self.settings.aging_s <= 0:
            return None
        waited = now - work.queued_since
        return now + (self.settings.aging_s - waited % self.settings.aging_s)


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

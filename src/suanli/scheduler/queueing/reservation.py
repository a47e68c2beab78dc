"""Backfill with reservations (EASY backfill, as Slurm's and Maui's backfill do it).

Without reservations, a job that does not fit now is overtaken by any later job that does:
a stream of small jobs can keep a wide gang waiting forever. With them, the first job a
pool refuses for lack of room *reserves* the earliest time the work counted on that pool
frees enough for it (the shadow time), judged by the spec's estimate (its estimated hours,
scaled to the pool's speed) and bounded by the hard time limit, which is certain. A later
job may then start ahead of it on that pool only if it is expected to end before the
shadow time, or if it fits in what the reserved job leaves over at that time (the spare).

Estimates are what users say; the hard limit is what the engines enforce. Work with neither
never frees for sure, so a pool holding any such work makes no reservation (backfill as
before): a promise that cannot be computed is not made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from suanli.scheduler.queueing.model import Work

NEVER = math.inf


def runs_for(w: Work, speed: float) -> float:
    """Seconds ``w`` is expected to run from a start now on a pool of ``speed``: its
    remaining estimate at that speed, never past its hard limit; NEVER if neither is known."""
    limit = w.limit_s if w.limit_s is not None else NEVER
    remaining = w.remaining_s
    if remaining is None:
        return limit
    return min(remaining / max(speed, 1e-9), limit)


def ends_at(w: Work, now: float, grace_s: float) -> float:
    """When running ``w`` is expected to give its accelerators back (never before ``now``)."""
    if w.stopping:
        return now + grace_s
    started = w.started if w.started is not None else now
    limit = started + w.limit_s if w.limit_s is not None else NEVER
    if w.estimate_s is None:
        return max(limit, now)
    # The estimate counts work done in earlier attempts (progress); this attempt does the rest.
    expected = started + (w.remaining_s or 0.0) / max(w.speed, 1e-9)
    return max(min(expected, limit), now)


@dataclass(slots=True)
class Reservation:
    """A pool's promise to ``holder``: ``need`` accelerators at ``at`` (the shadow time);
    ``spare`` of what frees by then is not needed and may go to work that runs past it."""

    holder: str
    need: int
    at: float
    spare: int

    def admits(self, w: Work, now: float, speed: float) -> bool:
        """Whether ``w`` may start now without pushing the holder's start back."""
        return now + runs_for(w, speed) <= self.at or w.accelerators <= self.spare

    def take(self, w: Work, now: float, speed: float) -> None:
        """``w`` starts now: work that runs past the shadow time uses up the spare."""
        if now + runs_for(w, speed) > self.at:
            self.spare -= w.accelerators


def shadow(holder: Work, room: int, holding: list[tuple[float, int]]) -> Reservation | None:
    """The reservation for ``holder`` on a pool with ``room`` accelerators unpromised now and
    ``holding`` (end time, accelerators) counted on it, or None if the pool never frees
    enough for sure (an end is not known) or can never hold it."""
    free, at = room, NEVER
    if free >= holder.accelerators:
        return None  # fits now: refused for another reason, nothing to reserve
    for end, count in sorted(holding):
        if end == NEVER:
            return None
        free += count
        if free >= holder.accelerators:
            at = end
            break
    if at == NEVER:
        return None
    # Work ending at the same moment frees its accelerators too.
    spare = room + sum(c for e, c in holding if e <= at) - holder.accelerators
    return Reservation(holder.id, holder.accelerators, at, spare)

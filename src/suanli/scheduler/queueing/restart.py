"""The price of a restart: when running work that does not resume may be stopped for a rank.

Work that does not checkpoint (``Work.resumes`` False) loses the service of its current
attempt when it is stopped: its next attempt starts from zero. ADR 0002 pinned such work
against every rank; ADR 0003 prices the restart instead, for the default policy only (the
one that knows each class's expected remaining service from finished jobs):

    stop it for a rank only if  E[R_running] - E[R_best waiting] > factor x thrown away

``E[R]`` is a work's expected remaining service (normalised accelerator-seconds) at what it
has attained, ``E[S - a | S > a]`` over the finished jobs the default's index learns from
(its class's, else its size's: ``gittins.py``; at the exact service, not the index's
coarse levels, since a long job's expectation grows with what it has run); "thrown away"
is the service of the running attempt (seconds it has run x accelerators x its speed).
With one server and two jobs, running the waiting one first and the other again from zero
lowers their summed completion times exactly when ``E[R_running] - E[R_waiting]`` exceeds
the service thrown away: ``factor`` 1 is that break-even, below 1 counts the other jobs
queued behind the running one. The test only lets the work be outranked: the admission walk
still stops it only where better-ranked work needs its room (the index times
``preempt_gain``, as for work that resumes); reclaiming lent quota does not ask the price.

``factor`` is ``QueueSettings.restart_price`` (a tenants file or scenario may set it;
None: never, ADR 0002's rule). Blind baselines and a default that has not learnt a table
yet never pay it: they have no expected remaining service to weigh.

Pure: work, the policy and the time in; a yes or no out.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from suanli.scheduler.queueing.gittins import MIN_ALIVE, size_class
from suanli.scheduler.queueing.model import Work
from suanli.scheduler.queueing.policies import Gittins, QueuePolicy

Merged = dict[int, list[float]]  # a size's samples over all tenants (-1: all), ascending
# Each sample sequence's prefix sums, by the sequence's id (kept with it): one decision's.
Sums = dict[int, tuple[Sequence[float], list[float]]]


def expected_remaining(
    policy: Gittins, w: Work, merged: Merged | None = None, sums: Sums | None = None
) -> float:
    """``w``'s expected remaining service at what it has attained, ``E[S - a | S > a]``
    over the finished jobs of its class (its tenant and size), else of its size over all
    tenants, else of all finished jobs, the first where ``MIN_ALIVE`` ran past ``a``. Past
    every one of them (finished jobs are the short ones early in a history), ``a`` itself:
    a job that has run ``a`` is expected to run about as long again (the median rule of a
    heavy tail; an assumption, not tuned). inf where nothing is learnt yet (no table, or
    no finished job for work that has not run). ``merged``, ``sums``: caches for one
    decision (merged samples by size, -1 for all; prefix sums by sequence)."""
    table = policy.table
    if table is None:
        return math.inf
    size = size_class(w.accelerators)
    a = max(w.attained, 0.0)
    kept: Sums = {} if sums is None else sums
    own = table.samples.get((w.tenant, size))
    if own is not None:
        left = _remaining(own, a, kept)
        if left is not None:
            return left
    cache: Merged = {} if merged is None else merged
    for key, parts in ((size, table.sizes.get(size)), (-1, table.everything)):
        if not parts:
            continue
        wide = cache.get(key)
        if wide is None:
            wide = cache[key] = sorted(itertools.chain(*parts))
        left = _remaining(wide, a, kept)
        if left is not None:
            return left
    return a if a > 0 else math.inf  # a fresh job of nothing known: no gain to weigh


def _remaining(samples: Sequence[float], a: float, sums: Sums) -> float | None:
    """``E[S - a | S > a]`` over ``samples`` (ascending); None: fewer than ``MIN_ALIVE``
    of them exceed ``a``."""
    lo = bisect.bisect_right(samples, a)
    alive = len(samples) - lo
    if alive < MIN_ALIVE:
        return None
    hit = sums.get(id(samples))
    if hit is None or hit[0] is not samples:
        hit = sums[id(samples)] = (samples, list(itertools.accumulate(samples, initial=0.0)))
    prefix = hit[1]
    return (prefix[-1] - prefix[lo]) / alive - a


def thrown_away(w: Work, now: float) -> float:
    """Service a restart of running ``w`` throws away: its current attempt's."""
    ran = max(now - (w.started if w.started is not None else now), 0.0)
    return min(ran * w.cards * w.speed, max(w.attained, 0.0))


@dataclass(slots=True)
class RestartPrice:
    """One decision's price: built from its waiting work, asked per running work that does
    not resume. The best waiting work's expected remaining service is found on first ask."""

    policy: Gittins
    factor: float
    waiting: Sequence[Work]
    _best: float | None = field(default=None, init=False)
    _merged: Merged = field(default_factory=dict, init=False)
    _sums: Sums = field(default_factory=dict, init=False)

    def best_waiting(self) -> float:
        if self._best is None:
            expected = (
                expected_remaining(self.policy, w, self._merged, self._sums) for w in self.waiting
            )
            self._best = min(expected, default=math.inf)
        return self._best

    def pays(self, w: Work, now: float) -> bool:
        """Whether stopping running ``w`` for the best waiting work gains more than the
        restart costs (``factor`` x the service thrown away)."""
        mine = expected_remaining(self.policy, w, self._merged, self._sums)
        best = self.best_waiting()
        return math.isfinite(mine - best) and mine - best > self.factor * thrown_away(w, now)


def restart_price(policy: QueuePolicy, waiting: Sequence[Work]) -> RestartPrice | None:
    """The decision's price of a restart; None where non-resuming work is never stopped for
    a rank (no factor set, a policy without a learnt table, nothing waiting)."""
    factor = policy.settings.restart_price
    if factor is None or not waiting or not policy.preemptive:
        return None
    if not isinstance(policy, Gittins) or policy.table is None:
        return None
    return RestartPrice(policy, factor, waiting)

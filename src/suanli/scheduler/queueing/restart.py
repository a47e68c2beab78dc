"""The price of a restart: when running work that does not resume may be stopped for a rank.

Work that does not checkpoint (``Work.resumes`` False) loses the service of its current
attempt when it is stopped: its next attempt starts from zero. ADR 0002 pinned such work
against every rank; ADR 0003 prices the restart instead, for the default policy only (the
one that knows each class's expected remaining service from finished jobs):

    stop it for a rank only if  E[R_running] - E[R_best waiting] > factor x thrown away

``E[R]`` is a work's expected remaining service (normalised accelerator-seconds) at what it
has attained, ``E[S - a | S > a]`` over the finished jobs the default's index learns from
(its class's, else its size's: ``gittins.py``; at the exact service, not the index's
coarse levels, since a long job's expectation grows with what it has run), with the
decision's unfinished work (running, or waiting after a partial run) as right-censored
samples: a Kaplan-Meier estimate, since early in a history the finished jobs are the short
ones and the tail is the work still running (``Censored``); "thrown away"
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from suanli.scheduler.queueing.gittins import MIN_ALIVE, Floats, size_class
from suanli.scheduler.queueing.model import Work
from suanli.scheduler.queueing.policies import Gittins, QueuePolicy

Merged = dict[int, list[float]]  # a size's samples over all tenants (-1: all), ascending
# Each sample sequence's prefix sums, by the sequence's id (kept with it): one decision's.
Sums = dict[int, tuple[Sequence[float], list[float]]]
# A Kaplan-Meier curve: observation points ascending, survival just after each, the area
# under the survival from 0 to each point.
Curve = tuple[Floats, Floats, Floats]


def expected_remaining(
    policy: Gittins,
    w: Work,
    merged: Merged | None = None,
    sums: Sums | None = None,
    censored: Censored | None = None,
) -> float:
    """``w``'s expected remaining service at what it has attained, ``E[S - a | S > a]``
    over the finished jobs of its class (its tenant and size), else of its size over all
    tenants, else of all finished jobs, the first where ``MIN_ALIVE`` ran past ``a``.

    ``censored``: the attained service of work not finished yet (running, or waiting after
    a partial run), by the same classes: each says only ``S > attained``. With it the
    expectation is a Kaplan-Meier one (``_km_remaining``): finished jobs are early in a
    history the short ones, and the work still running past them is the tail they miss.
    Past every sample (finished or not), ``a`` itself: a job that has run ``a`` is
    expected to run about as long again (the median rule of a heavy tail; an assumption,
    not tuned). inf where nothing is learnt yet (no table, or no finished job for work
    that has not run). ``merged``, ``sums``: caches for one decision (merged samples by
    size, -1 for all; prefix sums and curves by sequence)."""
    table = policy.table
    if table is None:
        return math.inf
    size = size_class(w.accelerators)
    a = max(w.attained, 0.0)
    kept: Sums = {} if sums is None else sums
    cut = censored or Censored()
    own = table.samples.get((w.tenant, size))
    if own is not None:
        left = _km_remaining(own, cut, (w.tenant, size), a, kept)
        if left is not None:
            return left
    cache: Merged = {} if merged is None else merged
    for key, parts in ((size, table.sizes.get(size)), (-1, table.everything)):
        if not parts:
            continue
        wide = cache.get(key)
        if wide is None:
            wide = cache[key] = sorted(itertools.chain(*parts))
        left = _km_remaining(wide, cut, key, a, kept)
        if left is not None:
            return left
    return a if a > 0 else math.inf  # a fresh job of nothing known: no gain to weigh


@dataclass(slots=True)
class Censored:
    """One decision's unfinished work as right-censored samples (``S > attained``), sorted,
    by class: (tenant, size), a size (int) over all tenants, and -1 for all."""

    by: dict[object, list[float]] = field(default_factory=dict)
    # Kaplan-Meier curves built this decision, by the ids of (finished, censored) samples.
    curves: dict[tuple[int, int], tuple[Sequence[float], Curve]] = field(default_factory=dict)

    @classmethod
    def of_work(cls, works: Iterable[Work]) -> Censored:
        by: dict[object, list[float]] = {}
        for w in works:
            if w.attained > 0:
                size = size_class(w.accelerators)
                for key in ((w.tenant, size), size, -1):
                    by.setdefault(key, []).append(w.attained)
        for samples in by.values():
            samples.sort()
        return cls(by)

    def of(self, key: object) -> Sequence[float]:
        return self.by.get(key, ())

    def curve(self, done: Sequence[float], cut: Sequence[float]) -> Curve:
        """The Kaplan-Meier curve of ``done`` (events) and ``cut`` (censored), built once a
        decision. Ties: events before censored samples (those are still at risk at the
        event), each event one step (their product is the tied step)."""
        hit = self.curves.get((id(done), id(cut)))
        if hit is not None and hit[0] is done:
            return hit[1]
        xs = np.concatenate(
            (np.asarray(done, dtype=np.float64), np.asarray(cut, dtype=np.float64))
        )
        event = np.concatenate((np.ones(len(done)), np.zeros(len(cut))))
        order = np.lexsort((-event, xs))
        x, e = xs[order], event[order]
        at_risk = len(x) - np.arange(len(x), dtype=np.float64)
        surv: Floats = np.cumprod(1.0 - e / at_risk, dtype=np.float64)
        left = np.concatenate(([1.0], surv[:-1]))  # the survival over each step's width
        area = np.cumsum(left * np.diff(x, prepend=0.0))
        curve = (x, surv, area)
        self.curves[(id(done), id(cut))] = (done, curve)
        return curve


def _km_remaining(
    done: Sequence[float], censored: Censored, key: object, a: float, sums: Sums
) -> float | None:
    """``E[S - a | S > a]`` from finished services ``done`` and the censored ones of class
    ``key`` in ``censored`` (both ascending): the area under the Kaplan-Meier survival past ``a`` over the survival at
    ``a``, and where the curve has not fallen to 0 at the last sample ``x``, the rest it
    keeps times ``x`` (run as long again past it). Without censored samples, the plain
    mean over the finished jobs that ran past ``a`` (``_remaining``). None: fewer than
    ``MIN_ALIVE`` samples, finished or not, exceed ``a``."""
    cut = censored.of(key)
    if not cut:
        return _remaining(done, a, sums)
    x, surv, area = censored.curve(done, cut)
    n = len(x)
    k = int(np.searchsorted(x, a, side="right"))  # samples at or below a
    if n - k < MIN_ALIVE:
        return None
    before = float(surv[k - 1]) if k else 1.0
    if before <= 0.0:
        return None
    at_a = (float(area[k - 1]) if k else 0.0) + before * (a - (float(x[k - 1]) if k else 0.0))
    last = float(x[-1])
    tail = float(area[-1]) - at_a + float(surv[-1]) * last
    return tail / before


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
    """One decision's price: built from its waiting and running work, asked per running
    work that does not resume. The best waiting work's expected remaining service is found
    on first ask; unfinished work (running, or waiting after a partial run) counts as
    censored samples of its class (``Censored``)."""

    policy: Gittins
    factor: float
    waiting: Sequence[Work]
    running: Sequence[Work] = ()
    _best: float | None = field(default=None, init=False)
    _merged: Merged = field(default_factory=dict, init=False)
    _sums: Sums = field(default_factory=dict, init=False)
    _censored: Censored | None = field(default=None, init=False)
    # Expectations by what they depend on (tenant, size class, attained): most waiting work
    # is fresh, so a decision asks about few distinct ones.
    _known: dict[tuple[str, int, float], float] = field(default_factory=dict, init=False)

    def expected(self, w: Work) -> float:
        key = (w.tenant, size_class(w.accelerators), max(w.attained, 0.0))
        hit = self._known.get(key)
        if hit is not None:
            return hit
        cut = self._censored
        if cut is None:
            works = itertools.chain(self.running, self.waiting)
            cut = self._censored = Censored.of_work(works)
        found = self._known[key] = expected_remaining(
            self.policy, w, self._merged, self._sums, cut
        )
        return found

    def best_waiting(self) -> float:
        if self._best is None:
            self._best = min(map(self.expected, self.waiting), default=math.inf)
        return self._best

    def pays(self, w: Work, now: float) -> bool:
        """Whether stopping running ``w`` for the best waiting work gains more than the
        restart costs (``factor`` x the service thrown away)."""
        mine = self.expected(w)
        best = self.best_waiting()
        return math.isfinite(mine - best) and mine - best > self.factor * thrown_away(w, now)


def restart_price(
    policy: QueuePolicy, waiting: Sequence[Work], running: Sequence[Work] = ()
) -> RestartPrice | None:
    """The decision's price of a restart; None where non-resuming work is never stopped for
    a rank (no factor set, a policy without a learnt table, nothing waiting). ``running``:
    the decision's listed running work: with ``waiting``, censored samples of the tail."""
    factor = policy.settings.restart_price
    if factor is None or not waiting or not policy.preemptive:
        return None
    if not isinstance(policy, Gittins) or policy.table is None:
        return None
    return RestartPrice(policy, factor, waiting, running)

"""Gittins index of attained service, learned from the service of jobs that finished.

No job's run time is known, but the queue has seen how much service (normalised
accelerator-seconds) the jobs before it took. For a job that has attained ``a`` of a class
whose service ``S`` follows that history, the Gittins index is

    G(a) = max over b > a of  P(S <= b | S > a) / E[min(S, b) - a | S > a]

the best rate, per unit of service spent, at which running it finishes jobs. Serving the
highest index first minimises mean response time in a single-server queue for a known
service distribution with no per-job knowledge (Gittins; Aalto, Ayesta and Righter), and
Tiresias (NSDI'19) uses it for GPU clusters. Least-attained-service is the special case
of a decreasing hazard rate: there the index only falls with service. Where a class's
jobs tend to finish soon after some amount of service (a mode), or one class finishes
sooner per accelerator-second than another, the index says so and least-attained does not.

Classes: a job's tenant and its gang size (sizes grouped by powers of two). A class with
too few finished jobs borrows the history of its size over all tenants, then of all jobs,
then a prior (log-uniform service, whose index falls with service: least-attained order).

Quanta or not: the index above assumes a job stopped after a quantum keeps what it did (a
checkpoint) and may go on later. Where a stopped attempt restarts from zero (jobs that do
not checkpoint; the simulated engine), a gamble on a quantum that fails costs the whole
quantum again, and the index that fits is the rate of running to the end,
``1 / E[S - a | S > a]`` (with ``a`` 0: Smith's rule on each class's mean service, as
Helios' QSSF ranks): ``table_of(..., quanta=False)``.

Pure: a ``ServiceHistory`` (built by the driver from finished jobs: the simulator from
those it finished, the live server from the store) in, an index table out.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

MIN_SAMPLES = 20  # a class with fewer finished jobs borrows a wider class's history
MIN_ALIVE = 5  # ... and so does a point that fewer of its finished jobs ran past
KEEP = 2_000  # finished jobs kept per class (the most recent): the history follows change
PRIOR = tuple(10.0 ** (k / 4) for k in range(8, 33))  # 100 .. 1e8, log-uniform

Samples = tuple[float, ...]  # service of finished jobs, sorted ascending
Floats = npt.NDArray[np.float64]
LONG = 4_096  # merged samples from this many on are sorted and summed in numpy


def size_class(accelerators: int) -> int:
    """Gang sizes grouped by powers of two: 1, 2, 3-4, 5-8, ... (0, 1, 2, 3, ...)."""
    return max(accelerators - 1, 0).bit_length()


@dataclass(frozen=True)
class ServiceHistory:
    """Service (normalised accelerator-seconds) of finished jobs, per (tenant, size class),
    each sorted ascending. Built with ``history_of``; compared by identity by drivers."""

    samples: Mapping[tuple[str, int], tuple[float, ...]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(len(s) for s in self.samples.values())


def history_of(finished: Iterable[tuple[str, int, float]], keep: int = KEEP) -> ServiceHistory:
    """History from finished jobs as (tenant, accelerators, service), oldest first: the
    last ``keep`` of each class are kept."""
    builder = HistoryBuilder(keep)
    for tenant, accelerators, service in finished:
        builder.add(tenant, accelerators, service)
    return builder.history()


ENDS = tuple(2.0 ** (k / 2) for k in range(61))  # quantum ends: 1 .. ~1.07e9, x1.41


class HistoryBuilder:
    """A history kept up to date as jobs finish (the last ``keep`` of each class), each
    class's samples kept sorted as they come and go. ``history`` copies only the classes
    that changed since the last call: the others keep their very samples tuple, which
    ``table_of`` recognises to reuse their index rows."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self.by: dict[tuple[str, int], deque[float]] = {}
        self.added = 0
        self._ordered: dict[tuple[str, int], list[float]] = {}
        self._sorted: dict[tuple[str, int], Samples] = {}
        self._changed: set[tuple[str, int]] = set()
        self._nans: dict[tuple[str, int], int] = {}

    def add(self, tenant: str, accelerators: int, service: float) -> None:
        key = (tenant, size_class(accelerators))
        kept = self.by.get(key)
        if kept is None:
            kept = self.by[key] = deque(maxlen=self.keep)
            self._ordered[key] = []
        ordered = self._ordered[key]
        value = max(service, 0.0)
        gone = kept[0] if len(kept) == self.keep else None  # the oldest goes
        kept.append(value)
        odd = (value != value) - (gone is not None and gone != gone)  # NaN in, NaN out
        self._nans[key] = nans = self._nans.get(key, 0) + odd
        if nans or odd:  # a NaN does not bisect: sorted as ``sorted`` has it
            ordered[:] = sorted(kept)
        else:
            if gone is not None:
                del ordered[bisect.bisect_left(ordered, gone)]
            bisect.insort(ordered, value)
        self._changed.add(key)
        self.added += 1

    def history(self) -> ServiceHistory:
        for key in self._changed:
            self._sorted[key] = tuple(self._ordered[key])
        self._changed.clear()
        return ServiceHistory({k: self._sorted[k] for k in self.by})


def gittins(
    samples: Sequence[float] | Floats, points: Sequence[float], quanta: bool = True
) -> list[float]:
    """The Gittins index at each of ``points`` (attained service, ascending), for service
    distributed as ``samples`` (sorted ascending). Quanta end at the later points, on a
    geometric grid (``ENDS``, steps of 1.41x) and at infinity; ``quanta`` False: at
    infinity only (the rate of running to the end, ``1 / E[S - a | S > a]``)."""
    n = len(samples)
    grid = sorted({*ENDS, *points})
    prefix: Sequence[float] | Mapping[int, float]
    cut: Mapping[float, int] | None = None
    if isinstance(samples, np.ndarray):
        # Long (``_merged``): where each grid point falls and the prefix sums there, in
        # numpy (np.cumsum adds as accumulate does: one after the other, in order).
        cuts = np.searchsorted(samples, np.asarray(grid, dtype=np.float64), side="right")
        cut = dict(zip(grid, cuts.tolist(), strict=True))
        at = sorted({0, n, *cut.values()})
        sums = np.cumsum(np.concatenate(([0.0], samples)))[at].tolist()
        prefix = dict(zip(at, sums, strict=True))
    else:
        prefix = list(itertools.accumulate(samples, initial=0.0))  # as 0.0 + s0 + s1 + ...
    out: list[float] = []
    for a in points:
        lo = bisect.bisect_right(samples, a) if cut is None else cut[a]  # [lo:] survive a
        alive = n - lo
        if alive < MIN_ALIVE:
            out.append(math.nan)  # too few ever ran this long to tell: a wider class says
            continue
        best = alive / (prefix[n] - prefix[lo] - alive * a)  # run to the end
        if not quanta:
            out.append(best)
            continue
        for b in itertools.islice(grid, bisect.bisect_right(grid, a), None):
            j = bisect.bisect_right(samples, b, lo) if cut is None else cut[b]  # finish by b
            if j == n:
                break  # every survivor finishes: the run-to-the-end ratio above
            done = j - lo
            spent = (prefix[j] - prefix[lo]) - done * a + (n - j) * (b - a)
            if done and done / spent > best:
                best = done / spent
        out.append(best)
    return out


Row = tuple[float, ...]


@dataclass(frozen=True)
class GittinsTable:
    """The index at each point of ``points`` for every class the history knows; classes it
    does not know fall back to their size over all tenants, all jobs, then the prior.

    A row depends on its samples and the points alone: the fallback rows (a size's, all
    jobs') are computed when first needed, and ``table_of`` carries over the rows of the
    table it is given whose samples did not change."""

    points: tuple[float, ...]
    by_class: Mapping[tuple[str, int], Row]
    quanta: bool = True  # ``gittins``' quanta: False, the run-to-the-end rate
    # The samples behind the rows: each class's with a row of its own, the classes' of each
    # size that has ``MIN_SAMPLES`` jobs in all, and every class's.
    samples: Mapping[tuple[str, int], Samples] = field(default_factory=dict, repr=False)
    sizes: Mapping[int, tuple[Samples, ...]] = field(default_factory=dict, repr=False)
    everything: tuple[Samples, ...] = field(default=(), repr=False)
    _by_size: dict[int, Row] = field(default_factory=dict, init=False, repr=False)
    _overall: list[Row] = field(default_factory=list, init=False, repr=False)
    # Each class's samples as a numpy array, by the tuple's id (the tuple kept with it).
    _arrays: dict[int, tuple[Samples, Floats]] = field(
        default_factory=dict, init=False, repr=False
    )
    # Each (tenant, accelerators)'s index at every point, resolved on first use.
    _rows: dict[tuple[str, int], Row] = field(default_factory=dict, init=False, repr=False)

    def index(self, tenant: str, accelerators: int, point: int) -> float:
        row = self._rows.get((tenant, accelerators))
        if row is None:
            row = self._rows[(tenant, accelerators)] = self._resolve(tenant, accelerators)
        return row[point] if point < len(row) else row[-1]

    def by_size(self, size: int) -> Row | None:
        """The row of ``size`` over all tenants (None: too few of its jobs finished)."""
        row = self._by_size.get(size)
        if row is None and size in self.sizes:
            merged = self._merged(self.sizes[size])
            row = self._by_size[size] = tuple(gittins(merged, self.points, self.quanta))
        return row

    def overall(self) -> Row:
        """The row of all jobs (the prior's while fewer than ``MIN_SAMPLES`` finished)."""
        if not self._overall:
            count = sum(len(p) for p in self.everything)
            base = self._merged(self.everything) if count >= MIN_SAMPLES else PRIOR
            self._overall.append(tuple(gittins(base, self.points, self.quanta)))
        return self._overall[0]

    def _resolve(self, tenant: str, accelerators: int) -> Row:
        size = size_class(accelerators)
        own = self.by_class.get((tenant, size))
        out = []
        for point in range(len(self.points)):
            value = own[point] if own is not None else math.nan
            if math.isnan(value):
                wide = self.by_size(size)
                value = wide[point] if wide is not None else math.nan
            if math.isnan(value):
                value = self.overall()[point]
            # NaN: ran longer than nearly any finished job: last (least-attained order)
            out.append(0.0 if math.isnan(value) else value)
        return tuple(out)

    def _carry(self, previous: GittinsTable) -> None:
        """Take ``previous``'s fallback rows (same points) whose samples are unchanged."""
        for size, row in previous._by_size.items():
            if _same(previous.sizes.get(size), self.sizes.get(size)):
                self._by_size[size] = row
        if previous._overall and _same(previous.everything, self.everything):
            self._overall.append(previous._overall[0])
        arrays = previous._arrays
        for part in self.everything:
            hit = arrays.get(id(part))
            if hit is not None and hit[0] is part:
                self._arrays[id(part)] = hit

    def _merged(self, parts: Sequence[Samples]) -> Sequence[float] | Floats:
        """The samples of ``parts`` in one ascending sequence: a numpy array when long (and
        free of NaN, which numpy and ``sorted`` place apart), else a list."""
        count = sum(len(p) for p in parts)
        if count >= LONG:
            arrays = []
            for part in parts:
                hit = self._arrays.get(id(part))
                if hit is None or hit[0] is not part:
                    hit = self._arrays[id(part)] = (part, np.array(part, dtype=np.float64))
                arrays.append(hit[1])
            merged = np.concatenate(arrays)
            if not np.isnan(merged).any():
                merged.sort(kind="stable")  # sorted runs, merged
                return merged
        return sorted(itertools.chain(*parts))


def _same(a: Sequence[Samples] | None, b: Sequence[Samples] | None) -> bool:
    """Whether two lists of samples tuples hold the same samples (tuples of a history that
    did not change are the very same objects: compared by identity first)."""
    return (
        a is not None
        and b is not None
        and len(a) == len(b)
        and all(x is y or x == y for x, y in zip(a, b, strict=True))
    )


def table_of(
    history: ServiceHistory,
    points: Sequence[float],
    previous: GittinsTable | None = None,
    quanta: bool = True,
) -> GittinsTable:
    """Index rows for ``history``'s classes at ``points`` (the policy's service levels, 0
    first): a class needs ``MIN_SAMPLES`` finished jobs of its own to get its own row.
    ``previous`` (a table of an earlier history): its rows are reused where the samples
    they were computed from are unchanged. ``quanta``: as ``gittins``."""
    pts = tuple(points)
    same = previous is not None and previous.points == pts and previous.quanta == quanta
    prev = previous if same else None
    members: dict[int, list[Samples]] = defaultdict(list)
    by_class: dict[tuple[str, int], Row] = {}
    own: dict[tuple[str, int], Samples] = {}
    for key, samples in history.samples.items():
        members[key[1]].append(samples)
        if len(samples) >= MIN_SAMPLES:
            was = prev.samples.get(key) if prev is not None else None
            if prev is not None and was is not None and (was is samples or was == samples):
                by_class[key] = prev.by_class[key]
            else:
                by_class[key] = tuple(gittins(samples, pts, quanta))
            own[key] = samples
    sizes = {
        size: tuple(parts)
        for size, parts in members.items()
        if sum(len(p) for p in parts) >= MIN_SAMPLES
    }
    table = GittinsTable(pts, by_class, quanta, own, sizes, tuple(history.samples.values()))
    if prev is not None:
        table._carry(prev)
    return table

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

MIN_SAMPLES = 20  # a class with fewer finished jobs borrows a wider class's history
MIN_ALIVE = 5  # ... and so does a point that fewer of its finished jobs ran past
KEEP = 2_000  # finished jobs kept per class (the most recent): the history follows change
PRIOR = tuple(10.0 ** (k / 4) for k in range(8, 33))  # 100 .. 1e8, log-uniform


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
    """A history kept up to date as jobs finish (the last ``keep`` of each class). Each
    ``history`` sorts only the classes that changed since the last one: the others keep
    their very samples tuple, which ``table_of`` recognises to reuse their index rows."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self.by: dict[tuple[str, int], deque[float]] = {}
        self.added = 0
        self._sorted: dict[tuple[str, int], tuple[float, ...]] = {}
        self._changed: set[tuple[str, int]] = set()

    def add(self, tenant: str, accelerators: int, service: float) -> None:
        key = (tenant, size_class(accelerators))
        kept = self.by.get(key)
        if kept is None:
            kept = self.by[key] = deque(maxlen=self.keep)
        kept.append(max(service, 0.0))
        self._changed.add(key)
        self.added += 1

    def history(self) -> ServiceHistory:
        for key in self._changed:
            self._sorted[key] = tuple(sorted(self.by[key]))
        self._changed.clear()
        return ServiceHistory({k: self._sorted[k] for k in self.by})


def gittins(samples: Sequence[float], points: Sequence[float]) -> list[float]:
    """The Gittins index at each of ``points`` (attained service, ascending), for service
    distributed as ``samples`` (sorted ascending). Quanta end at the later points, on a
    geometric grid (``ENDS``, steps of 1.41x) and at infinity."""
    n = len(samples)
    prefix = list(itertools.accumulate(samples, initial=0.0))  # as 0.0 + s0 + s1 + ...
    grid = sorted({*ENDS, *points})
    out: list[float] = []
    for a in points:
        lo = bisect.bisect_right(samples, a)  # samples[lo:] survive a
        alive = n - lo
        if alive < MIN_ALIVE:
            out.append(math.nan)  # too few ever ran this long to tell: a wider class says
            continue
        best = alive / (prefix[n] - prefix[lo] - alive * a)  # run to the end
        for b in itertools.islice(grid, bisect.bisect_right(grid, a), None):
            j = bisect.bisect_right(samples, b, lo)  # samples[lo:j] finish by b
            if j == n:
                break  # every survivor finishes: the run-to-the-end ratio above
            done = j - lo
            spent = (prefix[j] - prefix[lo]) - done * a + (n - j) * (b - a)
            if done and done / spent > best:
                best = done / spent
        out.append(best)
    return out


Samples = tuple[float, ...]


@dataclass(frozen=True)
class _Sources:
    """What a table's rows were computed from (the samples tuples, by reference)."""

    by_class: Mapping[tuple[str, int], Samples]
    by_size: Mapping[int, tuple[Samples, ...]]
    overall: tuple[Samples, ...]


@dataclass(frozen=True)
class GittinsTable:
    """The index at each point of ``points`` for every class the history knows; classes it
    does not know fall back to their size over all tenants, all jobs, then the prior."""

    points: tuple[float, ...]
    by_class: Mapping[tuple[str, int], tuple[float, ...]]
    by_size: Mapping[int, tuple[float, ...]]
    overall: tuple[float, ...]
    sources: _Sources | None = field(default=None, compare=False, repr=False)

    def index(self, tenant: str, accelerators: int, point: int) -> float:
        size = size_class(accelerators)
        point = min(point, len(self.points) - 1)
        for row in (self.by_class.get((tenant, size)), self.by_size.get(size), self.overall):
            if row is not None and not math.isnan(row[point]):
                return row[point]
        return 0.0  # ran longer than nearly any finished job: last (least-attained order)


def _same(a: Sequence[Samples] | None, b: Sequence[Samples]) -> bool:
    """Whether two lists of samples tuples hold the same samples (tuples of a history that
    did not change are the very same objects: compared by identity first)."""
    return (
        a is not None
        and len(a) == len(b)
        and all(x is y or x == y for x, y in zip(a, b, strict=True))
    )


def table_of(
    history: ServiceHistory, points: Sequence[float], previous: GittinsTable | None = None
) -> GittinsTable:
    """Index rows for ``history``'s classes at ``points`` (the policy's service levels, 0
    first): a class needs ``MIN_SAMPLES`` finished jobs of its own to get its own row.
    ``previous`` (a table of an earlier history): its rows are reused where the samples
    they were computed from are unchanged (a row depends on its samples and points alone)."""
    pts = tuple(points)
    prev = previous if previous is not None and previous.points == pts else None
    old = prev.sources if prev is not None else None
    members: dict[int, list[Samples]] = defaultdict(list)
    by_class: dict[tuple[str, int], tuple[float, ...]] = {}
    class_src: dict[tuple[str, int], Samples] = {}
    for key, samples in history.samples.items():
        members[key[1]].append(samples)
        if len(samples) >= MIN_SAMPLES:
            was = old.by_class.get(key) if old is not None else None
            if prev is not None and was is not None and (was is samples or was == samples):
                by_class[key] = prev.by_class[key]
            else:
                by_class[key] = tuple(gittins(samples, pts))
            class_src[key] = samples
    by_size: dict[int, tuple[float, ...]] = {}
    size_src: dict[int, tuple[Samples, ...]] = {}
    for size, parts in members.items():
        if sum(len(p) for p in parts) < MIN_SAMPLES:
            continue
        size_src[size] = tuple(parts)
        if prev is not None and old is not None and _same(old.by_size.get(size), parts):
            by_size[size] = prev.by_size[size]
        else:
            by_size[size] = tuple(gittins(sorted(itertools.chain(*parts)), pts))
    everything = tuple(history.samples.values())
    if prev is not None and old is not None and _same(old.overall, everything):
        overall = prev.overall
    else:
        count = sum(len(p) for p in everything)
        base = sorted(itertools.chain(*everything)) if count >= MIN_SAMPLES else list(PRIOR)
        overall = tuple(gittins(base, pts))
    return GittinsTable(pts, by_class, by_size, overall, _Sources(class_src, size_src, everything))

"""The old replay's queues (``sim.replay.Replay``): its jobs, per-class waiting work and
the domains (tenants and pools that share capacity) each decision covers."""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from suanli.domain.tenants import TenantTerms
from suanli.scheduler.queueing import Plan, PoolView, QueuePolicy, Work
from suanli.scheduler.queueing.policies import Key
from suanli.sim.traces import TraceJob


@dataclass(slots=True)
class _Job:
    trace: TraceJob
    work: Work
    best_rate: float
    done: float = 0.0  # work units done
    mark: float = 0.0  # accounting done up to here
    resume_at: float = 0.0  # restart overhead ends
    token: int = 0  # invalidates a stale finish
    first_start: float | None = None
    end: float | None = None
    ran: float = 0.0  # seconds holding accelerators
    attempt_start: float = 0.0
    domain: int = 0
    start_seq: int = 0  # order of this attempt's start among the running (listing order)
    # A move's target (pool, nodes, borrowed), promised to the job while it stops:
    move_to: tuple[str, tuple[tuple[int, int], ...], bool] | None = None


class _Queue:
    """One domain's waiting work, by class (tenant, accelerators) and the policy's wait
    groups, each group kept sorted: a decision is shown only the head of each class.

    Why the head is enough: inside a class, once one job is refused (no room, over quota or
    behind a blocked head) every later one is refused too, and a refused job changes
    nothing for the others. So a class cut after ``k`` jobs decides exactly as the whole
    class does as soon as one of the ``k`` is refused; the replay checks that and widens
    the cut when it is not so.
    """

    def __init__(self, policy: QueuePolicy) -> None:
        self._policy = policy
        self.works: dict[str, Work] = {}
        self.classes: dict[tuple[str, int], dict[Key, list[tuple[Key, str]]]] = {}
        self.sizes: dict[tuple[str, int], int] = defaultdict(int)  # waiting jobs per class
        self.demand: dict[str, int] = defaultdict(int)  # waiting accelerators per tenant
        # Waiting work's keys hold until the policy's ``next_change`` (nothing else about
        # waiting work changes), so heads are remembered: each work's key, valid before an
        # instant, and each class's last heads (k, valid before, jobs, keys), kept while work
        # comes and goes behind the first k of every group (the only jobs heads looks at).
        self.keyed: dict[str, tuple[Key, float]] = {}
        self.shown: dict[tuple[str, int], tuple[int, float, list[Work], list[Key]]] = {}

    @property
    def policy(self) -> QueuePolicy:
        return self._policy

    @policy.setter
    def policy(self, policy: QueuePolicy) -> None:
        self._policy = policy
        self.keyed.clear()
        self.shown.clear()

    def __len__(self) -> int:
        return len(self.works)

    def add(self, w: Work) -> None:
        self.works[w.id] = w
        self.demand[w.tenant] += w.accelerators
        group, order = self.policy.wait_order(w)
        cls = (w.tenant, w.accelerators)
        entries = self.classes.setdefault(cls, {}).setdefault(group, [])
        i = bisect.bisect_left(entries, (order, w.id))
        entries.insert(i, (order, w.id))
        self.sizes[cls] += 1
        self._touched(cls, i)

    def remove(self, w: Work) -> None:
        del self.works[w.id]
        self.keyed.pop(w.id, None)
        self.demand[w.tenant] -= w.accelerators
        group, order = self.policy.wait_order(w)
        cls = (w.tenant, w.accelerators)
        entries = self.classes[cls][group]
        i = bisect.bisect_left(entries, (order, w.id))
        del entries[i]
        self.sizes[cls] -= 1
        self._touched(cls, i)
        if not entries:
            del self.classes[cls][group]
            if not self.classes[cls]:
                del self.classes[cls]
                del self.sizes[cls]

    def _touched(self, cls: tuple[str, int], i: int) -> None:
        """Work came or went at index ``i`` of one of ``cls``'s groups."""
        last = self.shown.get(cls)
        if last is not None and i < last[0]:
            del self.shown[cls]

    def fewest(self) -> int:
        """The fewest accelerators a waiting job asks for (0: none waits)."""
        return min((n for _, n in self.classes), default=0)

    def smallest(self, tenant: str) -> int:
        """The fewest accelerators a waiting job of ``tenant`` asks for (0: none waits)."""
        return min((n for t, n in self.classes if t == tenant), default=0)

    def heads(self, k: int, now: float) -> tuple[list[Work], list[Key], list[list[Work]]]:
        """Up to ``k`` first jobs of each class (in key order at ``now``), their keys, and
        the classes that were cut (their given jobs), to be checked after the decision.
        The least key is the first waiting job's: each group's first is among them."""
        out: list[Work] = []
        keys: list[Key] = []
        cut: list[list[Work]] = []
        works, shown, sizes = self.works, self.shown, self.sizes
        for cls, groups in self.classes.items():
            last = shown.get(cls)
            if last is not None and last[0] == k and now < last[1]:
                _, _, chosen, ranks = last
            else:
                if len(groups) == 1:
                    entries = next(iter(groups.values()))
                    chosen = [works[i] for _, i in entries[:k]]
                    ranks, until = self._keys(chosen, now)
                else:
                    pool = [works[i] for entries in groups.values() for _, i in entries[:k]]
                    pool_keys, until = self._keys(pool, now)
                    ranked = sorted(zip(pool_keys, pool, strict=True), key=_first)[:k]
                    chosen = [w for _, w in ranked]
                    ranks = [r for r, _ in ranked]
                shown[cls] = (k, until, chosen, ranks)
            out.extend(chosen)
            keys.extend(ranks)
            if sizes[cls] > k:
                cut.append(chosen)
        return out, keys, cut

    def _keys(self, works: list[Work], now: float) -> tuple[list[Key], float]:
        """``works``' keys at ``now``, and the first instant one of them changes (inf: never)."""
        keyed, policy = self.keyed, self.policy
        out: list[Key] = []
        until = math.inf
        for w in works:
            hit = keyed.get(w.id)
            if hit is None or now >= hit[1]:
                change = policy.next_change(w, now)
                hit = keyed[w.id] = (policy.key(w, now), math.inf if change is None else change)
            out.append(hit[0])
            if hit[1] < until:
                until = hit[1]
        return out, until


@dataclass
class _Domain:
    pools: list[PoolView]
    tenants: dict[str, TenantTerms]
    waiting: _Queue
    running: dict[str, Work] = field(default_factory=dict)
    held: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    ranks: dict[str, Key] = field(default_factory=dict)  # running work's key when last seen
    # Running work a decision might move, kept between decisions so that listing it costs
    # what is listed, not all running work: own-quota work by key, borrowed work apart
    # (always listed); both preemptible and not stopping.
    ranked: list[tuple[Key, str]] = field(default_factory=list)
    lent: dict[str, Work] = field(default_factory=dict)
    # Bumped by every change a decision could see other than time passing (arrivals,
    # starts, stops, finishes, moves, running work's key); with what the last decision was
    # shown, it tells a decision that would only repeat an empty one.
    version: int = 0
    settled: tuple[int, list[str], list[str], list[Key]] | None = None
    busy: int = 0
    borrowed: int = 0  # running jobs on borrowed quota (reclaimable)

    @cached_property
    def capacity(self) -> int:
        return sum(p.capacity for p in self.pools)

    @cached_property
    def quotas(self) -> list[tuple[str, int]]:
        """(tenant, accelerators of quota, all models) of its tenants that have one."""
        totals = [(name, sum(terms.quota.values())) for name, terms in self.tenants.items()]
        return [(name, quota) for name, quota in totals if quota]

    @cached_property
    def mixed(self) -> bool:
        """Pools of several models: running work may move to a faster one when it frees."""
        return len({p.model for p in self.pools}) > 1


def _all_cut_refused(plan: Plan, cut: list[list[Work]]) -> bool:
    """Whether each cut class had one of its given jobs refused: neither started nor
    admitted to wait for its nodes (a job admitted uses room, so later ones may still fit)."""
    admitted = {s.work.id for s in plan.starts}
    admitted.update(plan.awaiting_nodes)
    return all(any(w.id not in admitted for w in given) for given in cut)


def _month_after(
    start: dt.date, offset: float, months: dict[int, tuple[int, int]]
) -> tuple[int, int]:
    """(year, month) of ``start + timedelta(seconds=offset)``, remembered by day in
    ``months``."""
    day = int(offset // 86400.0)
    if not 0.001 < offset - day * 86400.0 < 86400.0 - 0.001:
        day = dt.timedelta(seconds=offset).days  # by a midnight: as timedelta rounds it
    month = months.get(day)
    if month is None:
        when = start + dt.timedelta(days=day)
        month = months[day] = (when.year, when.month)
    return month


def _first(pair: tuple[Key, Work]) -> Key:
    return pair[0]


def restart_overhead(accelerators: int) -> float:
    """Seconds lost restoring a checkpoint when a preempted job restarts (as Helios models)."""
    if accelerators <= 1:
        return 7.0
    return 30.0 if accelerators <= 8 else 60.0

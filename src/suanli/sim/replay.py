"""Trace replay on a simulated clock, through the live scheduler's queueing core.

Event-driven: arrivals, finishes, stops (a preempted job's engine confirming, after the
grace period) and wake-ups (a job's service level changing). After the events of one
instant, each *domain* they touched (tenants and pools that share capacity, through
pools or a cohort) gets one ``suanli.scheduler.queueing.decide`` and the plan is applied,
as the live scheduling cycle applies it. The simulated engine alone knows how much work a
job has: its run time on a pool is ``work / rate(job class, model)``.

Money goes through the billing core: each attempt is metered when it ends and priced at
its pool's price (``billing.pricing.gross_for``), and each tenant's month of compute on
domestic and other pools is put to the voucher programmes (``billing.vouchers.decide``).
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from suanli.billing.policy import VoucherPolicy
from suanli.domain.clock import Clock
from suanli.domain.errors import FieldError, InvalidInput
from suanli.domain.fleet import Fleet
from suanli.domain.tenants import Attribute, TenantTerms, may_use
from suanli.domain.throughput import UNIFORM, ThroughputTable
from suanli.scheduler.queueing import (
    QUEUE_POLICIES,
    Plan,
    PoolView,
    QueuePolicy,
    QueueSettings,
    QueueView,
    Work,
    decide,
    make_policy,
)
from suanli.scheduler.queueing.gittins import HistoryBuilder, ServiceHistory
from suanli.scheduler.queueing.policies import Key
from suanli.sim.replay_queue import (
    _all_cut_refused,
    _Domain,
    _Job,
    _month_after,
    _Queue,
    restart_overhead,
)
from suanli.sim.replay_report import SAMPLE_S, ReplayReport, replay_report
from suanli.sim.traces import TraceJob

ESTIMATES = ("none", "exact")
REFERENCE_MODEL = "A100"


def check_replay_args(policy: str, estimates: str) -> None:
    errors = []
    if policy not in QUEUE_POLICIES:
        errors.append(FieldError("policy", "not_allowed", policy, ", ".join(QUEUE_POLICIES)))
    if estimates not in ESTIMATES:
        errors.append(FieldError("estimates", "not_allowed", estimates, ", ".join(ESTIMATES)))
    if errors:
        raise InvalidInput("invalid_sim_args", errors=errors, source="suanli sim replay")


@dataclass(frozen=True)
class ReplaySetup:
    fleet: Fleet
    tenants: Mapping[str, TenantTerms]
    settings: QueueSettings = field(default_factory=QueueSettings)
    throughput: ThroughputTable | None = None  # the engine's truth (and the aware policies')
    attributes: Mapping[str, Mapping[str, Attribute]] = field(default_factory=dict)
    vouchers: Sequence[VoucherPolicy] = ()
    billing_start: dt.date = dt.date(2025, 1, 1)


class Replay:
    """One replay of ``jobs`` under ``policy``; ``run`` returns the report."""

    def __init__(
        self, setup: ReplaySetup, policy: str, estimates: str = "none", clock: Clock | None = None
    ) -> None:
        check_replay_args(policy, estimates)
        self.setup = setup
        self.truth = setup.throughput or UNIFORM
        self.policy: QueuePolicy = make_policy(policy, setup.settings, setup.throughput)
        self.estimates = estimates
        self.clock = clock
        self.pools: dict[str, PoolView] = {}
        self.price: dict[str, Decimal] = {}
        self.domestic: dict[str, bool] = {}
        catalog = setup.fleet.catalog
        ref = catalog.get(REFERENCE_MODEL)
        for _, pool in setup.fleet.pools():
            if pool.accelerator is None:
                continue
            model = catalog.get(pool.accelerator)
            speed = (
                model.tflops / ref.tflops
                if model is not None and model.tflops and ref is not None and ref.tflops
                else 1.0
            )
            self.pools[pool.name] = PoolView(
                pool.name,
                pool.accelerator,
                pool.accelerators_per_node,
                [pool.accelerators_per_node] * pool.nodes,
                speed,
            )
            self.price[pool.name] = pool.price_per_accelerator_hour
            self.domestic[pool.name] = bool(model and model.domestic)
        self.domains, self.domain_of = self._partition()

    # -- set-up --------------------------------------------------------------------------

    def _allowed_pools(self, terms: TenantTerms) -> list[str]:
        where = {q.name: c.name for c, q in self.setup.fleet.pools()}  # may_use: cluster names
        return [p for p in self.pools if may_use(terms.pools, where[p], p)]

    def _partition(self) -> tuple[list[_Domain], dict[str, int]]:
        """Tenants and pools that share capacity form one domain (union-find)."""
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        def union(a: str, b: str) -> None:
            parent[find(a)] = find(b)

        tenants = dict(self.setup.tenants) or {"*": TenantTerms("*")}
        for name, terms in tenants.items():
            for pool in self._allowed_pools(terms):
                union("t:" + name, "p:" + pool)
            if terms.cohort is not None:
                union("t:" + name, "c:" + terms.cohort)
        groups: dict[str, int] = {}
        domains: list[_Domain] = []
        domain_of: dict[str, int] = {}
        for name, terms in tenants.items():
            root = find("t:" + name)
            if root not in groups:
                groups[root] = len(domains)
                pools = [p for q, p in self.pools.items() if find("p:" + q) == root]
                domains.append(_Domain(pools, {}, _Queue(self.policy)))
            d = groups[root]
            domain_of[name] = d
            if self.setup.tenants:
                domains[d].tenants[name] = terms
        return domains, domain_of

    def _bound(self, tenant: str, job: TraceJob) -> int:
        """The most accelerators ``tenant`` could ever hold at once (pools and quota)."""
        terms = self.setup.tenants.get(tenant, TenantTerms(tenant))
        capacity = max((self.pools[p].capacity for p in self._allowed_pools(terms)), default=0)
        if not terms.quota:
            return capacity
        quota = sum(terms.quota.values())
        if terms.borrow and terms.cohort is not None:
            quota = sum(
                sum(t.quota.values())
                for t in self.setup.tenants.values()
                if t.cohort == terms.cohort
            )
        return min(capacity, quota)

    # -- the loop ------------------------------------------------------------------------

    def run(self, trace_jobs: Iterable[TraceJob]) -> ReplayReport:
        started_wall = self.clock.monotonic() if self.clock else 0.0
        arrivals: list[_Job] = []
        dropped = rejected = 0
        bound_cache: dict[tuple[str, int], bool] = {}
        best_rate: dict[str | None, float] = {}  # the fastest pool's rate, per job class
        for tj in trace_jobs:
            tenant = tj.tenant if self.setup.tenants else "*"
            if tenant not in self.domain_of:
                dropped += 1
                continue
            key = (tenant, tj.accelerators)
            if key not in bound_cache:
                bound_cache[key] = tj.accelerators <= self._bound(tenant, tj)
            if not bound_cache[key]:
                rejected += 1
                continue
            best = best_rate.get(tj.job_class)
            if best is None:
                best = best_rate[tj.job_class] = max(
                    (self.truth.rate(tj.job_class, p.model) for p in self.pools.values()),
                    default=1.0,
                )
            est = tj.work / best if self.estimates == "exact" else None
            work = Work(
                tj.id,
                tj.tenant,
                tj.accelerators,
                tj.submit,
                tj.priority,
                tj.job_class,
                tj.models,
                est,
                queued_since=tj.submit,
            )
            arrivals.append(_Job(tj, work, best, domain=self.domain_of[tenant]))
        self.jobs = {j.work.id: j for j in arrivals}
        self.events: list[tuple[float, int, int, str, int]] = []
        self.seq = 0
        self.preemptions = 0
        self.moves = 0
        self.decisions = 0
        self.starts = 0
        self.queued = 0
        self.busy = 0  # accelerators held now
        self.capacity = sum(p.capacity for p in self.pools.values())
        self.usage: dict[tuple[str, str, tuple[int, int]], float] = defaultdict(float)
        self.months: dict[int, tuple[int, int]] = {}  # (year, month) by day since t0
        self.series: dict[str, list[float]] = {"t": [], "queued": [], "utilization": []}
        self.next_sample = arrivals[0].trace.submit if arrivals else 0.0
        self.t0 = self.next_sample
        self.busy_integral = 0.0
        self.quota_asked: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # samples, met
        self.last_t = self.t0
        # What finished jobs' service teaches a learning policy, refreshed every LEARN_S.
        self.finished = HistoryBuilder()
        self.history: ServiceHistory | None = None
        self.learned_at = (-math.inf, 0)
        queued = 0
        i, n = 0, len(arrivals)
        while i < n or self.events:
            t = arrivals[i].trace.submit if i < n else math.inf
            if self.events and self.events[0][0] < t:
                t = self.events[0][0]
            self._advance(t, queued)
            dirty: set[int] = set()
            while i < n and arrivals[i].trace.submit == t:
                job = arrivals[i]
                job.mark = t
                self.domains[job.domain].waiting.add(job.work)
                self.domains[job.domain].version += 1
                self.queued += 1
                self._wake_later(job, t)
                dirty.add(job.domain)
                i += 1
            while self.events and self.events[0][0] == t:
                _, _, kind, ident, token = heapq.heappop(self.events)
                d = self._event(kind, ident, token, t)
                if d is not None:
                    dirty.add(d)
            if self.policy.learns and t >= self.learned_at[0] + LEARN_S:
                self._learn(t)
            for d in sorted(dirty):
                self._cycle(d, t)
            queued = self.queued
        return replay_report(self, arrivals, dropped, rejected, started_wall)

    def _learn(self, t: float) -> None:
        """The policy informed by the jobs finished so far; running work reranked under it
        (waiting work keeps its groups: one tenant and size share an index row)."""
        if self.finished.added == self.learned_at[1]:
            return
        self.learned_at = (t, self.finished.added)
        self._adopt(self.finished.history(), t)

    def _adopt(self, history: ServiceHistory, t: float) -> None:
        """Rank by the policy informed by ``history`` from ``t`` on."""
        self.history = history
        self.policy = self.policy.informed(history)
        for dom in self.domains:
            dom.waiting.policy = self.policy
            dom.settled = None
            for w in dom.running.values():
                if not w.stopping:
                    self._rerank(dom, w, self.policy.key(w, t))

    def _push(self, t: float, kind: int, ident: str, token: int) -> None:
        self.seq += 1
        heapq.heappush(self.events, (t, self.seq, kind, ident, token))

    def _advance(self, t: float, queued: int) -> None:
        if t > self.last_t:
            self.busy_integral += self.busy * (t - self.last_t)
            self.last_t = t
        while self.next_sample <= t and self.capacity:
            self.series["t"].append(self.next_sample - self.t0)
            self.series["queued"].append(float(queued))
            self.series["utilization"].append(self.busy / self.capacity)
            self._sample_quota()
            self.next_sample += SAMPLE_S

    def _event(self, kind: int, ident: str, token: int, t: float) -> int | None:
        job = self.jobs[ident]
        if token != job.token:
            return None
        if kind == _WAKE:
            self._account(job, t)
            self._wake_later(job, t)
            dom = self.domains[job.domain]
            return job.domain if (dom.waiting or dom.mixed) and dom.running else None
        w = job.work
        dom = self.domains[job.domain]
        dom.version += 1
        self._account(job, t)
        self._meter(job, t)
        self._release(w, t)
        dom.running.pop(w.id, None)
        if kind == _FINISH:
            job.end = t
            self.finished.add(w.tenant, w.accelerators, w.attained)
        elif job.move_to is not None:  # _STOPPED to move: restart on the promised nodes
            pool, nodes, borrowed = job.move_to
            job.move_to = None
            w.stopping = False
            self._promise(dom, w, pool, nodes, -1)
            self._begin(dom, job, pool, nodes, borrowed, t)
        else:  # _STOPPED: back to the queue with its history
            w.stopping = False
            w.queued_since = t
            dom.waiting.add(w)
            self.queued += 1
            job.token += 1
            self._wake_later(job, t)
        return job.domain

    def _account(self, job: _Job, t: float) -> None:
        """Bring a running job's service, progress and usage up to ``t``."""
        w = job.work
        if w.pool is None or t <= job.mark:
            return
        span = t - job.mark
        if not w.stopping:
            w.attained += w.accelerators * w.speed * span
            productive = t - max(job.mark, job.resume_at)
            if productive > 0:
                rate = self.truth.rate(w.job_class, self.pools[w.pool].model)
                job.done = min(job.done + rate * productive, job.trace.work)
                w.progress_s = job.done / job.best_rate
        job.ran += span
        job.mark = t
        if not w.stopping:
            self._rerank(self.domains[job.domain], w, self.policy.key(w, t))

    def _rerank(self, dom: _Domain, w: Work, key: Key) -> None:
        old = dom.ranks.get(w.id)
        if old == key:
            return
        dom.ranks[w.id] = key
        dom.version += 1
        if w.borrowed or not w.preemptible:
            return
        if old is not None:
            del dom.ranked[bisect.bisect_left(dom.ranked, (old, w.id))]
        bisect.insort(dom.ranked, (key, w.id))

    def _unrank(self, dom: _Domain, w: Work) -> None:
        """``w`` stops being movable (asked to stop, or gone)."""
        old = dom.ranks.pop(w.id, None)
        if dom.lent.pop(w.id, None) is None and old is not None and w.preemptible:
            del dom.ranked[bisect.bisect_left(dom.ranked, (old, w.id))]

    def _release(self, w: Work, t: float) -> None:
        if w.pool is None:
            return
        pool = self.pools[w.pool]
        for node, count in w.nodes:
            pool.free[node] += count
        self.busy -= w.accelerators
        dom = self.domains[self.jobs[w.id].domain]
        dom.busy -= w.accelerators
        dom.held[(w.tenant, w.pool)] -= w.accelerators
        if not w.stopping:
            self._unrank(dom, w)
        dom.borrowed -= w.borrowed
        w.pool, w.nodes, w.started, w.borrowed = None, (), None, False

    def _cycle(self, d: int, t: float) -> None:
        dom = self.domains[d]
        if not dom.waiting and not (
            self.policy.preemptive and dom.mixed and dom.running and dom.busy < dom.capacity
        ):
            return  # nothing waits, and no running work could move to free accelerators
        if not self.policy.preemptive and dom.busy >= dom.capacity and not dom.borrowed:
            return  # full, and nothing to reclaim: no plan could start anything
        if self.policy.tracks_progress:
            for w in dom.running.values():
                self._account(self.jobs[w.id], t)
        plan = self._decide(dom, t)
        if plan.starts or plan.preempts or plan.moves:
            dom.version += 1
        for p in plan.preempts:
            w = p.work
            job = self.jobs[w.id]
            self._account(job, t)
            self._unrank(dom, w)
            w.stopping = True
            job.token += 1
            self.preemptions += 1
            self._push(t + self.policy.settings.grace_s, _STOPPED, w.id, job.token)
        for m in plan.moves:
            w = m.work
            job = self.jobs[w.id]
            self._account(job, t)
            self._unrank(dom, w)
            w.stopping = True
            job.token += 1
            job.move_to = (m.pool, m.nodes, w.borrowed)
            self.moves += 1
            self._promise(dom, w, m.pool, m.nodes, +1)
            self._push(t + self.policy.settings.grace_s, _STOPPED, w.id, job.token)
        for s in plan.starts:
            dom.waiting.remove(s.work)
            self.queued -= 1
            self._begin(dom, self.jobs[s.work.id], s.pool, s.nodes, s.borrowed, t)

    def _promise(
        self, dom: _Domain, w: Work, pool: str, nodes: tuple[tuple[int, int], ...], sign: int
    ) -> None:
        """Take (``sign`` +1) or give back (-1) nodes held for ``w``: a start's, or a
        move's target while the work stops on its old pool."""
        free = self.pools[pool].free
        for node, count in nodes:
            free[node] -= sign * count
        self.busy += sign * w.accelerators
        dom.busy += sign * w.accelerators
        dom.held[(w.tenant, pool)] += sign * w.accelerators

    def _begin(
        self,
        dom: _Domain,
        job: _Job,
        pool_name: str,
        nodes: tuple[tuple[int, int], ...],
        borrowed: bool,
        t: float,
    ) -> None:
        """Start ``job`` (an attempt) on ``nodes`` of ``pool_name`` at ``t``."""
        w = job.work
        pool = self.pools[pool_name]
        self._promise(dom, w, pool_name, nodes, +1)
        dom.borrowed += borrowed
        dom.running[w.id] = w
        w.pool, w.nodes, w.started, w.speed, w.borrowed = (
            pool_name,
            nodes,
            t,
            pool.speed,
            borrowed,
        )
        job.mark = t
        job.attempt_start = t
        self.starts += 1
        job.start_seq = self.starts
        if w.borrowed and w.preemptible:
            dom.lent[w.id] = w
        self._rerank(dom, w, self.policy.key(w, t))
        overhead = restart_overhead(w.accelerators) if job.first_start is not None else 0.0
        if job.first_start is None:
            job.first_start = t
        job.resume_at = t + overhead
        job.token += 1
        rate = self.truth.rate(w.job_class, pool.model)
        finish = t + overhead + (job.trace.work - job.done) / rate
        self._push(finish, _FINISH, w.id, job.token)
        self._wake_later(job, t)

    def _decide(self, dom: _Domain, t: float) -> Plan:
        """``decide`` shown the head of each waiting class; widened until exact (see _Queue)."""
        if not SHORTCUTS:  # the plain decision: everything listed, as the live server does
            self.decisions += 1
            everything = [*dom.running.values()], [*dom.waiting.works.values()]
            moving = [self.jobs[w.id] for w in dom.running.values() if w.stopping]
            promised = [
                (j.work.tenant, j.move_to[0], j.work.accelerators)
                for j in moving
                if j.move_to is not None
            ]  # a move's target nodes, taken while the work stops on its old pool
            view = QueueView(t, dom.pools, *everything, dom.tenants, promised, self.history)
            return decide(view, self.policy, can_move=dom.mixed)
        k = HEAD
        waiting, keys, cut = dom.waiting.heads(k, t)
        # In a mixed domain work that outranks every waiting job may still move up.
        floor = None if dom.mixed else min(keys, default=None)
        running, held = self._movable(dom, t, floor)
        if not running and dom.capacity - dom.busy < dom.waiting.fewest():
            # Every running job is held and no waiting job fits in what is left (what is
            # held is all that is taken): no pool has room for a start, nothing is movable.
            return Plan()
        # Decisions are pure: shown the same as an empty one, this one is empty too.
        seen = (dom.version, [w.id for w in running], [w.id for w in waiting], keys)
        if seen == dom.settled:
            return Plan()
        ranks = dom.ranks
        # Keys the decision would compute: waiting work's from ``heads``, running work's as
        # ``_rerank`` keeps them (at each start, accounting and refresh: the only times a
        # running job's key moves).
        known = {w.id: ranks[w.id] for w in running}
        while True:
            self.decisions += 1
            known.update(zip([w.id for w in waiting], keys, strict=True))
            view = QueueView(
                t, dom.pools, running, waiting, dom.tenants, held, self.history, known
            )
            plan = decide(view, self.policy, explain=False, can_move=dom.mixed)
            if not cut or _all_cut_refused(plan, cut):
                # Widened, it saw waiting work beyond ``seen`` (whose keys move with time).
                empty = not plan.starts and not plan.preempts and not plan.moves and k == HEAD
                dom.settled = seen if empty else None
                return plan
            k *= 4
            waiting, keys, cut = dom.waiting.heads(k, t)

    def _movable(
        self, dom: _Domain, t: float, floor: Key | None
    ) -> tuple[list[Work], list[tuple[str, str, int]]]:
        """Running work a decision could move, listed; the rest summarised as held.

        Pinned for sure: work stopping or not preemptible; own-quota work under a policy
        that does not preempt or within its minimum run; and own-quota work that ranks
        before ``floor`` (the first waiting job's key: nothing can outrank it). Borrowed
        work is always listed (reclaimable). Listed in the order it started, as
        ``running`` holds it."""
        policy = self.policy
        listed = list(dom.lent.values())
        if policy.preemptive and dom.ranked:
            # Keys of running work move only when its service is accounted (a wake-up at
            # each level); a policy that tracks progress has them accounted just before this.
            first = 0 if floor is None else bisect.bisect_left(dom.ranked, (floor,))
            min_run, running = policy.settings.min_run_s, dom.running
            for _, ident in dom.ranked[first:]:
                w = running[ident]
                if t - (w.started if w.started is not None else t) >= min_run:
                    listed.append(w)
        if not listed:
            return listed, [(tenant, pool, n) for (tenant, pool), n in dom.held.items() if n]
        if len(listed) > 1:
            jobs = self.jobs
            listed.sort(key=lambda w: jobs[w.id].start_seq)
        held = dict(dom.held)
        for w in listed:
            held[(w.tenant, w.pool or "")] -= w.accelerators
        return listed, [(tenant, pool, n) for (tenant, pool), n in held.items() if n]

    def _sample_quota(self) -> None:
        """Count, per tenant with a quota, a sample where it wanted its quota, and whether it
        got it (held it, or its smallest waiting job would not fit in what is left)."""
        for dom in self.domains:
            held: dict[str, int] | None = None
            for tenant, quota in dom.quotas:
                waiting = dom.waiting.demand.get(tenant, 0)
                if dom.busy + waiting < quota:
                    continue  # it holds at most what the domain holds: it did not ask
                if held is None:
                    held = defaultdict(int)
                    for (holder, _), n in dom.held.items():
                        held[holder] += n
                if held[tenant] + waiting < quota:
                    continue
                asked = self.quota_asked[tenant]
                asked[0] += 1
                if held[tenant] >= quota or held[tenant] + dom.waiting.smallest(tenant) > quota:
                    asked[1] += 1

    def _wake_later(self, job: _Job, t: float) -> None:
        """The next instant this job's rank changes on its own (a level crossed, aged, or
        its minimum run over): a wake-up then, tied to this attempt by the token."""
        if not self.policy.preemptive:
            return
        w = job.work
        nxt = self.policy.next_change(w, t)
        if w.started is not None:
            free_at = w.started + self.policy.settings.min_run_s
            if free_at > t:
                nxt = free_at if nxt is None else min(nxt, free_at)
        if nxt is not None:
            # +1 s: a level a hair away is crossed by then, whatever the float rounding
            self._push(max(nxt, t) + 1.0, _WAKE, w.id, job.token)

    def _meter(self, job: _Job, t: float) -> None:
        """Record the attempt's accelerator-seconds against its tenant, pool and month."""
        w = job.work
        start = job.attempt_start
        if w.pool is None:
            return
        month = _month_after(self.setup.billing_start, t - self.t0, self.months)
        self.usage[(w.tenant, w.pool, month)] += (t - start) * w.accelerators

    # -- figures -------------------------------------------------------------------------


_FINISH, _STOPPED, _WAKE = 0, 1, 2
LEARN_S = 6 * 3600.0  # a learning policy's history is refreshed this often (simulated)
HEAD = 4  # waiting jobs of each class shown to a decision at first
# Off: each decision is shown all running and waiting work and explains (tests compare).
SHORTCUTS = True

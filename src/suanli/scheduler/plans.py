"""What a job could get from the fleet regardless of load: its plan.

A plan is the list of pools that pass every hard rule, each with its price and estimate, in
the policy's rank order, and for every other pool the first rule that excludes it. Nothing
in it depends on what is free now, so one plan serves every job of the same kind in a
cycle, and it is computed from small caches: the accelerator rules per model, the node
shape per pool shape, the estimate per pool and cost-relevant part of the spec.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Any, TypeVar

import numpy as np

from suanli.domain.evaluation import pool_exclusion
from suanli.domain.jobs import Estimate, ExcludedPools, Job, PoolVerdict, Reason, Verdicts
from suanli.domain.spec import JobSpec
from suanli.domain.tenants import may_use
from suanli.scheduler.estimate import Estimator
from suanli.scheduler.feasibility import (
    accelerator_exclusion,
    node_exclusion,
    nodes_exclusion,
)
from suanli.scheduler.moved import Moved
from suanli.scheduler.snapshot import PoolState, Snapshot

Rank = Callable[[Job, "Option"], tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Option:
    """A pool that passes every hard rule for a job, with what the job would cost there."""

    index: int  # into the snapshot's pools
    state: PoolState  # its cluster and pool (a kept plan's: as first planned; free: by index)
    price: Decimal
    estimate: Estimate
    names: tuple[str, str]  # (cluster, pool)


@dataclass(frozen=True)
class Plan:
    """A job's pools in rank order, and the excluded ones with their first failed rule.

    ``runner_up[i]`` and ``busy[i]`` are the verdict lines of ``ranked[i]`` when it lost on
    rank and when it had no room; decisions take slices of them.
    """

    ranked: tuple[Option, ...]
    excluded: Sequence[PoolVerdict]
    runner_up: tuple[PoolVerdict, ...]
    busy: tuple[PoolVerdict, ...]


def kind_of(job: Job) -> Hashable:
    """Everything a plan reads of a job: jobs of one kind share one plan in a cycle.

    Must list every field that the hard rules, the estimate or the ranking read; the
    property test against per-job planning (tests/unit/test_fast_cycle.py) guards it.
    One flat tuple, built without helper calls: a cycle makes one per queued job.
    """
    spec = job.spec
    res = spec.resources
    acc = res.accelerator
    stacks, regions, inputs = spec.stacks, spec.regions, spec.inputs
    if acc is None:
        model: tuple[str, ...] | None = None
        memory = tflops = None
        count = 0.0
    else:
        model = None if acc.model is None else tuple(acc.model)
        memory, tflops, count = acc.min_memory_gb, acc.min_tflops, acc.count
    return (
        job.tenant,
        job.pinned_cluster,
        job.checkpoint_cluster,  # its checkpoint's cluster goes first (``plan``)
        acc is None,
        model,
        memory,
        tflops,
        None if stacks is None else tuple(stacks),
        spec.domestic_only,
        count,
        res.nodes,
        res.cpus,
        res.memory_gb,
        None if regions is None else tuple(regions),
        tuple([(d.region, d.size_gb) for d in inputs]) if inputs else (),
        spec.estimated_hours,
        spec.job_class,
        spec.budget_yuan,
        spec.deadline,
        spec.objective,
        tuple(spec.frameworks),
    )


def _accelerator_key(spec: JobSpec) -> Hashable:
    acc = spec.resources.accelerator
    stacks = None if spec.stacks is None else tuple(spec.stacks)
    if acc is None:
        return (None, stacks, spec.domestic_only)
    model = None if acc.model is None else tuple(acc.model)
    return (model, acc.min_memory_gb, acc.min_tflops, stacks, spec.domestic_only)


@dataclass(frozen=True)
class _Group:
    """Pools alike for every hard rule but the gang's node count: region, model, node shape,
    what `suanli eval` measured them unable to run.

    A kind of job passes or fails the rules of a whole group at once, which is what keeps
    planning over 1,000 pools in a millisecond or two.
    """

    pools: tuple[tuple[int, PoolState], ...]
    names: tuple[tuple[str, str], ...]

    @property
    def first(self) -> PoolState:
        return self.pools[0][1]


@dataclass(frozen=True)
class _Costing:
    """Pools ranked for one costing, and by group the lines of pools with too few nodes or
    over a limit. ``groups[i]`` is the group of ``options[i]``, whose runner-up and busy
    lines are ``runner_up[i]`` and ``busy[i]``: a plan keeps the entries of its groups."""

    groups: np.ndarray
    options: tuple[Option, ...]
    runner_up: tuple[PoolVerdict, ...]
    busy: tuple[PoolVerdict, ...]
    excluded: dict[int, tuple[PoolVerdict, ...]]


@dataclass(frozen=True)
class _Rules:
    """What the group rules say for one rule key: which groups pass, the lines of the others."""

    passing: np.ndarray  # bool per group
    groups: tuple[int, ...]  # the passing ones, in order
    excluded: tuple[ExcludedPools, ...]
    reasons: tuple[Reason | None, ...]  # per group


def _rule_key(spec: JobSpec) -> Hashable:
    """What the rules of region, accelerator and node shape read of a spec."""
    return (
        _accelerator_key(spec),
        None if spec.regions is None else tuple(spec.regions),
        spec.accelerators_per_node,
        spec.resources.cpus,
        spec.resources.memory_gb,
        tuple(spec.frameworks),  # measured incompatibilities read these two
        spec.job_class,
    )


def _cost_key(spec: JobSpec) -> Hashable:
    """What the estimate reads of a spec."""
    return (
        spec.estimated_hours,
        spec.job_class,
        spec.accelerator_units,
        spec.resources.nodes,
        tuple((d.region, d.size_gb) for d in spec.inputs),
    )


_T = TypeVar("_T")


def _held_first(plan: Plan, holder: str) -> Plan:
    """``plan`` with the pools of the cluster that holds the job's checkpoint first, the
    others after them in rank order: a preference, not a rule (a full cluster is passed)."""
    ranked = plan.ranked
    order = sorted(range(len(ranked)), key=lambda i: ranked[i].names[0] != holder)
    return Plan(
        tuple(ranked[i] for i in order),
        plan.excluded,
        tuple(plan.runner_up[i] for i in order),
        tuple(plan.busy[i] for i in order),
    )


def _pick(items: tuple[_T, ...], indices: list[int]) -> tuple[_T, ...]:
    if len(indices) == len(items):
        return items
    if len(indices) > 1:
        return itemgetter(*indices)(items)  # type: ignore[no-any-return]
    return tuple(items[i] for i in indices)


class Planner:
    """Builds plans for the jobs of one snapshot, with caches shared by all of them.

    ``rank`` may read of a job only its objective: jobs that share a costing share the
    rank order of their pools.

    A planner may serve later snapshots of the same pools (``KeptPlans``): what it derived
    is then reused. Its estimates say when a job would finish if started at the planner's
    ``origin``; a later cycle's are the same moved by the time since (``at``), which is
    exact (datetimes add whole microseconds) and keeps every rank order (the move is the
    same for every pool). Only a deadline reads the instant itself: a job with one is
    planned anew at each instant.
    """

    def __init__(self, snapshot: Snapshot, rank: Rank) -> None:
        self.snapshot = snapshot
        self.rank = rank
        self.origin = snapshot.now
        self.estimator = Estimator(snapshot.fleet, snapshot.now)
        self._pools_key = _pools_key(snapshot)
        self._delta = dt.timedelta(0)  # the current snapshot's time since ``origin``
        self._now: Planner | None = None  # plans a deadline reads, at the current instant
        self._moved = Moved(self._delta)  # what was moved to the current instant
        self._planned: dict[Hashable, Plan] = {}  # at the current instant, by kind
        self._rules: dict[Hashable, _Rules] = {}
        self._lines: dict[tuple[int, int], PoolVerdict] = {}
        self._costings: dict[Hashable, _Costing] = {}
        self._figures: dict[tuple[Hashable, int], tuple[Option, PoolVerdict, PoolVerdict]] = {}
        self._domestic = [_domestic(snapshot, s.pool.accelerator) for s in snapshot.pools]
        groups: dict[Hashable, list[tuple[int, PoolState]]] = {}
        measured = snapshot.fleet.measured
        for index, state in enumerate(snapshot.pools):
            q = state.pool
            key = (
                state.cluster.region,
                q.accelerator,
                q.accelerators_per_node,
                q.cpus_per_node,
                q.memory_gb_per_node,
                measured.of(state.cluster.name, q.name) if measured else (),
            )
            groups.setdefault(key, []).append((index, state))
        self._groups = [_Group(tuple(g), tuple(_names(s) for _, s in g)) for g in groups.values()]

    def serves(self, snapshot: Snapshot, rank: Rank) -> bool:
        """Whether this planner may plan for ``snapshot`` with ``rank``: the same fleet (its
        catalog, measurements and prices), the same pools, each as available as it was."""
        return (
            snapshot.fleet is self.snapshot.fleet
            and rank == self.rank
            and _pools_key(snapshot) == self._pools_key
            and len(self._figures) + len(self._costings) < PLANS_KEPT
        )

    def at(self, snapshot: Snapshot) -> None:
        """Plan for ``snapshot`` from now on (one that this planner ``serves``)."""
        self.snapshot = snapshot
        delta = snapshot.now - self.origin
        if delta != self._delta:  # what was moved is moved to another instant
            self._delta, self._now, self._moved, self._planned = delta, None, Moved(delta), {}
        elif self._now is not None:
            self._now.at(snapshot)  # the same instant; the snapshot's rates and pools

    def plan(self, job: Job) -> Plan:
        """The plan of ``job``: for each pool, the rules in ``feasibility.exclusion``'s order.

        Rules of region, accelerator and node shape are settled per group of pools; the
        gang's node count, the figures, the budget and deadline, and the rank order per
        *costing* (what the estimate and the rank read), shared by kinds that differ only
        in which accelerators they accept. A kind planned at this instant is planned once
        (the fair turn and placement plan the same kinds in a cycle).
        """
        tenant, snap = job.tenant, self.snapshot
        rates = snap.voucher_rates
        key = (
            kind_of(job),
            rates.get((tenant, False)),
            rates.get((tenant, True)),
            snap.tenant_pools.get(tenant),
        )
        found = self._planned.get(key)
        if found is None:
            found = self._planned[key] = self._plan(job)
        return found

    def _plan(self, job: Job) -> Plan:
        if self._delta and job.spec.deadline is not None:
            if self._now is None:
                self._now = Planner(self.snapshot, self.rank)
            return self._now.plan(job)
        if job.pinned_cluster is not None:
            return self._moved_plan(self._plan_pinned(job))
        rules = self._rules_of(job.spec)
        costing = self._costing(job)
        if self._delta:
            costing = self._moved_costing(costing)
        keep = np.flatnonzero(rules.passing[costing.groups]).tolist()
        excluded = tuple(line for g in rules.groups for line in costing.excluded.get(g, ()))
        parts = [(lines, 0, len(lines)) for lines in [excluded, *rules.excluded]]
        plan = Plan(
            _pick(costing.options, keep),
            Verdicts(*parts),
            _pick(costing.runner_up, keep),
            _pick(costing.busy, keep),
        )
        holder = job.checkpoint_cluster  # set only for work that resumes (domain.checkpoints)
        return plan if holder is None else _held_first(plan, holder)

    def _rules_of(self, spec: JobSpec) -> _Rules:
        """Every group's first rule but the node count, for the rule key of ``spec``."""
        rule_key = _rule_key(spec)
        found = self._rules.get(rule_key)
        if found is not None:
            return found
        passing = np.zeros(len(self._groups), dtype=bool)
        excluded: list[ExcludedPools] = []
        reasons: list[Reason | None] = []
        for g, group in enumerate(self._groups):
            reason = self._group_rule(spec, group)
            reasons.append(reason)
            if reason is None:
                passing[g] = True
            else:
                excluded.append(ExcludedPools(reason, group.names))
        groups = tuple(np.flatnonzero(passing).tolist())
        found = _Rules(passing, groups, tuple(excluded), tuple(reasons))
        self._rules[rule_key] = found
        return found

    def _costing(self, job: Job) -> _Costing:
        """Every pool with nodes enough, priced and ranked for ``job``; the others' lines."""
        spec = job.spec
        need = spec.resources.nodes
        cost_key = _cost_key(spec)
        snap, tenant = self.snapshot, job.tenant
        allowed = snap.tenant_pools.get(tenant)
        rates = snap.voucher_rates
        key = (
            tenant,
            cost_key,
            spec.budget_yuan,
            spec.deadline,
            spec.objective,
            allowed,  # what the cycle's snapshot says of the tenant: its pools, its rates
            rates.get((tenant, False)),
            rates.get((tenant, True)),
        )
        found = self._costings.get(key)
        if found is not None:
            return found
        limited = spec.budget_yuan is not None or spec.deadline is not None
        ranked: list[tuple[int, Option, PoolVerdict, PoolVerdict]] = []
        excluded: dict[int, list[PoolVerdict]] = {}
        busy = Reason("pool_busy", {"need": need})
        not_allowed = _not_allowed(job.tenant, allowed)
        for g, group in enumerate(self._groups):
            for index, state in group.pools:
                if not may_use(allowed, state.cluster.name, state.pool.name):
                    excluded.setdefault(g, []).append(self._line(not_allowed, index, state))
                    continue
                if need > state.pool.nodes:
                    why = nodes_exclusion(spec, state.pool)
                    assert why is not None  # noqa: S101 - the condition above
                    excluded.setdefault(g, []).append(self._line(why, index, state))
                    continue
                option, runner_up, full = self._figures_of(job, cost_key, index, state, busy)
                if limited or not state.available:
                    why = _limits(job, option.estimate, state)
                    if why is not None:
                        line = PoolVerdict(
                            *option.names, False, option.price, why, option.estimate
                        )
                        excluded.setdefault(g, []).append(line)
                        continue
                ranked.append((g, option, runner_up, full))
        rank = self.rank
        ranked.sort(key=lambda e: rank(job, e[1]))
        found = _Costing(
            np.array([e[0] for e in ranked], dtype=np.intp),
            tuple(e[1] for e in ranked),
            tuple(e[2] for e in ranked),
            tuple(e[3] for e in ranked),
            {g: tuple(lines) for g, lines in excluded.items()},
        )
        self._costings[key] = found
        return found

    def _plan_pinned(self, job: Job) -> Plan:
        """A job held to one cluster (a retry): pool by pool, every rule in order."""
        spec = job.spec
        rules = self._rules_of(spec)
        options: list[tuple[Option, PoolVerdict, PoolVerdict]] = []
        excluded: list[PoolVerdict] = []
        cost_key = _cost_key(spec)
        busy = Reason("pool_busy", {"need": spec.resources.nodes})
        for g, group in enumerate(self._groups):
            reason = rules.reasons[g]
            for index, state in group.pools:
                why = (
                    Reason(
                        "pool_cluster_excluded",
                        {"cluster": state.cluster.name, "wanted": job.pinned_cluster},
                    )
                    if state.cluster.name != job.pinned_cluster
                    else reason or nodes_exclusion(spec, state.pool)
                )
                allowed = self.snapshot.tenant_pools.get(job.tenant)
                if why is None and not may_use(allowed, state.cluster.name, state.pool.name):
                    why = _not_allowed(job.tenant, allowed)
                if why is not None:
                    excluded.append(self._line(why, index, state))
                    continue
                option, runner_up, full = self._figures_of(job, cost_key, index, state, busy)
                why = _limits(job, option.estimate, state)
                if why is not None:
                    excluded.append(
                        PoolVerdict(*option.names, False, option.price, why, option.estimate)
                    )
                    continue
                options.append((option, runner_up, full))
        rank = self.rank
        options.sort(key=lambda o: rank(job, o[0]))
        return Plan(
            tuple(o[0] for o in options),
            tuple(excluded),
            tuple(o[1] for o in options),
            tuple(o[2] for o in options),
        )

    def _group_rule(self, spec: JobSpec, group: _Group) -> Reason | None:
        """The first rule but the node count that ``group``'s pools break."""
        state = group.first
        reason: Reason | None = None
        if spec.regions is not None and state.cluster.region not in spec.regions:
            reason = Reason(
                "pool_region_excluded",
                {"region": state.cluster.region, "wanted": ", ".join(spec.regions)},
            )
        else:
            catalog = self.snapshot.fleet.catalog
            reason = (
                accelerator_exclusion(spec, state.pool, catalog)
                or pool_exclusion(
                    spec, state.cluster.name, state.pool.name, self.snapshot.fleet.measured
                )
                or node_exclusion(spec, state.pool)
            )
        return reason

    def _line(self, reason: Reason, index: int, state: PoolState) -> PoolVerdict:
        key = (id(reason), index)
        line = self._lines.get(key)
        if line is None or line.reason is not reason:
            line = PoolVerdict(*_names(state), False, None, reason)
            self._lines[key] = line
        return line

    def _figures_of(
        self, job: Job, cost_key: Hashable, index: int, state: PoolState, busy: Reason
    ) -> tuple[Option, PoolVerdict, PoolVerdict]:
        """The option of one pool, and the lines that show it as runner-up and as full.

        ``cost_key`` holds what the estimate reads of the spec; the voucher rate is the
        tenant's on this pool's side of the domestic line.
        """
        snap = self.snapshot
        rate = snap.voucher_rates.get((job.tenant, self._domestic[index]), _ZERO)
        key = ((rate, cost_key), index)
        figures = self._figures.get(key)
        if figures is None:
            est, price = self.estimator.estimate(job.spec, state.cluster, state.pool, rate)
            names = _names(state)
            figures = (
                Option(index, state, price, est, names),
                PoolVerdict(*names, True, price, None, est),
                PoolVerdict(*names, False, price, busy, est),
            )
            self._figures[key] = figures
        return figures

    def _moved_costing(self, costing: _Costing) -> _Costing:
        """``costing`` with its estimates at the current instant (once per instant)."""
        moved = self._moved
        found = moved.memo.get(id(costing))
        if found is None:
            line = moved.line
            found = _Costing(
                costing.groups,
                tuple(self._moved_option(o) for o in costing.options),
                tuple(line(v) for v in costing.runner_up),
                tuple(line(v) for v in costing.busy),
                {g: tuple(line(v) for v in lines) for g, lines in costing.excluded.items()},
            )
            moved.memo[id(costing)] = found
        assert isinstance(found, _Costing)  # noqa: S101 - stored by this method
        return found

    def _moved_plan(self, plan: Plan) -> Plan:
        if not self._delta:
            return plan
        line = self._moved.line
        return Plan(
            tuple(self._moved_option(o) for o in plan.ranked),
            tuple(line(v, False) for v in plan.excluded),  # lines made for this plan alone
            tuple(line(v) for v in plan.runner_up),
            tuple(line(v) for v in plan.busy),
        )

    def _moved_option(self, option: Option) -> Option:
        memo = self._moved.memo
        found = memo.get(id(option))
        if found is None:
            est = self._moved.estimate(option.estimate)
            found = Option(option.index, option.state, option.price, est, option.names)
            memo[id(option)] = found
        assert isinstance(found, Option)  # noqa: S101 - stored by this method
        return found


# Figures and costings one kept planner holds before a fresh one starts: a memory bound
# (a long run meets new kinds of job), no decision depends on it.
PLANS_KEPT = 1 << 14


def _pools_key(snapshot: Snapshot) -> tuple[tuple[object, object, bool], ...]:
    return tuple([(s.cluster, s.pool, s.available) for s in snapshot.pools])


_ZERO = Decimal(0)


def _not_allowed(tenant: str, allowed: frozenset[str] | None) -> Reason:
    return Reason(
        "pool_tenant_excluded", {"tenant": tenant, "wanted": ", ".join(sorted(allowed or ()))}
    )


def _names(state: PoolState) -> tuple[str, str]:
    return (state.cluster.name, state.pool.name)


def _domestic(snap: Snapshot, accelerator: str | None) -> bool:
    model = snap.fleet.catalog.get(accelerator) if accelerator else None
    return bool(model and model.domestic)


def _limits(job: Job, est: Estimate, state: PoolState) -> Reason | None:
    """The job's own limits: its budget and its deadline, against this pool's estimate."""
    spec = job.spec
    if state.available and spec.budget_yuan is not None and est.net > spec.budget_yuan:
        return Reason(
            "pool_over_budget", {"net": f"{est.net:.2f}", "budget": f"{spec.budget_yuan:.2f}"}
        )
    if state.available and spec.deadline is not None and est.finish_at > spec.deadline:
        return Reason(
            "pool_misses_deadline",
            {
                "finish": est.finish_at.isoformat(timespec="minutes"),
                "deadline": spec.deadline.isoformat(timespec="minutes"),
            },
        )
    if not state.available:
        return Reason("pool_cluster_unavailable", {"cluster": state.cluster.name})
    return None

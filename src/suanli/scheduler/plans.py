"""What a job could get from the fleet regardless of load: its plan.

A plan is the list of pools that pass every hard rule, each with its price and estimate, in
the policy's rank order, and for every other pool the first rule that excludes it. Nothing
in it depends on what is free now, so one plan serves every job of the same kind in a
cycle, and it is computed from small caches: the accelerator rules per model, the node
shape per pool shape, the estimate per pool and cost-relevant part of the spec.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from suanli.domain.jobs import Estimate, Job, PoolVerdict, Reason
from suanli.domain.spec import JobSpec
from suanli.scheduler.estimate import estimate
from suanli.scheduler.feasibility import (
    accelerator_exclusion,
    job_price_per_hour,
    node_exclusion,
    nodes_exclusion,
)
from suanli.scheduler.snapshot import PoolState, Snapshot

Rank = Callable[[Job, "Option"], tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Option:
    """A pool that passes every hard rule for a job, with what the job would cost there."""

    index: int  # into the snapshot's pools
    state: PoolState
    price: Decimal
    estimate: Estimate

    @property
    def names(self) -> tuple[str, str]:
        return (self.state.cluster.name, self.state.pool.name)


@dataclass(frozen=True)
class Plan:
    """A job's pools in rank order, and the excluded ones with their first failed rule.

    ``runner_up[i]`` and ``busy[i]`` are the verdict lines of ``ranked[i]`` when it lost on
    rank and when it had no room; decisions take slices of them.
    """

    ranked: tuple[Option, ...]
    excluded: tuple[PoolVerdict, ...]
    runner_up: tuple[PoolVerdict, ...]
    busy: tuple[PoolVerdict, ...]


def kind_of(job: Job) -> Hashable:
    """Everything a plan reads of a job: jobs of one kind share one plan in a cycle.

    Must list every field that the hard rules, the estimate or the ranking read; the
    property test against per-job planning (tests/unit/test_fast_cycle.py) guards it.
    """
    spec = job.spec
    res = spec.resources
    acc = res.accelerator
    return (
        job.tenant,
        job.pinned_cluster,
        _accelerator_key(spec),
        acc.count if acc else 0,
        res.nodes,
        res.cpus,
        res.memory_gb,
        None if spec.regions is None else tuple(spec.regions),
        tuple((d.region, d.size_gb) for d in spec.inputs),
        spec.estimated_hours,
        spec.budget_yuan,
        spec.deadline,
        spec.objective,
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
    """Pools alike for every hard rule but the gang's node count: region, model, node shape.

    A kind of job passes or fails the rules of a whole group at once, which is what keeps
    planning over 1,000 pools in a millisecond or two.
    """

    pools: tuple[tuple[int, PoolState], ...]

    @property
    def first(self) -> PoolState:
        return self.pools[0][1]


class Planner:
    """Builds plans for the jobs of one snapshot, with caches shared by all of them."""

    def __init__(self, snapshot: Snapshot, rank: Rank) -> None:
        self.snapshot = snapshot
        self.rank = rank
        self._rule: dict[tuple[Hashable, int], Reason | None] = {}
        self._group_lines: dict[tuple[int, int], tuple[PoolVerdict, ...]] = {}
        self._lines: dict[tuple[int, int], PoolVerdict] = {}
        self._figures: dict[tuple[Hashable, int], tuple[Estimate, PoolVerdict, PoolVerdict]] = {}
        self._domestic = [_domestic(snapshot, s.pool.accelerator) for s in snapshot.pools]
        groups: dict[Hashable, list[tuple[int, PoolState]]] = {}
        for index, state in enumerate(snapshot.pools):
            q = state.pool
            key = (
                state.cluster.region,
                q.accelerator,
                q.accelerators_per_node,
                q.cpus_per_node,
                q.memory_gb_per_node,
            )
            groups.setdefault(key, []).append((index, state))
        self._groups = [_Group(tuple(g)) for g in groups.values()]

    def plan(self, job: Job) -> Plan:
        """The plan of ``job``: pools in the order ``feasibility.exclusion`` checks rules."""
        options: list[tuple[Option, PoolVerdict, PoolVerdict]] = []
        excluded: list[PoolVerdict] = []
        spec = job.spec
        for g, group in enumerate(self._groups):
            reason = self._group_rule(spec, g, group)
            if reason is not None and job.pinned_cluster is None:
                excluded.extend(self._lines_of(reason, g, group))
                continue
            for index, state in group.pools:
                pinned = job.pinned_cluster
                if pinned is not None and state.cluster.name != pinned:
                    why: Reason | None = Reason(
                        "pool_cluster_excluded", {"cluster": state.cluster.name, "wanted": pinned}
                    )
                else:
                    why = reason or nodes_exclusion(spec, state.pool)
                if why is not None:
                    excluded.append(self._line(why, index, state))
                    continue
                est, runner_up, busy = self._figures_of(job, index, state)
                why = _limits(job, est, state)
                if why is not None:
                    line = PoolVerdict(*runner_up.key, False, runner_up.price_per_hour, why, est)
                    excluded.append(line)
                    continue
                option = Option(index, state, runner_up.price_per_hour or Decimal(0), est)
                options.append((option, runner_up, busy))
        options.sort(key=lambda o: self.rank(job, o[0]))
        return Plan(
            tuple(o[0] for o in options),
            tuple(excluded),
            tuple(o[1] for o in options),
            tuple(o[2] for o in options),
        )

    def _group_rule(self, spec: JobSpec, g: int, group: _Group) -> Reason | None:
        """The first rule but the node count that ``group``'s pools break (cached)."""
        key = (
            (
                _accelerator_key(spec),
                None if spec.regions is None else tuple(spec.regions),
                spec.accelerators_per_node,
                spec.resources.cpus,
                spec.resources.memory_gb,
            ),
            g,
        )
        if key in self._rule:
            return self._rule[key]
        state = group.first
        reason: Reason | None = None
        if spec.regions is not None and state.cluster.region not in spec.regions:
            reason = Reason(
                "pool_region_excluded",
                {"region": state.cluster.region, "wanted": ", ".join(spec.regions)},
            )
        else:
            catalog = self.snapshot.fleet.catalog
            reason = accelerator_exclusion(spec, state.pool, catalog) or node_exclusion(
                spec, state.pool
            )
        self._rule[key] = reason
        return reason

    def _lines_of(self, reason: Reason, g: int, group: _Group) -> tuple[PoolVerdict, ...]:
        # Reasons come from the cache, shared by every kind that fails the group alike.
        key = (id(reason), g)
        lines = self._group_lines.get(key)
        if lines is None or lines[0].reason is not reason:
            lines = tuple(PoolVerdict(*_names(s), False, None, reason) for _, s in group.pools)
            self._group_lines[key] = lines
        return lines

    def _line(self, reason: Reason, index: int, state: PoolState) -> PoolVerdict:
        key = (id(reason), index)
        line = self._lines.get(key)
        if line is None or line.reason is not reason:
            line = PoolVerdict(*_names(state), False, None, reason)
            self._lines[key] = line
        return line

    def _figures_of(
        self, job: Job, index: int, state: PoolState
    ) -> tuple[Estimate, PoolVerdict, PoolVerdict]:
        """The estimate on one pool, and the lines that show it as runner-up and as full."""
        spec = job.spec
        snap = self.snapshot
        rate = snap.voucher_rates.get((job.tenant, self._domestic[index]), Decimal(0))
        key = (
            (
                rate,
                spec.estimated_hours,
                spec.accelerator_units,
                spec.resources.nodes,
                tuple((d.region, d.size_gb) for d in spec.inputs),
            ),
            index,
        )
        figures = self._figures.get(key)
        if figures is None:
            est = estimate(spec, state.cluster, state.pool, snap.fleet, snap.now, rate)
            price = job_price_per_hour(spec, state.pool)
            busy = Reason("pool_busy", {"need": spec.resources.nodes})
            figures = (
                est,
                PoolVerdict(*_names(state), True, price, None, est),
                PoolVerdict(*_names(state), False, price, busy, est),
            )
            self._figures[key] = figures
        return figures


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

"""Placement policies behind one protocol, and their registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from suanli.domain.ids import JobId
from suanli.domain.jobs import (
    Decision,
    Estimate,
    Job,
    NodeAssignment,
    Placement,
    PoolVerdict,
    Reason,
)
from suanli.scheduler.estimate import estimate
from suanli.scheduler.feasibility import exclusion, job_price_per_hour
from suanli.scheduler.snapshot import NodeState, PoolState, Snapshot


@dataclass(frozen=True)
class PlaceJob:
    job_id: JobId
    placement: Placement
    decision: Decision


@dataclass(frozen=True)
class KeepWaiting:
    job_id: JobId
    decision: Decision
    never: bool = False  # no pool in the fleet could ever run it


@dataclass(frozen=True)
class CycleResult:
    placed: list[PlaceJob] = field(default_factory=list)
    waiting: list[KeepWaiting] = field(default_factory=list)


class PlacementPolicy(Protocol):
    """Decides, for a snapshot, which queued jobs go where now, and why."""

    name: str

    def decide(self, snapshot: Snapshot) -> CycleResult:
        """Return placements and waits for ``snapshot.queue``; must not mutate the input.

        Pure and deterministic for a given snapshot: no I/O, no clock, no randomness
        except from a seed carried in the snapshot.
        """
        ...


@dataclass
class _Option:
    """A pool that can take the job now, with what it would cost there."""

    price: Decimal
    estimate: Estimate
    state: PoolState
    nodes: list[NodeState]

    @property
    def names(self) -> tuple[str, str]:
        return (self.state.cluster.name, self.state.pool.name)


class _Placer:
    """The loop every placement policy shares; a policy says only how options rank.

    Per job: every pool is excluded by the first hard rule it breaks (compatibility,
    availability, budget, deadline), or becomes an option if its nodes have room now, or a
    busy verdict; the best option wins and the rest are kept as runners-up with figures.
    """

    name = "base"

    def rank(self, job: Job, option: _Option) -> tuple[Any, ...]:
        raise NotImplementedError

    def summary(self, job: Job, option: _Option) -> Reason:
        raise NotImplementedError

    def decide(self, snapshot: Snapshot) -> CycleResult:
        pools = [_copy(p) for p in snapshot.pools]
        result = CycleResult()
        for job in snapshot.queue:
            outcome = self._place_one(job, pools, snapshot)
            if isinstance(outcome, PlaceJob):
                result.placed.append(outcome)
            else:
                result.waiting.append(outcome)
        return result

    def _place_one(
        self, job: Job, pools: list[PoolState], snap: Snapshot
    ) -> PlaceJob | KeepWaiting:
        verdicts: list[PoolVerdict] = []
        options: list[_Option] = []
        feasible_ever = 0
        for state in pools:
            cl, pool = state.cluster, state.pool
            reason = exclusion(job.spec, cl, pool, snap.fleet.catalog, job.pinned_cluster)
            if reason is not None:
                verdicts.append(PoolVerdict(cl.name, pool.name, False, None, reason))
                continue
            price = job_price_per_hour(job.spec, pool)
            domestic = _domestic(snap, pool.accelerator)
            rate = snap.voucher_rates.get((job.tenant, domestic), Decimal(0))
            est = estimate(job.spec, cl, pool, snap.fleet, snap.now, rate)
            reason = _limits(job, est, state)
            if reason is not None:
                verdicts.append(PoolVerdict(cl.name, pool.name, False, None, reason))
                continue
            feasible_ever += 1
            nodes = _fit(job, state)
            if nodes is None:
                free = sum(1 for n in state.nodes if _node_fits(job, n))
                busy = Reason("pool_busy", {"free": free, "need": job.spec.resources.nodes})
                verdicts.append(PoolVerdict(cl.name, pool.name, False, price, busy, est))
                continue
            options.append(_Option(price, est, state, nodes))
        if not options:
            never = feasible_ever == 0
            summary = (
                Reason("unschedulable")
                if never
                else Reason("waiting_for_capacity", {"count": feasible_ever})
            )
            return KeepWaiting(job.id, Decision(summary, tuple(verdicts)), never)
        options.sort(key=lambda o: self.rank(job, o))
        best = options[0]
        assignments = _take(job, best.nodes)
        ranked = [
            PoolVerdict(o.names[0], o.names[1], True, o.price, None, o.estimate) for o in options
        ]
        decision = Decision(self.summary(job, best), tuple(ranked + verdicts), best.names)
        placement = Placement(
            best.names[0], best.names[1], best.state.pool.accelerator, assignments, best.price
        )
        return PlaceJob(job.id, placement, decision)


class CheapestFirst(_Placer):
    """First policy: feasible pools only, the lowest price per hour that has room now wins."""

    name = "cheapest"

    def rank(self, job: Job, option: _Option) -> tuple[Any, ...]:
        return (option.price, *option.names)

    def summary(self, job: Job, option: _Option) -> Reason:
        return Reason("placed_cheapest", {"price": f"{option.price:.2f}"})


class ObjectiveFirst(_Placer):
    """suanli's default: the job's objective over expected figures, not list prices.

    ``cost``: price × hours on that accelerator (hours scaled by relative throughput) -
    the tenant's voucher there (domestic pools earn a higher rate) + moving the inputs.
    ``time``: the earliest expected finish, data transfer included.
    """

    name = "default"

    def rank(self, job: Job, option: _Option) -> tuple[Any, ...]:
        e = option.estimate
        if job.spec.objective == "time":
            return (e.finish_at, e.net, *option.names)
        return (e.net, e.finish_at, *option.names)

    def summary(self, job: Job, option: _Option) -> Reason:
        e = option.estimate
        code = "placed_fastest" if job.spec.objective == "time" else "placed_lowest_cost"
        return Reason(
            code,
            {
                "net": f"{e.net:.2f}",
                "gross": f"{e.gross:.2f}",
                "voucher": f"{e.voucher:.2f}",
                "data": f"{e.data_cost:.2f}",
                "hours": f"{e.hours + e.transfer_hours:.2f}",
            },
        )


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


def _copy(state: PoolState) -> PoolState:
    nodes = [
        NodeState(n.name, list(n.free_slots), n.free_cpus, n.free_memory_gb) for n in state.nodes
    ]
    return PoolState(state.cluster, state.pool, nodes, state.available)


def _node_fits(job: Job, node: NodeState) -> bool:
    res = job.spec.resources
    return (
        len(node.free_slots) >= job.spec.accelerators_per_node
        and node.free_cpus >= res.cpus
        and node.free_memory_gb >= res.memory_gb
    )


def _fit(job: Job, state: PoolState) -> list[NodeState] | None:
    """Pick the gang's nodes, all in this pool or none; fullest nodes first (less fragmentation)."""
    fitting = [n for n in state.nodes if _node_fits(job, n)]
    if len(fitting) < job.spec.resources.nodes:
        return None
    fitting.sort(key=lambda n: (len(n.free_slots), n.free_cpus, n.name))
    return fitting[: job.spec.resources.nodes]


def _take(job: Job, nodes: list[NodeState]) -> tuple[NodeAssignment, ...]:
    res = job.spec.resources
    out = []
    for node in nodes:
        slots = tuple(node.free_slots[: job.spec.accelerators_per_node])
        node.free_slots = node.free_slots[len(slots) :]
        node.free_cpus -= res.cpus
        node.free_memory_gb -= res.memory_gb
        out.append(NodeAssignment(node.name, slots))
    return tuple(out)


POLICIES: dict[str, PlacementPolicy] = {
    CheapestFirst.name: CheapestFirst(),
    ObjectiveFirst.name: ObjectiveFirst(),
}

"""Placement policies behind one protocol, and their registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from suanli.domain.ids import JobId
from suanli.domain.jobs import Decision, Job, NodeAssignment, Placement, PoolVerdict, Reason
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


class CheapestFirst:
    """First policy: feasible pools only, the cheapest that has room now wins."""

    name = "cheapest"

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
        spec = job.spec
        verdicts: list[PoolVerdict] = []
        candidates: list[tuple[Decimal, str, str, PoolState, list[NodeState]]] = []
        feasible_ever = 0
        for state in pools:
            cl, pool = state.cluster, state.pool
            reason = exclusion(spec, cl, pool, snap.fleet.catalog, job.pinned_cluster)
            if reason is None and not state.available:
                reason = Reason("pool_cluster_unavailable", {"cluster": cl.name})
            if reason is not None:
                verdicts.append(PoolVerdict(cl.name, pool.name, False, None, reason))
                continue
            feasible_ever += 1
            price = job_price_per_hour(spec, pool)
            nodes = _fit(job, state)
            if nodes is None:
                free = sum(1 for n in state.nodes if _node_fits(job, n))
                verdicts.append(
                    PoolVerdict(
                        cl.name,
                        pool.name,
                        False,
                        price,
                        Reason("pool_busy", {"free": free, "need": spec.resources.nodes}),
                    )
                )
                continue
            candidates.append((price, cl.name, pool.name, state, nodes))
        if not candidates:
            never = feasible_ever == 0
            summary = (
                Reason("unschedulable")
                if never
                else Reason("waiting_for_capacity", {"count": feasible_ever})
            )
            return KeepWaiting(job.id, Decision(summary, tuple(verdicts)), never)
        candidates.sort(key=lambda c: (c[0], c[1], c[2]))
        price, cluster, pool_name, state, nodes = candidates[0]
        assignments = _take(job, nodes)
        ranked = [PoolVerdict(c[1], c[2], True, c[0]) for c in candidates]
        decision = Decision(
            Reason("placed_cheapest", {"price": f"{price:.2f}"}),
            tuple(ranked + verdicts),
            (cluster, pool_name),
        )
        placement = Placement(cluster, pool_name, state.pool.accelerator, assignments, price)
        return PlaceJob(job.id, placement, decision)


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


POLICIES: dict[str, PlacementPolicy] = {CheapestFirst.name: CheapestFirst()}

"""Which nodes of a pool a job gets: the packing core (``scheduler.packing``) behind the live
scheduler.

A job asks each of its ``nodes`` nodes for the same thing, a *node request* (accelerator
slots and the share of each, CPUs, memory). A gang takes distinct nodes, all in one pool or
none. Within a pool the nodes are chosen one rank at a time by a packing policy (suanli's
``default``, fragmentation-aware) against the workload the queue says is coming, so the
pool stays able to serve the next requests: a whole 8-card node is not cut for a 1-card job
while a half-used one can take it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from suanli.domain.jobs import Job, NodeAssignment
from suanli.scheduler.packing import (
    POLICIES,
    ClusterState,
    NodeSpec,
    PackingPolicy,
    PodRequest,
    PodShape,
    PolicyContext,
    TargetWorkload,
)
from suanli.scheduler.snapshot import PoolState

DEFAULT_PACKING = "default"
MIB_PER_GB = 1024
CPU_MILLI = 1000


@dataclass(frozen=True, slots=True)
class NodeRequest:
    """What a job needs on each of its nodes, and how many such nodes (a gang)."""

    accelerators: int  # slots; a shared accelerator counts as one
    share_milli: int  # thousandths of each slot: 1000 for whole accelerators
    cpus: int
    memory_gb: int
    nodes: int

    @classmethod
    def of(cls, job: Job) -> NodeRequest:
        spec = job.spec
        res = spec.resources
        return cls(
            spec.accelerators_per_node, spec.share_milli, res.cpus, res.memory_gb, res.nodes
        )

    def pod(self) -> PodRequest:
        """One rank of the job as the packing core sees it (any GPU model of the pool)."""
        return PodRequest(
            "",
            self.cpus * CPU_MILLI,
            self.memory_gb * MIB_PER_GB,
            self.accelerators,
            self.share_milli if self.accelerators else 0,
        )


def expected_workload(queue: Iterable[Job]) -> TargetWorkload:
    """The mix of node requests the queue holds: what the pools should stay able to serve."""
    counts: Counter[PodShape] = Counter()
    for job in queue:
        counts[NodeRequest.of(job).pod().shape] += job.spec.resources.nodes
    total = sum(counts.values())
    if not total:
        return TargetWorkload((), ())
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], repr(kv[0])))
    return TargetWorkload(tuple(s for s, _ in ordered), tuple(c / total for _, c in ordered))


class PoolNodes:
    """The free capacity of one pool's nodes during one cycle, and the policy that packs them.

    Built from the snapshot (never changing it); ``take`` only ever removes capacity, so a
    request that does not fit now will not fit later in the same cycle.
    """

    def __init__(
        self,
        state: PoolState,
        workload: TargetWorkload,
        packing: str = DEFAULT_PACKING,
        seed: int | None = None,
    ) -> None:
        pool = state.pool
        specs = [
            NodeSpec(
                n.name,
                pool.cpus_per_node * CPU_MILLI,
                pool.memory_gb_per_node * MIB_PER_GB,
                pool.accelerators_per_node,
                pool.accelerator or "",
            )
            for n in state.nodes
        ]
        self.names = [n.name for n in state.nodes]
        self.cluster = ClusterState(specs)
        for i, n in enumerate(state.nodes):
            self.cluster.set_free(
                i, n.free_milli, n.free_cpus * CPU_MILLI, n.free_memory_gb * MIB_PER_GB
            )
        ctx = PolicyContext(workload, seed or 0, random_ties=seed is not None)
        self.policy: PackingPolicy = POLICIES[packing](ctx)

    def room(self, request: NodeRequest) -> int:
        """How many nodes could take one rank of ``request`` now."""
        return int(self.cluster.candidates(request.pod()).size)

    def take(self, request: NodeRequest) -> tuple[NodeAssignment, ...] | None:
        """Place every rank on its own node, or nothing when fewer nodes have room."""
        pod = request.pod()
        candidates = self.cluster.candidates(pod)
        if candidates.size < request.nodes:
            return None
        # Ranks of a gang never share a node, and a rank on one node does not change what
        # fits on another: the nodes with room now are enough for the whole gang.
        chosen: list[tuple[int, tuple[int, ...]]] = []
        for _ in range(request.nodes):
            placement = self.policy.choose(self.cluster, pod, candidates)
            self.cluster.place(pod, placement)
            chosen.append((placement.node, placement.gpu_slots))
            candidates = candidates[candidates != placement.node]
        chosen.sort()
        return tuple(NodeAssignment(self.names[n], slots) for n, slots in chosen)

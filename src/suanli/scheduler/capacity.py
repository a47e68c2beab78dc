"""The snapshot's free capacity kept from one cycle to the next, moved by the jobs that changed.

``snapshot.build_snapshot`` starts every cycle from the fleet's full capacity and takes away
what every holding job occupies: work in proportion to the running jobs, each tick. Here
the same pools are kept, and a job that changed (placed, started, finished, preempted) gives
back what it held and takes what it holds now, so a cycle costs what changed.

Exact, not an estimate: a slot's free thousandths are ``max(0, MILLI - shares held on it)``,
which is what taking each holding job's share away in turn with a floor at zero gives
(shares are never negative); CPUs and memory are plain sums. Each change of a node is
logged in its pool's ``touched``, so placement derives again only the nodes that changed.
``tests/unit/test_capacity.py`` checks that the pools equal ``build_snapshot``'s after every
change of a random sequence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from suanli.domain.fleet import Fleet
from suanli.domain.ids import JobId
from suanli.domain.jobs import Job
from suanli.domain.spec import MILLI
from suanli.scheduler.snapshot import NodeState, PoolState, empty_pools

# A pool's log of touched nodes (``PoolState.touched``) starts over, as a new list, past this
# many entries per node: its readers then walk the pool's nodes once (a memory bound).
TOUCHED_PER_NODE = 64


@dataclass(frozen=True, slots=True)
class _Held:
    """What one job occupies: per node (with its pool and its index there), its slots; and
    per node its share, CPUs, memory."""

    nodes: tuple[tuple[NodeState, list[int], tuple[int, ...], PoolState, int], ...]
    share: int
    cpus: int
    memory_gb: int


class LiveCapacity:
    """Every pool's nodes with their free capacity, as of the jobs it was last told of."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        pools = empty_pools(fleet)
        self._pools = pools
        self.pools = list(pools.values())
        # Per pool, its nodes by name with their index in the pool.
        self._names = {
            k: {n.name: (n, i) for i, n in enumerate(s.nodes)} for k, s in pools.items()
        }
        # Per node, the thousandths held on each slot (free = MILLI - held, floored at 0).
        self._used = {id(n): [0] * len(n.free_milli) for s in self.pools for n in s.nodes}
        self._held: dict[JobId, _Held] = {}

    def update(self, changed: Iterable[tuple[JobId, Job | None]]) -> None:
        """Follow jobs that changed (None: no longer stored): what each held is given back,
        what it holds now is taken."""
        for job_id, job in changed:
            before = self._held.pop(job_id, None)
            if before is not None:
                self._apply(before, -1)
            if job is None:
                continue
            now = self._holds(job)
            if now is not None:
                self._held[job_id] = now
                self._apply(now, 1)

    def available(self, unavailable_clusters: frozenset[str]) -> list[PoolState]:
        """The pools, each marked available unless its cluster does not answer."""
        for state in self.pools:
            state.available = state.cluster.name not in unavailable_clusters
            if len(state.touched) > TOUCHED_PER_NODE * len(state.nodes):
                state.touched = []
        return self.pools

    def _holds(self, job: Job) -> _Held | None:
        placement = job.placement
        if placement is None or not job.status.holds_capacity:
            return None
        where = (placement.cluster, placement.pool)
        by_name = self._names.get(where)
        if by_name is None:  # the pool left the fleet; its jobs no longer count against it
            return None
        pool = self._pools[where]
        nodes = []
        for assignment in placement.nodes:
            found = by_name.get(assignment.node)
            if found is None:
                continue
            node, index = found
            n = len(node.free_milli)
            slots = tuple(s for s in assignment.slots if 0 <= s < n)
            nodes.append((node, self._used[id(node)], slots, pool, index))
        resources = job.spec.resources
        return _Held(tuple(nodes), job.spec.share_milli, resources.cpus, resources.memory_gb)

    @staticmethod
    def _apply(held: _Held, sign: int) -> None:
        share = held.share * sign
        for node, used, slots, pool, index in held.nodes:
            free = node.free_milli
            for slot in slots:
                used[slot] += share
                free[slot] = max(0, MILLI - used[slot])
            node.free_cpus -= held.cpus * sign
            node.free_memory_gb -= held.memory_gb * sign
            node.changes += 1
            pool.touched.append(index)

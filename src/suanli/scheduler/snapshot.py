"""What the scheduler sees: every pool's nodes with their free capacity, at one instant.

Each accelerator of a node is free by thousandths (``MILLI`` = idle): a job asking for a
share of one accelerator takes part of one slot, other shares may fill the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from suanli.domain.fleet import Cluster, Fleet, Pool
from suanli.domain.jobs import Job
from suanli.domain.spec import MILLI


@dataclass
class NodeState:
    name: str
    free_milli: list[int]  # per accelerator slot, thousandths of it still free
    free_cpus: int
    free_memory_gb: int
    # How many times the free capacity above changed since the node was made (whoever
    # changes it counts): placement reuses what it derived from a node that did not change.
    changes: int = field(default=0, compare=False)

    @property
    def free_slots(self) -> list[int]:
        """The slots no job uses at all."""
        return [i for i, m in enumerate(self.free_milli) if m >= MILLI]

    @property
    def free_accelerators(self) -> float:
        """Idle accelerators on this node, shares included (e.g. 3.5)."""
        return sum(self.free_milli) / MILLI


@dataclass
class PoolState:
    cluster: Cluster
    pool: Pool
    nodes: list[NodeState]
    available: bool = True
    # Where a writer logs it: per change of a node's free capacity (``NodeState.changes``
    # += 1), the node's index, in order. A reader follows the log by position; a writer
    # may replace it with a new list, never shorten it (``scheduler.capacity``).
    touched: list[int] = field(default_factory=list, compare=False, repr=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.cluster.name, self.pool.name)


@dataclass(frozen=True)
class Snapshot:
    """The fleet's free capacity and the queue; policies may mutate a copy, never the store."""

    now: dt.datetime
    fleet: Fleet
    pools: list[PoolState]
    queue: list[Job] = field(default_factory=list)
    # The share of a bill each tenant's best voucher programme would take off, by
    # (tenant, domestic pool?): computed by the service from the policy files and caps left.
    voucher_rates: Mapping[tuple[str, bool], Decimal] = field(default_factory=dict)
    # A replay may ask node choices to break exact ties at random with this seed; the live
    # scheduler leaves it None and takes the first of equal nodes.
    seed: int | None = None
    # The pools each limited tenant may use (``TenantTerms.pools``; see
    # ``domain.tenants.may_use``); a tenant not named may use any.
    tenant_pools: Mapping[str, frozenset[str]] = field(default_factory=dict)


def empty_pools(
    fleet: Fleet, unavailable_clusters: frozenset[str] = frozenset()
) -> dict[tuple[str, str], PoolState]:
    """Every pool of ``fleet`` with all its nodes free, by (cluster, pool)."""
    pools: dict[tuple[str, str], PoolState] = {}
    for cluster, pool in fleet.pools():
        nodes = [
            NodeState(
                n,
                [MILLI] * pool.accelerators_per_node,
                pool.cpus_per_node,
                pool.memory_gb_per_node,
            )
            for n in pool.node_names()
        ]
        pools[(cluster.name, pool.name)] = PoolState(
            cluster, pool, nodes, cluster.name not in unavailable_clusters
        )
    return pools


def build_snapshot(
    now: dt.datetime,
    fleet: Fleet,
    holding: Iterable[Job],
    queue: Iterable[Job],
    unavailable_clusters: frozenset[str] = frozenset(),
    voucher_rates: Mapping[tuple[str, bool], Decimal] | None = None,
    tenant_pools: Mapping[str, frozenset[str]] | None = None,
) -> Snapshot:
    """Start from the fleet's full capacity and take away what ``holding`` jobs occupy."""
    pools = empty_pools(fleet, unavailable_clusters)
    names: dict[tuple[str, str], dict[str, NodeState]] = {}  # each pool's nodes by name
    for job in holding:
        placement = job.placement
        if placement is None or not job.status.holds_capacity:
            continue
        where = (placement.cluster, placement.pool)
        by_name = names.get(where)
        if by_name is None:
            state = pools.get(where)
            if state is None:  # the pool left the fleet; its jobs no longer count against it
                continue
            by_name = names[where] = {n.name: n for n in state.nodes}
        share = job.spec.share_milli
        for assignment in placement.nodes:
            node = by_name.get(assignment.node)
            if node is None:
                continue
            for slot in assignment.slots:
                if 0 <= slot < len(node.free_milli):
                    node.free_milli[slot] = max(0, node.free_milli[slot] - share)
            node.free_cpus -= job.spec.resources.cpus
            node.free_memory_gb -= job.spec.resources.memory_gb
            node.changes += 1
    return Snapshot(
        now,
        fleet,
        list(pools.values()),
        sorted(queue, key=queue_order),
        voucher_rates or {},
        tenant_pools=tenant_pools or {},
    )


def queue_order(job: Job) -> tuple[int, dt.datetime, str]:
    """Higher priority first, then first come, first served."""
    return (-job.spec.priority, job.submitted_at, job.id)

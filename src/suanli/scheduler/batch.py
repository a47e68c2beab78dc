"""The default policy's batch step: re-assign a cycle's jobs among pools for the least total cost.

The greedy pass places jobs in queue order, each on its own best pool with room; early
jobs take cheap pools that later jobs would have saved more on. When the cycle is small
enough to solve exactly (``MAX_JOBS`` whole-accelerator jobs, ``MAX_VARIABLES``), the
batch step solves it as a mixed-integer programme (HiGHS via ``scipy.optimize.milp``),
as ``suanli.sim.optimum`` does for the benchmark, with two rules of its own:

* priority first: the programme places as many jobs of the highest priority as it can,
  then of the next, and so on, and only then looks at cost; within one priority it may
  place a later job instead of an earlier one when that places as many and costs less
  (queue order decides between equal jobs only in the greedy pass);
* jobs that are not the batch's to move keep their greedy pool: jobs that want the
  earliest finish (``time``), jobs held to one cluster, and shares of one accelerator.

The chosen pools are then packed again node by node in queue order with the packing
policy; if any job no longer fits (the programme counts whole free accelerators, the
packing chooses nodes its own way), or the result places fewer jobs or costs more, the
greedy pass stands. Last, a *polish* moves any job to a pool it ranks higher that has room
at the end, and places any waiting job that now fits, until nothing moves: so a job's
explanation, "pools ranked before this one are full now", stays true.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Protocol, TypeVar

import numpy as np

from suanli.domain.ids import JobId
from suanli.domain.jobs import Job, NodeAssignment
from suanli.domain.spec import MILLI
from suanli.scheduler.nodes import CycleNodes, NodeRequest
from suanli.scheduler.packing import TargetWorkload
from suanli.scheduler.plans import Plan
from suanli.scheduler.snapshot import Snapshot

MAX_JOBS = 120  # jobs the programme may move or place; larger cycles keep the greedy pass
MAX_VARIABLES = 20_000
TIME_LIMIT_S = 5.0  # the best solution found by then is used (when it is better)


class Kind(Protocol):
    """What the batch step reads of a job's kind: its plan and its node request."""

    plan: Plan
    request: NodeRequest


K = TypeVar("K", bound=Kind)
Outcome = tuple[Job, K, int, tuple[NodeAssignment, ...] | None]
"""A job, its kind, the rank of its pool in its plan (-1: waiting) and its nodes."""


def improve(
    snapshot: Snapshot,
    outcomes: Sequence[Outcome[K]],
    packing: str,
    workload: TargetWorkload,
    models: Mapping[JobId, str] | None = None,
) -> list[Outcome[K]] | None:
    """Better outcomes for the cycle, or None when the greedy pass stands.

    ``models``: the accelerator model the fair queue admitted a job on; such a job keeps
    its greedy pool, and the polish moves it only among pools of that model.
    """
    models = models or {}
    movable = [i for i, o in enumerate(outcomes) if _movable(o) and o[0].id not in models]
    if not movable or len(movable) > MAX_JOBS:
        return None
    ranks = [outcomes[i][2] for i in movable]
    if max(ranks) <= 0 and (min(ranks) == 0 or max(ranks) < 0):
        # Every movable job is on its own best pool, or none is placed and so none can
        # make room: nothing to gain (this is what a full fleet's cycles look like).
        return None
    solved = _solve(snapshot, outcomes, set(movable))
    if solved is None:
        return None
    choice, where = solved
    for order in (_queue_order, _largest_first, None):
        better = _pack(snapshot, outcomes, choice, where, packing, workload, order)
        if better is not None:
            break
    else:
        return None
    _polish(better[1], better[0], models)
    if _score(better[0]) >= _score(outcomes):
        return None
    return better[0]


def _queue_order(outcomes: Sequence[Outcome[K]]) -> list[int]:
    return list(range(len(outcomes)))


def _largest_first(outcomes: Sequence[Outcome[K]]) -> list[int]:
    def size(i: int) -> tuple[int, int, int, int]:
        r = outcomes[i][1].request
        return (-r.nodes * r.accelerators, -r.nodes, -r.cpus, i)

    return sorted(range(len(outcomes)), key=size)


def _pack(
    snapshot: Snapshot,
    outcomes: Sequence[Outcome[K]],
    choice: dict[int, int],
    where: dict[int, list[int]],
    packing: str,
    workload: TargetWorkload,
    order: Callable[[Sequence[Outcome[K]]], list[int]] | None,
) -> tuple[list[Outcome[K]], CycleNodes] | None:
    """The programme's pools packed node by node in ``order`` by the packing policy, or on
    the programme's own nodes (``order`` None); None when a job does not fit."""
    nodes = CycleNodes(snapshot, packing, workload)
    better: list[Outcome[K]] = list(outcomes)
    shares = [i for i, o in enumerate(outcomes) if o[0].spec.is_fractional]
    rest = [i for i in (order or _queue_order)(outcomes) if not outcomes[i][0].spec.is_fractional]
    for i in shares + rest:  # shares first: the programme counted their slots as taken
        job, kind, greedy, _ = outcomes[i]
        k = choice.get(i, greedy)
        if k < 0:
            better[i] = (job, kind, -1, None)
            continue
        pool = nodes.get(kind.plan.ranked[k].index)
        if order is None and i in where:
            taken = pool.take_on(kind.request, where[i])
        else:
            taken = pool.take(kind.request)
        if taken is None:
            return None
        better[i] = (job, kind, k, taken)
    return better, nodes


def batch_cost(outcomes: Sequence[Outcome[K]]) -> Decimal:
    """Total expected net cost of the placed jobs."""
    return sum(
        (kind.plan.ranked[k].estimate.net for _, kind, k, _ in outcomes if k >= 0), Decimal(0)
    )


def _score(outcomes: Sequence[Outcome[K]]) -> tuple[tuple[tuple[int, int], ...], Decimal]:
    """Lower is better: more jobs of the highest priority placed, then of the next..., then
    less total cost."""
    placed: dict[int, int] = {}
    for job, _, k, _ in outcomes:
        placed[job.spec.priority] = placed.get(job.spec.priority, 0) + (k >= 0)
    return (tuple((-p, -n) for p, n in sorted(placed.items(), reverse=True)), batch_cost(outcomes))


def _weights(
    outcomes: Sequence[Outcome[K]], movable: set[int], costs: float
) -> dict[int, float] | None:
    """What placing each movable job is worth in the programme: one job of a priority more
    than every job of lower priorities and every cost together (None: too many levels for
    floating point)."""
    levels = sorted({outcomes[i][0].spec.priority for i in movable})
    weight, below = costs, costs
    by_level: dict[int, float] = {}
    for level in levels:
        by_level[level] = weight
        below += weight * sum(1 for i in movable if outcomes[i][0].spec.priority == level)
        weight = below + 1.0
    if weight > 1e12:
        return None
    return {i: by_level[outcomes[i][0].spec.priority] for i in movable}


def _movable(outcome: Outcome[K]) -> bool:
    job, kind, _, _ = outcome
    spec = job.spec
    return (
        spec.objective == "cost"
        and job.pinned_cluster is None
        and not spec.is_fractional
        and bool(kind.plan.ranked)
    )


def _solve(
    snapshot: Snapshot, outcomes: Sequence[Outcome[K]], movable: set[int]
) -> tuple[dict[int, int], dict[int, list[int]]] | None:
    """The rank each movable job gets in the exact optimum (-1: waiting), and the nodes
    (indices in the pool) of every job the programme placed; None: no solution."""
    # Imported here: SciPy is heavy and only a small cycle ever needs it.
    from scipy.optimize import Bounds, LinearConstraint, milp  # noqa: PLC0415
    from scipy.sparse import coo_array  # noqa: PLC0415

    free = _free_whole(snapshot, outcomes, movable)
    # y: (outcome, rank, pool index, cost, forced); a forced y is the greedy pool of a job
    # the batch does not move.
    ys: list[tuple[int, int, int, float, bool]] = []
    for i, (job, kind, k, _) in enumerate(outcomes):
        if i in movable:
            ys.extend(
                (i, r, o.index, float(o.estimate.net), False)
                for r, o in enumerate(kind.plan.ranked)
            )
        elif k >= 0 and not job.spec.is_fractional:
            ys.append((i, k, kind.plan.ranked[k].index, 0.0, True))
    xs = [(y, n) for y, (_, _, p, _, _) in enumerate(ys) for n in range(len(free[p]))]
    if len(ys) + len(xs) > MAX_VARIABLES:
        return None
    weights = _weights(outcomes, movable, sum(abs(c) for *_, c, _ in ys) + 1.0)
    if weights is None:
        return None
    cost = [c - weights.get(i, 0.0) for i, _, _, c, _ in ys]
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    lower: list[float] = []
    upper: list[float] = []

    def row(entries: list[tuple[int, float]], lo: float, hi: float) -> None:
        for col, val in entries:
            rows.append(len(lower))
            cols.append(col)
            vals.append(val)
        lower.append(lo)
        upper.append(hi)

    by_job: dict[int, list[int]] = {}
    for y, (i, *_) in enumerate(ys):
        by_job.setdefault(i, []).append(y)
    for i, cols_i in by_job.items():
        row([(y, 1.0) for y in cols_i], 0.0 if i in movable else 1.0, 1.0)
    ny = len(ys)
    by_node: dict[tuple[int, int], list[tuple[int, NodeRequest]]] = {}
    for x, (y, n) in enumerate(xs):
        i, _, p, _, _ = ys[y]
        by_node.setdefault((p, n), []).append((ny + x, outcomes[i][1].request))
    first_x: dict[int, int] = {}
    for x, (y, _) in enumerate(xs):
        first_x.setdefault(y, ny + x)
    for y, (i, _, p, _, _) in enumerate(ys):
        need = outcomes[i][1].request.nodes
        start = first_x.get(y)
        ranks = [] if start is None else list(range(start, start + len(free[p])))
        row([(c, 1.0) for c in ranks] + [(y, -float(need))], 0.0, 0.0)
    for (p, n), users in by_node.items():
        slots, cpus, memory = free[p][n]
        row([(c, float(r.accelerators)) for c, r in users], 0.0, float(slots))
        row([(c, float(r.cpus)) for c, r in users], 0.0, float(cpus))
        row([(c, float(r.memory_gb)) for c, r in users], 0.0, float(memory))
    # Nodes of a pool with the same free capacity are interchangeable: order them by the
    # accelerators they give, which leaves one of many equal solutions (the solver would
    # otherwise try every permutation).
    for p, nodes in free.items():
        for n in range(len(nodes) - 1):
            if nodes[n] == nodes[n + 1] and (p, n) in by_node:
                entries = [(c, float(r.accelerators)) for c, r in by_node[(p, n)]]
                entries += [(c, -float(r.accelerators)) for c, r in by_node.get((p, n + 1), [])]
                row(entries, 0.0, np.inf)
    size = ny + len(xs)
    lo = np.zeros(size)
    lo[[y for y, e in enumerate(ys) if e[4]]] = 1.0  # forced pools
    matrix = coo_array((vals, (rows, cols)), shape=(len(lower), size)).tocsr()
    found = milp(
        np.array(cost + [0.0] * len(xs)),
        constraints=LinearConstraint(matrix, np.array(lower), np.array(upper)),
        integrality=np.ones(size),
        bounds=Bounds(lo, np.ones(size)),
        options={"time_limit": TIME_LIMIT_S, "mip_rel_gap": 1e-9},
    )
    if found.x is None:
        return None
    choice = dict.fromkeys(movable, -1)
    for y, (i, r, _, _, forced) in enumerate(ys):
        if not forced and found.x[y] > 0.5:
            choice[i] = r
    where: dict[int, list[int]] = {}
    for x, (y, n) in enumerate(xs):
        if found.x[ny + x] > 0.5:
            where.setdefault(ys[y][0], []).append(n)
    return choice, where


def _free_whole(
    snapshot: Snapshot, outcomes: Sequence[Outcome[K]], movable: set[int]
) -> dict[int, list[tuple[int, int, int]]]:
    """Per pool a job may use, per node: whole free accelerators, CPUs and memory left once
    the shares of one accelerator the greedy pass placed are taken away (they stay)."""
    pools = {o.index for i in movable for o in outcomes[i][1].plan.ranked}
    pools |= {kind.plan.ranked[k].index for _, kind, k, _ in outcomes if k >= 0}
    free: dict[int, list[tuple[int, int, int]]] = {}
    shares: dict[tuple[int, str], list[tuple[tuple[int, ...], NodeRequest]]] = {}
    for job, kind, k, taken in outcomes:
        if k >= 0 and taken is not None and job.spec.is_fractional:
            p = kind.plan.ranked[k].index
            for a in taken:
                shares.setdefault((p, a.node), []).append((a.slots, kind.request))
    for p in sorted(pools):
        nodes = []
        for node in snapshot.pools[p].nodes:
            milli = list(node.free_milli)
            cpus, memory = node.free_cpus, node.free_memory_gb
            for slots, request in shares.get((p, node.name), ()):
                for s in slots:
                    milli[s] -= request.share_milli
                cpus -= request.cpus
                memory -= request.memory_gb
            nodes.append((milli.count(MILLI), cpus, memory))
        free[p] = nodes
    return free


def _polish(nodes: CycleNodes, outcomes: list[Outcome[K]], models: Mapping[JobId, str]) -> None:
    """Move jobs to higher-ranked pools with room, and place waiting jobs that fit, until
    nothing moves (each move lowers a job's rank or places one: it ends)."""
    moved = True
    while moved:
        moved = False
        for i, (job, kind, k, taken) in enumerate(outcomes):
            ranked = kind.plan.ranked
            model = models.get(job.id)
            for better in range(k if k >= 0 else len(ranked)):
                if model is not None and ranked[better].state.pool.accelerator != model:
                    continue
                got = nodes.get(ranked[better].index).take(kind.request)
                if got is not None:
                    if k >= 0 and taken is not None:
                        nodes.get(ranked[k].index).release(kind.request, taken)
                    outcomes[i] = (job, kind, better, got)
                    moved = True
                    break

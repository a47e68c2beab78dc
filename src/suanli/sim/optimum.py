"""The exact optimum of one scheduling cycle, by mixed-integer programming (HiGHS via SciPy).

For a snapshot small enough to solve exactly, which pool (and which nodes) each queued job
should get so that the most jobs are placed and, among those placements, the total
expected cost is least. Costs are the placement policy's own figures (its ``Planner``), so
the optimum and the policy disagree only on choices, never on prices.

Variables: ``y[j, p]`` = job j runs on pool p (one of its ranked pools), ``x[j, n]`` = one
rank of job j runs on node n. Constraints: a job takes at most one pool; it takes exactly
``nodes`` distinct nodes of that pool; no node gives more accelerators, CPUs or memory
than it has free. Objective: ``sum(cost * y) - BIG * sum(y)`` with ``BIG`` above any total
cost, so placing one more job always beats any saving.

Whole accelerators only: a job asking a share of one accelerator would need per-slot
variables; such snapshots are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from suanli.domain.ids import JobId
from suanli.scheduler.plans import Planner, Rank
from suanli.scheduler.snapshot import Snapshot


@dataclass(frozen=True)
class Optimum:
    """The best assignment: pool per placed job, and its total expected cost."""

    pools: dict[JobId, tuple[str, str]]
    cost: Decimal
    proven: bool  # HiGHS proved optimality (False: time limit, best found so far)

    @property
    def placed(self) -> int:
        return len(self.pools)


def optimum(snapshot: Snapshot, rank: Rank, time_limit_s: float = 60.0) -> Optimum:
    """Solve ``snapshot``'s cycle exactly; ``rank`` is the policy's (for its figures)."""
    if any(j.spec.is_fractional for j in snapshot.queue):
        raise ValueError("the exact optimum handles whole accelerators only")
    planner = Planner(snapshot, rank)
    jobs = list(snapshot.queue)
    # y variables first, then x variables; costs as floats for the solver only.
    y_vars: list[tuple[int, int, Decimal]] = []  # (job, pool index, net cost)
    x_vars: list[tuple[int, int, int]] = []  # (job, pool index, node index in pool)
    for j, job in enumerate(jobs):
        for option in planner.plan(job).ranked:
            y_vars.append((j, option.index, option.estimate.net))
            count = len(snapshot.pools[option.index].nodes)
            x_vars.extend((j, option.index, n) for n in range(count))
    if not y_vars:
        return Optimum({}, Decimal(0), True)
    ny = len(y_vars)
    total = sum(abs(c) for _, _, c in y_vars)
    big = float(total) + 1.0
    cost = np.array([float(c) - big for _, _, c in y_vars] + [0.0] * len(x_vars))
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    lower: list[float] = []
    upper: list[float] = []

    def row(entries: list[tuple[int, float]], lo: float, hi: float) -> None:
        r = len(lower)
        for col, val in entries:
            rows.append(r)
            cols.append(col)
            vals.append(val)
        lower.append(lo)
        upper.append(hi)

    # Each job takes at most one pool.
    by_job: dict[int, list[int]] = {}
    for k, (j, _, _) in enumerate(y_vars):
        by_job.setdefault(j, []).append(k)
    for ks in by_job.values():
        row([(k, 1.0) for k in ks], 0.0, 1.0)
    # On its pool, exactly `nodes` distinct nodes; none elsewhere.
    x_index = {v: ny + i for i, v in enumerate(x_vars)}
    for k, (j, p, _) in enumerate(y_vars):
        need = jobs[j].spec.resources.nodes
        ranks = [x_index[(j, p, n)] for n in range(len(snapshot.pools[p].nodes))]
        row([(c, 1.0) for c in ranks] + [(k, -float(need))], 0.0, 0.0)
    # No node over its free accelerators, CPUs or memory.
    by_node: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for (j, p, n), col in x_index.items():
        by_node.setdefault((p, n), []).append((j, col))
    for (p, n), users in by_node.items():
        node = snapshot.pools[p].nodes[n]
        res = [jobs[j].spec for j, _ in users]
        row(
            [(c, float(s.accelerators_per_node)) for (_, c), s in zip(users, res, strict=True)],
            0.0,
            float(len(node.free_slots)),
        )
        row(
            [(c, float(s.resources.cpus)) for (_, c), s in zip(users, res, strict=True)],
            0.0,
            float(node.free_cpus),
        )
        row(
            [(c, float(s.resources.memory_gb)) for (_, c), s in zip(users, res, strict=True)],
            0.0,
            float(node.free_memory_gb),
        )
    n_vars = ny + len(x_vars)
    matrix = coo_array((vals, (rows, cols)), shape=(len(lower), n_vars)).tocsr()
    result = milp(
        cost,
        constraints=LinearConstraint(matrix, np.array(lower), np.array(upper)),
        integrality=np.ones(n_vars),
        bounds=Bounds(np.zeros(n_vars), np.ones(n_vars)),
        options={"time_limit": time_limit_s},
    )
    if result.x is None:
        raise RuntimeError(f"the MILP found no solution: {result.message}")
    pools: dict[JobId, tuple[str, str]] = {}
    spent = Decimal(0)
    for k, (j, p, c) in enumerate(y_vars):
        if result.x[k] > 0.5:
            state = snapshot.pools[p]
            pools[jobs[j].id] = (state.cluster.name, state.pool.name)
            spent += c
    return Optimum(pools, spent, bool(result.status == 0))

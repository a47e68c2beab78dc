"""Upper bounds on the GPU allocation ratio any packing policy can reach in a replay.

A replay's arrivals do not depend on the policy (``pack.arrivals``), so what it could
allocate at best is a property of the trace and the cluster. Two bounds, the smaller wins:

* **Capacity** (``capacity_bound``): a linear relaxation of packing the arrived pods offline.
  Nodes of one spec form a group; ``x[shape, group]`` pods of a shape go to a group, within
  the group's CPU, memory and GPU totals, never more than arrived, only where one pod fits
  one node (GPU count, model, CPU, memory). One cut keeps it honest about shares: a GPU
  holds at most one pod asking more than half of it. It sees CPU or memory running out
  before the GPUs do, for every policy, even an offline one.
* **Must-place** (``must_place_bound``): a policy may not refuse a pod that fits. A share of
  ``m`` > 500 milli-GPU leaves ``1000 - m`` on its GPU that only pods of at most that size
  can use. Early in the trace, when too few pods have arrived to close every node with a
  GPU left whole (touch all its GPUs, or use up its CPU or memory), such a pod must be
  placed. A small linear program per prefix (``_could_be_refused``) answers whether
  even an adversarial placement of the pods so far could close every such node; until it
  could, every pod of size ``m`` is placed, and each strands ``1000 - m`` minus what the
  small pods of the whole replay could fill.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linprog
from scipy.sparse import lil_array

from suanli.scheduler.packing import MILLI, NodeSpec, PodRequest, PodShape

HALF = MILLI // 2


@dataclass(frozen=True)
class AllocationBound:
    """Both bounds as GPU allocation ratios, and the pods the must-place one counted."""

    capacity: float
    must_place: float
    must_place_milli: int  # the share size m of the must-place bound (0: none applied)
    must_place_pods: int  # pods of that size that every policy places

    @property
    def ratio(self) -> float:
        return min(self.capacity, self.must_place)


def allocation_bound(nodes: Sequence[NodeSpec], arrived: Sequence[PodRequest]) -> AllocationBound:
    """Both bounds for a replay whose arrivals were ``arrived``."""
    capacity = capacity_bound(nodes, arrived)
    must, shape, count = must_place_bound(nodes, arrived)
    return AllocationBound(capacity, must, shape.gpu_milli if shape else 0, count)


def _groups(nodes: Sequence[NodeSpec]) -> list[tuple[NodeSpec, int]]:
    """GPU nodes of one spec together (names aside), with how many there are."""
    specs = Counter(NodeSpec("", n.cpu_milli, n.memory_mib, n.gpus, n.gpu_model) for n in nodes)
    return [(spec, count) for spec, count in sorted(specs.items(), key=repr) if spec.gpus]


def _fits(shape: PodShape, node: NodeSpec) -> bool:
    return (
        shape.cpu_milli <= node.cpu_milli
        and shape.memory_mib <= node.memory_mib
        and shape.gpus <= node.gpus
        and (not shape.gpu_spec or node.gpu_model in shape.gpu_spec)
    )


def capacity_bound(nodes: Sequence[NodeSpec], arrived: Sequence[PodRequest]) -> float:
    """The most GPU any placement of ``arrived`` could allocate, over all GPUs (LP relaxation).

    CPU-only pods are left out: leaving them unplaced only frees room for GPU pods.
    """
    total = sum(n.gpus for n in nodes) * MILLI
    shapes = Counter(p.shape for p in arrived if p.gpus)
    if not total or not shapes:
        return 0.0
    groups = _groups(nodes)
    pairs = [(s, g) for s in shapes for g, (spec, _) in enumerate(groups) if _fits(s, spec)]
    if not pairs:
        return 0.0
    order = {s: i for i, s in enumerate(shapes)}
    rows = len(shapes) + 4 * len(groups)
    a = lil_array((rows, len(pairs)))
    b = np.zeros(rows)
    for i, s in enumerate(shapes):
        b[i] = shapes[s]
    base = len(shapes)
    for g, (spec, count) in enumerate(groups):
        b[base + 4 * g : base + 4 * g + 4] = (
            spec.cpu_milli * count,
            spec.memory_mib * count,
            spec.gpus * MILLI * count,
            spec.gpus * count,  # at most one pod above half a GPU per GPU
        )
    gain = np.zeros(len(pairs))
    for j, (s, g) in enumerate(pairs):
        row = base + 4 * g
        a[order[s], j] = 1
        a[row, j] = s.cpu_milli
        a[row + 1, j] = s.memory_mib
        a[row + 2, j] = s.gpus * s.gpu_milli
        a[row + 3, j] = s.gpus if s.gpu_milli > HALF else 0
        gain[j] = s.gpus * s.gpu_milli
    result = linprog(-gain, A_ub=a.tocsr(), b_ub=b, bounds=(0, None), method="highs")
    if result.status != 0:
        raise RuntimeError(f"capacity bound LP failed: {result.message}")
    return float(-result.fun) / total


def must_place_bound(
    nodes: Sequence[NodeSpec], arrived: Sequence[PodRequest], *, shapes: int = 3
) -> tuple[float, PodShape | None, int]:
    """(bound, probe shape, pods of it that every policy places) for the ``shapes`` most
    frequent shares above half a GPU, the lowest bound of them; (1.0, None, 0) for none."""
    total = sum(n.gpus for n in nodes) * MILLI
    big = Counter(p.shape for p in arrived if p.shares_gpu and p.gpu_milli > HALF)
    best: tuple[float, PodShape | None, int] = (1.0, None, 0)
    if not total:
        return best
    for shape, _ in big.most_common(shapes):
        free, placed = _least_stranded(nodes, arrived, shape)
        bound = 1.0 - max(0.0, free) / total
        if bound < best[0]:
            best = (bound, shape, placed)
    return best


@dataclass(frozen=True)
class _Budgets:
    """What the pods before each arrival could use to close nodes: GPUs they could touch
    (take more than ``1000 - m`` of), CPU and memory, as running totals."""

    touches: NDArray[np.float64]
    cpu: NDArray[np.float64]
    memory: NDArray[np.float64]


def _budgets(arrived: Sequence[PodRequest], rest: int) -> _Budgets:
    big = np.array([p.gpus if p.gpu_milli > rest else 0 for p in arrived], dtype=np.float64)
    small = np.array([p.gpu_milli if 0 < p.gpu_milli <= rest else 0 for p in arrived])
    # Small pods touch a GPU only together: at most one per (rest + 1) milli of them.
    touches = np.cumsum(big) + np.floor(np.cumsum(small) / (rest + 1))
    cpu = np.cumsum([p.cpu_milli for p in arrived], dtype=np.float64)
    memory = np.cumsum([p.memory_mib for p in arrived], dtype=np.float64)
    pad = np.zeros(1)  # budgets *before* arrival i: shift by one
    return _Budgets(
        np.concatenate([pad, touches]),
        np.concatenate([pad, cpu]),
        np.concatenate([pad, memory]),
    )


def _least_stranded(
    nodes: Sequence[NodeSpec], arrived: Sequence[PodRequest], probe: PodShape
) -> tuple[float, int]:
    """Least idle milli-GPU any policy ends with, and the probe pods it must place.

    Say the first probe pod refused is the ``k``-th. The ``k`` before it were placed, each
    leaving ``rest`` = 1000 - m on its GPU; when the ``k``-th came, every node that takes
    it was closed: all its GPUs touched, or its CPU or memory below the probe's. A GPU left
    untouched on a node closed by CPU or memory keeps at least ``m`` idle. Only pods of at
    most ``rest``, or asking less CPU or memory than the probe, can ever use those leftovers
    (``fillers``). So idle >= rest * k + m * untouched(k) - fillers, and the policy picks
    the best ``k`` (or never refuses one: k = all probe pods, nothing untouched).
    """
    m, rest = probe.gpu_milli, MILLI - probe.gpu_milli
    positions = [i for i, p in enumerate(arrived) if p.shape == probe]
    fillers = sum(
        p.gpu_request_milli
        for p in arrived
        if p.gpus
        and (
            (p.gpus == 1 and p.gpu_milli <= rest)
            or p.cpu_milli < probe.cpu_milli
            or p.memory_mib < probe.memory_mib
        )
    )
    groups = [(s, c) for s, c in _groups(nodes) if _fits(probe, s)]
    budgets = _budgets(arrived, rest)
    best = float(rest * len(positions))  # never refuses a probe pod
    placed = len(positions)
    # Untouched GPUs only shrink as budgets grow: for k in [a, b) between two grid points,
    # idle >= rest * a + m * untouched(b - 1). A grid of ~64 keeps this a few dozen LPs.
    grid = sorted({*range(0, len(positions), max(1, len(positions) // 64)), len(positions)})
    for a, b in itertools.pairwise(grid):
        idle = rest * a + m * _untouched(groups, probe, budgets, positions[b - 1])
        if idle < best:
            best, placed = idle, a
    return best - fillers, placed


def _untouched(
    groups: Sequence[tuple[NodeSpec, int]], probe: PodShape, budgets: _Budgets, before: int
) -> float:
    """Fewest GPUs left untouched on nodes closed by CPU or memory when every node that
    takes ``probe`` is closed by arrival ``before``; infinity when they cannot all be.

    LP per node group: nodes closed by touching all GPUs (u), by CPU (a), by memory (b),
    and touches spent on nodes closed otherwise (t); the pods' touches, CPU and memory so
    far are the budgets, each counted in full for every use (a relaxation).
    """
    if not groups:
        return 0.0
    k = len(groups)
    a_ub = lil_array((2 * k + 3, 4 * k))
    b_ub = np.zeros(2 * k + 3)
    cost = np.zeros(4 * k)
    for g, (spec, count) in enumerate(groups):
        u, a, b, t = 4 * g, 4 * g + 1, 4 * g + 2, 4 * g + 3
        a_ub[g, [u, a, b]] = -1  # u + a + b >= count: every node closed
        b_ub[g] = -count
        a_ub[k + g, [a, b]] = -spec.gpus  # t <= gpus * (a + b)
        a_ub[k + g, t] = 1
        a_ub[2 * k, [u, t]] = (spec.gpus, 1)
        a_ub[2 * k + 1, a] = spec.cpu_milli - probe.cpu_milli + 1
        a_ub[2 * k + 2, b] = spec.memory_mib - probe.memory_mib + 1
        cost[[a, b]] = spec.gpus
        cost[t] = -1
    b_ub[2 * k :] = (
        budgets.touches[before],
        budgets.cpu[before],
        budgets.memory[before],
    )
    result = linprog(cost, A_ub=a_ub.tocsr(), b_ub=b_ub, bounds=(0, None), method="highs")
    if result.status == 2:  # infeasible: some node still takes the probe
        return float("inf")
    if result.status != 0:
        raise RuntimeError(f"must-place LP failed: {result.message}")
    return max(0.0, float(result.fun))

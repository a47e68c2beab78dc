"""Baseline packing policies: random placement and best fit."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from suanli.scheduler.packing.base import PolicyContext, pick_lowest
from suanli.scheduler.packing.fragmentation import FloatArray
from suanli.scheduler.packing.kubernetes import NodeOrder, best_fit_scores
from suanli.scheduler.packing.state import ClusterState
from suanli.scheduler.packing.types import MILLI, Placement, PodRequest


class RandomFit:
    """Any node that fits, any GPU that fits: the floor every other policy must beat."""

    name = "random"

    def __init__(self, ctx: PolicyContext) -> None:
        self._rng = np.random.default_rng(ctx.seed)

    def choose(
        self, state: ClusterState, pod: PodRequest, candidates: NDArray[np.intp]
    ) -> Placement:
        node = int(self._rng.choice(candidates))
        if not pod.gpus:
            return Placement(node)
        fitting = np.flatnonzero(state.gpu_free[node] >= pod.gpu_milli)
        slots = self._rng.choice(fitting, size=pod.gpus, replace=False)
        return Placement(node, tuple(sorted(int(s) for s in slots)))


def leftover_score(state: ClusterState, pod: PodRequest, nodes: NDArray[np.intp]) -> FloatArray:
    """What would stay free on each node after ``pod``: half CPU, half GPU, each normalised
    by the largest node, so that a node of 8 GPUs and one of 2 compare on one scale."""
    cpu_scale = max(1, int(state.cpu_capacity.max()))
    gpu_scale = max(1, int(state.gpu_count.max()))
    cpu_left = state.cpu_free[nodes] - pod.cpu_milli
    gpu_left = state.gpu_free[nodes].sum(axis=1) - pod.gpu_request_milli
    score: FloatArray = 0.5 * cpu_left / cpu_scale + 0.5 * gpu_left / (gpu_scale * MILLI)
    return score


class BestFit:
    """The node with the least CPU and GPU left over, and the fullest GPU that still fits.

    The scoring of the FGD paper's BestFit baseline: tight nodes first keeps large nodes
    empty for large pods, but it is blind to *which* leftovers are still usable.
    """

    name = "best-fit"

    def __init__(self, ctx: PolicyContext) -> None:
        self._rng = np.random.default_rng(ctx.seed) if ctx.random_ties else None
        self._order = NodeOrder(ctx.seed) if ctx.options.kubernetes_scores else None

    def choose(
        self, state: ClusterState, pod: PodRequest, candidates: NDArray[np.intp]
    ) -> Placement:
        if self._order is not None:
            ties = self._order.tie_break(state, candidates)
            best = pick_lowest(-best_fit_scores(state, pod, candidates), None, then=ties)
        else:
            best = pick_lowest(leftover_score(state, pod, candidates), self._rng)
        node = int(candidates[best])
        return Placement(node, state.tightest_slots(node, pod))

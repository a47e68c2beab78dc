"""The FGD artifact's Kubernetes score plugins, to reproduce its published figures.

The artifact (github.com/hkust-adsl/kubernetes-scheduler-simulator, ``docs/packing-fgd-
protocol.md``) scores nodes through the Kubernetes scheduler framework: every plugin returns
an integer from 0 to 100, higher is better, and the scheduler takes one of the best nodes at
random. Integer scores tie far more often than exact ones, and which node a tie goes to
changes the outcome, so ``PackingOptions.kubernetes_scores`` makes ``best-fit`` and ``fgd``
score exactly this way:

* BestFit (``plugin/best_fit_score.go``): half the CPU and half the GPU a node would have
  left, over a fixed largest node of 128 cores and 8 GPUs, as ``int((1 - left) * 100)``;
  then rescaled over the nodes that fit to 0-100 with integer division (``NormalizeScore``).
* Ties: the artifact's scheduler is a Kubernetes 1.20.5 fork (``go.mod`` replaces
  ``k8s.io/kubernetes`` with ``github.com/mental2008/kubernetes v1.20.5-minor``) whose
  ``selectHost`` takes, among the best nodes, the first by name "for reproducibility"; the
  simulator prefixes every node's name with its place in a seeded random permutation
  (``syncClusterResourceList``). Ties thus go to one fixed random order of the nodes per run
  (``NodeOrder``), not to a fresh draw each time: equal nodes fill one after another.
* FGD (``plugin/fgd_score.go``): ``int(sigmoid((before - after) / 1000) * 100)`` of the
  node's fragmentation against the *typical pods* (``utils/frag.go``, ``GetTypicalPods``):
  request shapes without memory, CPU-only ones included, the most frequent first until they
  cover 95 % of the pods, weights renormalised. A share goes on the first GPU of the node
  with the best integer score.

Pure functions over the packing core's arrays; no I/O.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from numpy.typing import NDArray

from suanli.scheduler.packing.base import TieBreak
from suanli.scheduler.packing.fragmentation import FloatArray, TargetWorkload
from suanli.scheduler.packing.state import ClusterState
from suanli.scheduler.packing.types import PodRequest, PodShape

MAX_SPEC_CPU_MILLI = 128_000
"""The artifact's ``MaxSpecCpu`` (``open-gpu-share/utils/const.go``): BestFit's CPU scale."""
MAX_SPEC_GPU_MILLI = 8_000
"""The artifact's ``MaxSpecGpu``: BestFit's GPU scale (8 GPUs)."""
MAX_NODE_SCORE = 100
"""Kubernetes' ``framework.MaxNodeScore``; the lowest is 0."""
TYPICAL_SHARE = 0.95
"""The run scripts' ``podPopularityThreshold`` (95): typical pods cover this share of pods."""
FRAG_SCALE_MILLI = 1000.0
"""FGD's sigmoid takes the fragmentation change in GPUs (milli-GPU over 1000)."""


class NodeOrder:
    """A seeded random rank of every node of a cluster: the artifact's tie-break (lower
    first), drawn once per cluster state."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._state: ClusterState | None = None
        self._rank: NDArray[np.int64] = np.zeros(0, dtype=np.int64)

    def tie_break(self, state: ClusterState, nodes: NDArray[np.intp]) -> TieBreak:
        """Second score of the tied positions into ``nodes``: their rank (lower wins)."""
        if self._state is not state:
            self._state = state
            self._rank = np.random.default_rng(self._seed).permutation(len(state))

        def rank(tied: NDArray[np.intp]) -> FloatArray:
            ranks: FloatArray = self._rank[nodes[tied]].astype(np.float64)
            return ranks

        return rank


def best_fit_scores(state: ClusterState, pod: PodRequest, nodes: NDArray[np.intp]) -> FloatArray:
    """BestFit's normalised integer score of each of ``nodes`` (higher is better)."""
    cpu_left = (state.cpu_free[nodes] - pod.cpu_milli) / MAX_SPEC_CPU_MILLI * 0.5
    gpu_left = (state.gpu_free[nodes].sum(axis=1) - pod.gpu_request_milli) / MAX_SPEC_GPU_MILLI
    raw = np.trunc((1.0 - (cpu_left + gpu_left * 0.5)) * MAX_NODE_SCORE).astype(np.int64)
    low, high = int(raw.min()), int(raw.max())
    if high == low:
        return np.zeros(len(nodes))
    scaled: FloatArray = ((raw - low) * MAX_NODE_SCORE // (high - low)).astype(np.float64)
    return scaled


def typical_pods(workload: TargetWorkload) -> tuple[TargetWorkload, float]:
    """The artifact's typical pods of ``workload``, and the weight of their CPU-only shapes.

    Shapes are merged without memory; sorted by weight, heaviest first (equal weights: the
    larger CPU, then GPU share, GPU count and model first, as its reverse sort has it); kept
    until they cover ``TYPICAL_SHARE`` of the pods; then renormalised.
    """
    merged: dict[PodShape, float] = defaultdict(float)
    for shape, weight in zip(workload.shapes, workload.weights, strict=True):
        key = PodShape(shape.cpu_milli, 0, shape.gpus, shape.gpu_milli, shape.gpu_spec)
        merged[key] += weight
    ordered = sorted(
        merged.items(),
        key=lambda kv: (kv[1], kv[0].cpu_milli, kv[0].gpu_milli, kv[0].gpus, _spec(kv[0])),
        reverse=True,
    )
    kept: list[tuple[PodShape, float]] = []
    covered = 0.0
    total = sum(merged.values())
    for shape, weight in ordered:
        if covered >= TYPICAL_SHARE * total - 1e-12:
            break
        kept.append((shape, weight))
        covered += weight
    if not covered:
        return TargetWorkload((), ()), 0.0
    shapes = tuple(s for s, _ in kept)
    weights = tuple(w / covered for _, w in kept)
    cpu_only = sum(w for s, w in zip(shapes, weights, strict=True) if not s.gpus)
    return TargetWorkload(shapes, weights), cpu_only


def frag_scores(growth: FloatArray, pod: PodRequest, cpu_only: float) -> FloatArray:
    """FGD's integer score for fragmentation ``growth`` of the GPU shapes (milli-GPU).

    CPU-only typical pods count every idle GPU of a node as a fragment, so taking
    ``pod``'s GPUs lowers their part by ``cpu_only`` times its request on any node: the same
    shift everywhere, which still moves scores across integer steps.
    """
    change = (cpu_only * pod.gpu_request_milli - growth) / FRAG_SCALE_MILLI
    sigmoid = 1.0 / (1.0 + np.exp(-change))
    scores: FloatArray = np.trunc(sigmoid * MAX_NODE_SCORE)
    return scores


def _spec(shape: PodShape) -> str:
    return "|".join(sorted(shape.gpu_spec))

"""The FGD artifact's replay protocol, as its simulator runs it (``docs/packing-fgd-protocol.md``).

What ``suanli sim pack --protocol fgd`` does differently from suanli's own protocol, each
from the artifact's code (github.com/hkust-adsl/kubernetes-scheduler-simulator, run with
``experiments/run_scripts/generate_run_scripts.py``: ``-tune 1.3 -tuneseed 42..51
--shuffle-pod=true``):

* **Cluster**: GPU nodes only (``data/prepare_input.sh`` copies
  ``openb_node_list_gpu_node.yaml``); CPU-only pods compete with GPU pods for their CPU.
* **Order**: the whole pod list shuffled with the seed (``SortClusterPods``), not trace order.
* **Tuning to the load** (``TunePodsByNodeTotalResource``): pods drawn uniformly, with
  replacement, from the list (CPU-only ones too) are appended after the shuffled list while
  GPU asked stays within ``load`` x the cluster's GPUs; the first draw whose *per-GPU*
  request would pass it ends the drawing (a whole 8-GPU pod is checked as 1,000 milli and
  added as 8,000). A list that already asks for more loses random pods until it does not.
* **Measure** (``analysis.go`` ``[Alloc]`` lines, ``merge_alloc_discrete_0920.py``): after
  every pod, allocated GPU over all GPUs; the figure at 130 is the mean over the pods whose
  arrived GPU, in percent of the cluster's rounded to an integer, is 130 (each value rounded
  to 0.01 %), else within 129-131.

The artifact draws from Go's ``math/rand``; this module draws from Python's ``random`` with the
same seed, so single runs differ and the means over seeds agree.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from suanli.scheduler.packing import NodeSpec, PodRequest

PERCENT_DECIMALS = 2
"""The artifact's analysis rounds each allocation ratio (in percent) to 0.01."""
WINDOW_FALLBACK_PERCENT = 1
"""With no pod exactly at the load's percent, the analysis widens the window by this much."""


def artifact_cluster(nodes: Sequence[NodeSpec]) -> list[NodeSpec]:
    """The nodes the artifact's cluster has: those with GPUs."""
    return [n for n in nodes if n.gpus]


def artifact_arrivals(
    pods: Sequence[PodRequest], gpu_total_milli: int, load: float, seed: int
) -> list[PodRequest]:
    """The pods in the order the artifact's simulator creates them (module docstring)."""
    rng = random.Random(seed)
    shuffled = list(pods)
    rng.shuffle(shuffled)
    target = load * gpu_total_milli
    asked = sum(p.gpu_request_milli for p in pods)
    if asked > target:
        while asked > target and shuffled:
            asked -= shuffled.pop(rng.randrange(len(shuffled))).gpu_request_milli
        return shuffled
    if not any(p.gpus for p in pods):
        return shuffled  # draws would never end: nothing they add asks for a GPU
    while True:
        pod = pods[rng.randrange(len(pods))]
        if asked + (pod.gpu_milli if pod.gpus else 0) > target:
            return shuffled
        asked += pod.gpu_request_milli
        shuffled.append(pod)


class ArtifactMeasure:
    """The artifact's figure at ``load``: mean allocation over the pods that arrived while
    the arrived GPU, as an integer percent of the cluster's, equals the load's."""

    def __init__(self, gpu_total_milli: int, load: float) -> None:
        self._total = gpu_total_milli
        self._percent = round(load * 100)
        self._samples: list[tuple[int, float]] = []  # (arrived percent, allocation %)

    def observe(self, arrived_milli: int, ratio: float) -> None:
        if not self._total:
            return
        percent = round(100 * arrived_milli / self._total)
        if abs(percent - self._percent) <= WINDOW_FALLBACK_PERCENT:
            self._samples.append((percent, round(100 * ratio, PERCENT_DECIMALS)))

    def ratio(self, final: float) -> float:
        """The figure as a fraction; ``final`` when no pod arrived near the load."""
        exact = [r for p, r in self._samples if p == self._percent]
        chosen = exact or [r for _, r in self._samples]
        if not chosen:
            return final
        return round(sum(chosen) / len(chosen), PERCENT_DECIMALS) / 100

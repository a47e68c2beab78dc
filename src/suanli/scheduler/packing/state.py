"""Free capacity of every node as NumPy arrays, so one pod is checked against all nodes at once.

Each node has ``slots`` GPU columns (the widest node's GPU count); a node with fewer GPUs
has its extra columns at 0 free, which no request can use and which adds nothing to the
free total, so no separate mask is needed. ``version`` counts the changes of each node so
policies can cache per-node scores and recompute only the nodes that moved.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from suanli.scheduler.packing.types import MILLI, NodeSpec, Placement, PodRequest

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


class ClusterState:
    """Capacity and free resources of a fixed set of nodes; changed only by ``place``."""

    def __init__(self, nodes: Sequence[NodeSpec]) -> None:
        if not nodes:
            raise ValueError("a cluster needs at least one node")
        self.names = tuple(n.name for n in nodes)
        self.models = tuple(sorted({n.gpu_model for n in nodes if n.gpus}))
        index = {m: i for i, m in enumerate(self.models)}
        self.model = np.array([index[n.gpu_model] if n.gpus else -1 for n in nodes])
        self.gpu_count = np.array([n.gpus for n in nodes], dtype=np.int64)
        self.cpu_capacity = np.array([n.cpu_milli for n in nodes], dtype=np.int64)
        self.memory_capacity = np.array([n.memory_mib for n in nodes], dtype=np.int64)
        slots = max(1, int(self.gpu_count.max()))
        present = np.arange(slots)[None, :] < self.gpu_count[:, None]
        self.gpu_free: IntArray = np.where(present, MILLI, 0).astype(np.int64)
        self.cpu_free: IntArray = self.cpu_capacity.copy()
        self.memory_free: IntArray = self.memory_capacity.copy()
        self.version: IntArray = np.zeros(len(nodes), dtype=np.int64)
        self.gpu_total_milli = int(self.gpu_count.sum()) * MILLI
        self.gpu_used_milli = 0
        self._spec_masks: dict[frozenset[str], BoolArray] = {}

    def __len__(self) -> int:
        return len(self.names)

    @property
    def gpu_allocation_ratio(self) -> float:
        """Allocated GPU share over all GPUs (0 for a cluster without GPUs)."""
        return self.gpu_used_milli / self.gpu_total_milli if self.gpu_total_milli else 0.0

    def set_free(self, node: int, gpu: Sequence[int], cpu: int, memory: int) -> None:
        """Start ``node`` from what is free on it now (jobs already hold the rest)."""
        self.gpu_free[node, : len(gpu)] = gpu
        self.cpu_free[node] = cpu
        self.memory_free[node] = memory
        self.gpu_used_milli = self.gpu_total_milli - int(self.gpu_free.sum())
        self.version[node] += 1

    def model_mask(self, gpu_spec: frozenset[str]) -> BoolArray:
        """Nodes whose GPU model a pod with ``gpu_spec`` accepts (empty: any GPU node)."""
        mask = self._spec_masks.get(gpu_spec)
        if mask is None:
            allowed = [i for i, m in enumerate(self.models) if not gpu_spec or m in gpu_spec]
            mask = np.isin(self.model, allowed) & (self.gpu_count > 0)
            self._spec_masks[gpu_spec] = mask
        return mask

    def candidates(self, pod: PodRequest) -> NDArray[np.intp]:
        """Indices of the nodes that can host ``pod`` now: CPU, memory, GPU model and slots."""
        ok = (self.cpu_free >= pod.cpu_milli) & (self.memory_free >= pod.memory_mib)
        if pod.gpus:
            ok &= self.model_mask(pod.gpu_spec)
            ok &= (self.gpu_free >= pod.gpu_milli).sum(axis=1) >= pod.gpus
        return np.flatnonzero(ok)

    def tightest_slots(self, node: int, pod: PodRequest) -> tuple[int, ...]:
        """The GPU slots with the least free room that still fit ``pod``, one per GPU asked.

        Packing a share onto the fullest GPU that can take it keeps whole GPUs whole.
        """
        if not pod.gpus:
            return ()
        free = self.gpu_free[node]
        fitting = np.flatnonzero(free >= pod.gpu_milli)
        order = fitting[np.argsort(free[fitting], kind="stable")]
        return tuple(int(s) for s in order[: pod.gpus])

    def place(self, pod: PodRequest, placement: Placement) -> None:
        """Take ``pod``'s resources from the chosen node and GPU slots.

        Raises ValueError when the placement does not fit: a policy bug must not
        silently overcommit a node.
        """
        n, slots = placement.node, list(placement.gpu_slots)
        if len(set(slots)) != pod.gpus or not all(0 <= s < self.gpu_count[n] for s in slots):
            raise ValueError(
                f"pod {pod.name} needs {pod.gpus} distinct GPU slots of its node, got {slots}"
            )
        fits = self.cpu_free[n] >= pod.cpu_milli and self.memory_free[n] >= pod.memory_mib
        if pod.gpus:
            fits = fits and bool(self.model_mask(pod.gpu_spec)[n])
            fits = fits and bool((self.gpu_free[n, slots] >= pod.gpu_milli).all())
        if not fits:
            raise ValueError(f"pod {pod.name} does not fit node {self.names[n]}")
        self.cpu_free[n] -= pod.cpu_milli
        self.memory_free[n] -= pod.memory_mib
        self.gpu_free[n, slots] -= pod.gpu_milli
        self.gpu_used_milli += pod.gpu_request_milli
        self.version[n] += 1

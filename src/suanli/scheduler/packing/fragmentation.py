"""Expected GPU fragmentation of a node, measured against a target workload.

Views of the idle GPU that the workload cannot use on a node; the first two per pod shape,
weighted by how often the shape occurs in the workload:

* **FGD** (Weng et al., "Beware of Fragmentation", USENIX ATC 2023): for *one more* pod of
  the shape, the whole idle GPU is a fragment when the shape cannot run on the node at all
  (wrong GPU model, too little CPU or memory, too few GPUs with room), else the idle
  milli-GPU on the GPUs that are each too small for its per-GPU request.
* **Fill**: the idle milli-GPU that stays idle if the node were filled with as many pods of
  the shape as its GPUs, CPU and memory allow. It sees what FGD cannot: four free GPUs
  with CPU for one pod are mostly stranded, and a 810-milli share leaves 190 behind.
* **Balance** (``stranded``): the idle milli-GPU a node's idle CPU (and memory) could not
  feed at the workload's average CPU (memory) per GPU asked: the cluster-wide view the two
  node-local ones lack.

suanli's default blends the first two and adds the third; the ``fgd`` policy uses the
first alone, as published. CPU-only shapes are left out: for them all idle GPU is a fragment on every node, so they
add the same amount to every candidate's growth and never change a choice.

Every per-GPU statistic is a sum over GPUs, so the state after putting a share on one GPU
is the state now plus that GPU's change: ``share_stats`` scores (node, GPU) choices
without building a state per choice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from suanli.scheduler.packing.state import BoolArray, IntArray
from suanli.scheduler.packing.types import PodRequest, PodShape

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class TargetWorkload:
    """The request mix the cluster should stay able to serve: shapes and their frequencies."""

    shapes: tuple[PodShape, ...]
    weights: tuple[float, ...]

    @classmethod
    def from_pods(cls, pods: Iterable[PodRequest]) -> TargetWorkload:
        """Empirical frequency of every distinct shape, e.g. over the trace being replayed."""
        counts = Counter(p.shape for p in pods)
        total = sum(counts.values())
        if not total:
            return cls((), ())
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], repr(kv[0])))
        return cls(tuple(s for s, _ in ordered), tuple(c / total for _, c in ordered))


@dataclass(frozen=True)
class GpuStats:
    """Per state (row) and distinct per-GPU request (column): what the GPUs offer it.

    ``fitting``: GPUs with room for it; ``fitting_free``: idle milli-GPU on those GPUs;
    ``slots``: how many such requests the GPUs hold in all; ``total``: idle milli-GPU.
    """

    fitting: IntArray
    fitting_free: IntArray
    slots: IntArray
    total: IntArray


class FragmentationMeter:
    """Vectorised fragmentation of many node states (real or hypothetical) in one call."""

    def __init__(
        self,
        workload: TargetWorkload,
        models: tuple[str, ...],
        *,
        memory: bool = False,
        fill_weight: float = 0.0,
        balance_weight: float = 0.0,
    ) -> None:
        """Bind ``workload`` to a cluster's GPU ``models``.

        ``memory`` adds the memory check to FGD's CPU check (a shape that lacks memory
        cannot use the GPU either); ``fill_weight`` in [0, 1] blends in the fill view;
        ``balance_weight`` (>= 0) adds the balance view, that many times.
        """
        if not 0.0 <= fill_weight <= 1.0:
            raise ValueError("fill_weight must be within [0, 1]")
        if balance_weight < 0.0:
            raise ValueError("balance_weight must not be negative")
        shapes = [(s, w) for s, w in zip(workload.shapes, workload.weights, strict=True) if s.gpus]
        self._memory = memory
        self._fill = fill_weight
        self.thresholds = np.array(sorted({s.gpu_milli for s, _ in shapes}), dtype=np.int64)
        self._idx = np.searchsorted(self.thresholds, [s.gpu_milli for s, _ in shapes])
        self._gpus = np.array([s.gpus for s, _ in shapes], dtype=np.int64)
        self._cpu = np.array([s.cpu_milli for s, _ in shapes], dtype=np.int64)
        self._mem = np.array([s.memory_mib for s, _ in shapes], dtype=np.int64)
        self._weight = np.array([w for _, w in shapes], dtype=np.float64)
        # A shape asking no CPU (memory) is never limited by it: divide by a tiny amount.
        self._cpu_div = np.where(self._cpu > 0, self._cpu, 1e-9)
        self._mem_div = np.where(self._mem > 0, self._mem, 1e-9)
        self._request = (self._gpus * self.thresholds[self._idx]).astype(np.float64)
        self._balance = balance_weight
        # The workload's CPU and memory per milli-GPU asked, averaged over its GPU pods.
        asked = float(self._weight @ self._request) if shapes else 0.0
        self._cpu_per_milli = float(self._weight @ self._cpu) / asked if asked else 0.0
        self._mem_per_milli = float(self._weight @ self._mem) / asked if asked else 0.0
        # Row m says which shapes accept GPU model m; the extra last row (model index -1,
        # a CPU-only node) accepts none.
        access = np.zeros((len(models) + 1, len(shapes)), dtype=np.bool_)
        for j, (s, _) in enumerate(shapes):
            access[: len(models), j] = [not s.gpu_spec or m in s.gpu_spec for m in models]
        self._access: BoolArray = access

    def stats(self, gpu_free: IntArray) -> GpuStats:
        """Per-request GPU statistics of each row of ``gpu_free`` (states x GPU slots)."""
        fitting, fitting_free, slots = self._per_gpu(gpu_free[:, :, None])
        return GpuStats(fitting.sum(1), fitting_free.sum(1), slots.sum(1), gpu_free.sum(1))

    def share_stats(self, now: GpuStats, rows: IntArray, free: IntArray, milli: int) -> GpuStats:
        """Statistics after ``milli`` goes on a GPU with ``free`` idle of state ``rows``.

        ``now`` holds the states as they are; each choice changes one GPU, so its
        statistics are the state's minus that GPU's share before plus after.
        """
        before = self._per_gpu(free[:, None])
        after = self._per_gpu(free[:, None] - milli)
        parts = (now.fitting, now.fitting_free, now.slots)
        moved = [n[rows] - b + a for n, b, a in zip(parts, before, after, strict=True)]
        return GpuStats(moved[0], moved[1], moved[2], now.total[rows] - milli)

    def measure(self, g: GpuStats, cpu: IntArray, memory: IntArray, model: IntArray) -> FloatArray:
        """Expected fragmented milli-GPU of each state described by ``g``, CPU, memory, model."""
        if not self._weight.size:
            return np.zeros(len(g.total))
        total = g.total[:, None]
        access = self._access[model]
        frag = np.zeros((len(g.total), len(self._weight)))
        if self._fill < 1.0:
            frag += (1.0 - self._fill) * self._fgd(g, cpu, memory, access, total)
        if self._fill > 0.0:
            frag += self._fill * self._fill_view(g, cpu, memory, access, total)
        measured: FloatArray = frag @ self._weight
        if self._balance > 0.0:
            measured += self._balance * self.stranded(g.total, cpu, memory)
        return measured

    def stranded(self, gpu: IntArray, cpu: IntArray, memory: IntArray) -> FloatArray:
        """The balance view: idle milli-GPU beyond what the idle CPU (and memory, when
        memory-aware) could feed at the workload's average CPU (memory) per milli-GPU.

        Node-local views miss the cluster's balance: when CPU-light shares fill the
        CPU-rich nodes' GPUs, CPU-heavy pods land on nodes with just enough CPU per GPU,
        and those nodes run out of CPU with GPUs idle. Counting the GPUs a node could
        not feed at the average rate sends CPU-light pods where CPU is short and
        CPU-heavy ones where it is plentiful (openb multigpu50: 93.3% -> 95.5%).
        """
        limit = np.full(len(gpu), np.inf)
        if self._cpu_per_milli > 0.0:
            limit = cpu / self._cpu_per_milli
        if self._memory and self._mem_per_milli > 0.0:
            limit = np.minimum(limit, memory / self._mem_per_milli)
        idle: FloatArray = np.maximum(0.0, gpu - limit)
        return idle

    def _per_gpu(self, free: IntArray) -> tuple[IntArray, IntArray, IntArray]:
        # ``free`` has the GPU values on its last axis but one; thresholds go last.
        fits = free >= self.thresholds
        slots = np.floor(free / self.thresholds).astype(np.int64)
        return fits.astype(np.int64), np.where(fits, free, 0), slots

    def _fgd(
        self, g: GpuStats, cpu: IntArray, memory: IntArray, access: BoolArray, total: IntArray
    ) -> IntArray:
        ok = (g.fitting[:, self._idx] >= self._gpus) & (cpu[:, None] >= self._cpu) & access
        if self._memory:
            ok &= memory[:, None] >= self._mem
        return np.where(ok, total - g.fitting_free[:, self._idx], total)

    def _fill_view(
        self, g: GpuStats, cpu: IntArray, memory: IntArray, access: BoolArray, total: IntArray
    ) -> IntArray:
        # Float division is exact enough here (integers far below 2**53) and much faster.
        copies = np.floor(g.slots[:, self._idx] / self._gpus)
        copies = np.minimum(copies, np.floor(cpu[:, None] / self._cpu_div))
        if self._memory:
            copies = np.minimum(copies, np.floor(memory[:, None] / self._mem_div))
        usable = np.where(access, copies * self._request, 0.0)
        return total - np.minimum(usable, total)

"""Plain request and capacity types of node-level GPU packing (milli-GPU units)."""

from __future__ import annotations

from dataclasses import dataclass

MILLI = 1000
"""One whole GPU in milli-GPU: a request below it shares a GPU with others."""


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """One node's full capacity; ``gpu_model`` is empty for a CPU-only node."""

    name: str
    cpu_milli: int
    memory_mib: int
    gpus: int
    gpu_model: str = ""

    def __post_init__(self) -> None:
        if min(self.cpu_milli, self.memory_mib, self.gpus) < 0:
            raise ValueError(f"node {self.name}: capacities must not be negative")
        if self.gpus and not self.gpu_model:
            raise ValueError(f"node {self.name}: a node with GPUs needs a gpu_model")


@dataclass(frozen=True, slots=True)
class PodRequest:
    """What one pod asks for.

    ``gpus`` GPUs with ``gpu_milli`` each: ``gpu_milli < MILLI`` is a share of one GPU
    (HAMi-style sharing), ``MILLI`` is whole GPUs, which a multi-GPU pod needs all on one
    node. ``gpu_spec`` lists the GPU models the pod accepts; empty means any.
    """

    name: str
    cpu_milli: int
    memory_mib: int
    gpus: int = 0
    gpu_milli: int = 0
    gpu_spec: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if min(self.cpu_milli, self.memory_mib, self.gpus) < 0:
            raise ValueError(f"pod {self.name}: requests must not be negative")
        if self.gpus and not 0 < self.gpu_milli <= MILLI:
            raise ValueError(f"pod {self.name}: gpu_milli must be in 1..{MILLI} with GPUs")
        if self.gpus > 1 and self.gpu_milli != MILLI:
            raise ValueError(f"pod {self.name}: a multi-GPU pod takes whole GPUs")

    @property
    def gpu_request_milli(self) -> int:
        """Total GPU the pod takes, in milli-GPU (0 for a CPU-only pod)."""
        return self.gpus * self.gpu_milli if self.gpus else 0

    @property
    def shares_gpu(self) -> bool:
        """True for a fractional pod: it takes part of one GPU, so which GPU matters."""
        return self.gpus == 1 and self.gpu_milli < MILLI

    @property
    def shape(self) -> PodShape:
        """The request without its name: pods of one shape are interchangeable."""
        return PodShape(
            self.cpu_milli,
            self.memory_mib,
            self.gpus,
            self.gpu_milli if self.gpus else 0,
            self.gpu_spec,
        )


@dataclass(frozen=True, slots=True)
class PodShape:
    """A request without identity: the unit of target workloads and score caches."""

    cpu_milli: int
    memory_mib: int
    gpus: int
    gpu_milli: int
    gpu_spec: frozenset[str]


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a pod went: a node index in the cluster state and the GPU slots it uses."""

    node: int
    gpu_slots: tuple[int, ...] = ()

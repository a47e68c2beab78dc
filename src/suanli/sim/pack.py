"""Trace replay for packing experiments: pods arrive, never leave, and a policy places them.

Two protocols (``PROTOCOLS``). ``suanli`` (the default), after the FGD paper (USENIX
ATC'23): pods arrive in trace order onto the nodes given; once the trace is exhausted,
further pods are drawn from it at random (seeded) until the GPU requests that arrived reach
``load`` times the cluster's GPUs; the figure is the allocation when the last one arrived.
``fgd``: what the FGD artifact's simulator does to get its published figures
(``sim.fgd_protocol``: GPU nodes only, the list shuffled, draws appended while within the
load, the figure averaged over the pods arriving at the load's percent; ``best-fit`` and
``fgd`` score with the artifact's integer Kubernetes scores). A pod that fits nowhere fails
and is gone. The figure of merit is the GPU allocation ratio: GPU share allocated over all
GPUs.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from suanli.domain.clock import Clock
from suanli.domain.errors import FieldError, InvalidInput
from suanli.scheduler.packing import (
    MILLI,
    POLICIES,
    ClusterState,
    NodeSpec,
    PackingOptions,
    PodRequest,
    PolicyContext,
    TargetWorkload,
    pack_one,
)
from suanli.sim.fgd_protocol import ArtifactMeasure, artifact_arrivals, artifact_cluster

LOAD_STEP_PERCENT = 10
PROTOCOLS = ("suanli", "fgd")
"""``allocation_by_load`` has one point per this many percent of arrived load."""


@dataclass(frozen=True)
class PackReport:
    """The outcome of one replay; ``to_dict`` is the ``--json`` output."""

    policy: str
    seed: int
    load: float
    protocol: str
    gpu_allocation_ratio: float
    final_allocation_ratio: float
    allocation_by_load: dict[str, float]
    failed_pods: int
    arrived_pods: int
    placed_pods: int
    arrived_gpu_load: float
    nodes: int
    gpus: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_replay_args(policy: str, load: float, protocol: str = "suanli") -> None:
    """Raise InvalidInput for an unknown policy or protocol, or a load that is not positive."""
    errors = []
    if policy not in POLICIES:
        errors.append(FieldError("policy", "not_allowed", policy, ", ".join(POLICIES)))
    if not load > 0:
        errors.append(FieldError("load", "out_of_range", load, "> 0"))
    if protocol not in PROTOCOLS:
        errors.append(FieldError("protocol", "not_allowed", protocol, ", ".join(PROTOCOLS)))
    if errors:
        raise InvalidInput("invalid_sim_args", errors=errors, source="suanli sim pack")


def replay_pack(
    nodes: Sequence[NodeSpec],
    pods: Sequence[PodRequest],
    *,
    policy: str,
    load: float,
    seed: int,
    clock: Clock,
    protocol: str = "suanli",
    options: PackingOptions | None = None,
) -> PackReport:
    """Replay ``pods`` onto ``nodes`` with the named policy; see the module docstring.

    ``options`` are the configured packing options (``PackingOptions()`` when None); the
    ``fgd`` protocol adds ``kubernetes_scores``, the artifact's way of scoring.
    """
    check_replay_args(policy, load, protocol)
    start = clock.monotonic()
    options = options or PackingOptions()
    if protocol == "fgd":
        nodes = artifact_cluster(nodes)
        options = replace(options, kubernetes_scores=True)
    state = ClusterState(nodes)
    arrivals = arrived_pods(pods, nodes, load=load, seed=seed, protocol=protocol)
    workload = TargetWorkload.from_pods(pods)
    chooser = POLICIES[policy](PolicyContext(workload, seed, options=options))
    curve = _LoadCurve(state.gpu_total_milli, load)
    measure = ArtifactMeasure(state.gpu_total_milli, load)
    placed = arrived_milli = 0
    for pod in arrivals:
        arrived_milli += pod.gpu_request_milli
        placed += pack_one(state, pod, chooser) is not None
        curve.observe(arrived_milli, state.gpu_allocation_ratio)
        measure.observe(arrived_milli, state.gpu_allocation_ratio)
    final = state.gpu_allocation_ratio
    return PackReport(
        policy=policy,
        seed=seed,
        load=load,
        protocol=protocol,
        gpu_allocation_ratio=measure.ratio(final) if protocol == "fgd" else final,
        final_allocation_ratio=final,
        allocation_by_load=curve.points,
        failed_pods=len(arrivals) - placed,
        arrived_pods=len(arrivals),
        placed_pods=placed,
        arrived_gpu_load=arrived_milli / state.gpu_total_milli if state.gpu_total_milli else 0.0,
        nodes=len(state),
        gpus=state.gpu_total_milli // MILLI,
        seconds=clock.monotonic() - start,
    )


def arrived_pods(
    pods: Sequence[PodRequest],
    nodes: Sequence[NodeSpec],
    *,
    load: float,
    seed: int,
    protocol: str = "suanli",
) -> list[PodRequest]:
    """The pods a replay at ``load`` with ``seed`` sees arrive, in order, whatever the policy."""
    if protocol == "fgd":
        total = sum(n.gpus for n in artifact_cluster(nodes)) * MILLI
        return artifact_arrivals(pods, total, load, seed)
    target = load * sum(n.gpus for n in nodes) * MILLI
    arrived: list[PodRequest] = []
    milli = 0
    for pod in _arrivals(pods, seed, target):
        arrived.append(pod)
        milli += pod.gpu_request_milli
        if milli >= target:
            break
    return arrived


def _arrivals(pods: Sequence[PodRequest], seed: int, target: float) -> Iterator[PodRequest]:
    """The trace in order, then seeded random draws from it while GPU demand can still grow."""
    yield from pods
    if target <= 0 or not any(p.gpus for p in pods):
        return  # no GPUs to fill, or draws that never add GPU demand: stop with the trace
    rng = random.Random(seed)
    while True:
        yield pods[rng.randrange(len(pods))]


class _LoadCurve:
    """Allocation ratio when arrived GPU demand first reaches each step of ``load``."""

    def __init__(self, gpu_total_milli: int, load: float) -> None:
        last = round(load * 100)
        steps = [*range(LOAD_STEP_PERCENT, last, LOAD_STEP_PERCENT), last]
        self._total = gpu_total_milli
        self._pending = [s for s in steps if s > 0]
        self.points: dict[str, float] = {}

    def observe(self, arrived_milli: int, ratio: float) -> None:
        if not self._total:
            return
        percent = 100 * arrived_milli / self._total
        while self._pending and percent >= self._pending[0] - 1e-9:
            self.points[str(self._pending.pop(0))] = ratio

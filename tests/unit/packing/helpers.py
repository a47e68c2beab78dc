"""Small hand-made clusters and pods for packing tests."""

from __future__ import annotations

from suanli.scheduler.packing import (
    POLICIES,
    ClusterState,
    NodeSpec,
    PackingPolicy,
    PodRequest,
    PolicyContext,
    TargetWorkload,
)


def make_node(
    name: str, gpus: int = 8, model: str = "G2", cpu: int = 96_000, mem: int = 393_216
) -> NodeSpec:
    return NodeSpec(name, cpu, mem, gpus, model if gpus else "")


def make_pod(
    name: str = "p",
    gpus: int = 1,
    milli: int = 1000,
    cpu: int = 4_000,
    mem: int = 8_192,
    spec: frozenset[str] = frozenset(),
) -> PodRequest:
    return PodRequest(name, cpu, mem, gpus, milli if gpus else 0, spec)


def make_policy(
    name: str, workload: list[PodRequest] | None = None, seed: int = 42
) -> PackingPolicy:
    pods = workload or [make_pod()]
    return POLICIES[name](PolicyContext(TargetWorkload.from_pods(pods), seed))


def cluster(*nodes: NodeSpec) -> ClusterState:
    return ClusterState(nodes)

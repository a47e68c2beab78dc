"""Held-out openb pod lists: variants of a trace resampled the way the FGD artifact made its own.

The published set (alibaba/clusterdata, cluster-trace-gpu-v2023) holds, besides the
production sample ``default``, pod lists that stress one kind of request. Comparing the
four we have with ``default`` shows how they were made, and these functions do the same
from any trace, with a seed, so a policy can be checked on lists it was not tuned on:

* ``cpu`` (``cpu050`` = 5.0 % of pods): every GPU pod kept in trace order; the CPU-only
  pods resampled to the given share of all pods (a random subset, or all of them plus
  draws with replacement) and put first, in random order.
* ``gpushare`` (``gpushare100`` = 100 % of GPU pods share a GPU): as many GPU pods as the
  trace has, that share of them drawn (with replacement) from its fractional pods, the
  rest from its whole-GPU pods, in random order, after the CPU-only pods in trace order.
* ``multigpu`` (``multigpu50`` = 50 % of requested GPUs in pods of 2+ GPUs): the trace,
  then pods drawn (with replacement) from its multi-GPU pods until they carry that share
  of all GPUs requested.
* ``gpuspec`` (``gpuspec33`` = 33 % of GPU pods name their GPU types, the production
  ratio): that share of the GPU pods, picked at random, accept one GPU model only, drawn in
  proportion to the cluster's GPUs of the models with a node that could host the pod. The
  published lists' choice of models is not documented; this one never makes a pod
  unplaceable and leaves the mix of sizes as it was.

Names are ``<trace pod name>`` for kept pods and ``variant-<n>`` for drawn ones. Pure:
no files, no clock; the bench writes the lists out when asked.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from suanli.scheduler.packing import MILLI, NodeSpec, PodRequest

KINDS = ("cpu", "gpushare", "multigpu", "gpuspec")


@dataclass(frozen=True)
class Variant:
    """One resampling: ``kind`` (one of ``KINDS``) with ``percent`` as the published name
    has it (``cpu`` in tenths of a percent: cpu050 is 5.0 %)."""

    kind: str
    percent: int

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"variant kind must be one of {KINDS}, got {self.kind!r}")
        # CPU-only pods cannot be all pods, nor multi-GPU pods carry every GPU asked.
        upper = {"cpu": 999, "gpushare": 100, "multigpu": 99, "gpuspec": 100}[self.kind]
        if not 0 <= self.percent <= upper:
            raise ValueError(f"{self.kind} percent must be within 0..{upper}: {self.percent}")

    @property
    def name(self) -> str:
        digits = 3 if self.kind == "cpu" else 2
        return f"{self.kind}{self.percent:0{digits}d}"

    @property
    def share(self) -> float:
        return self.percent / (1000 if self.kind == "cpu" else 100)

    @classmethod
    def parse(cls, name: str) -> Variant:
        """``gpushare60``, ``cpu300``, ... as in the published file names."""
        for kind in KINDS:
            digits = name.removeprefix(kind)
            if digits != name and digits.isdigit():
                return cls(kind, int(digits))
        raise ValueError(f"not a variant name: {name!r} (e.g. gpushare60, cpu300)")


def make_variant(
    pods: Sequence[PodRequest], variant: Variant, nodes: Sequence[NodeSpec], seed: int
) -> list[PodRequest]:
    """The pod list ``variant`` of ``pods`` (see the module docstring), reproducible by seed."""
    rng = random.Random(f"{variant.name}/{seed}")
    if variant.kind == "cpu":
        return _cpu(pods, variant.share, rng)
    if variant.kind == "gpushare":
        return _gpushare(pods, variant.share, rng)
    if variant.kind == "multigpu":
        return _multigpu(pods, variant.share, rng)
    return _gpuspec(pods, variant.share, nodes, rng)


def _draw(pool: Sequence[PodRequest], count: int, rng: random.Random) -> list[PodRequest]:
    if count and not pool:
        raise ValueError("the trace has no pods of the kind this variant draws")
    return [rng.choice(pool) for _ in range(count)]


def _renamed(pods: list[PodRequest], start: int) -> list[PodRequest]:
    return [replace(p, name=f"variant-{start + i}") for i, p in enumerate(pods)]


def _cpu(pods: Sequence[PodRequest], share: float, rng: random.Random) -> list[PodRequest]:
    gpu = [p for p in pods if p.gpus]
    cpu = [p for p in pods if not p.gpus]
    want = round(share * len(gpu) / (1.0 - share))
    if want <= len(cpu):
        chosen = rng.sample(cpu, want)
    else:
        chosen = cpu + _renamed(_draw(cpu, want - len(cpu), rng), 0)
    rng.shuffle(chosen)
    return chosen + gpu


def _gpushare(pods: Sequence[PodRequest], share: float, rng: random.Random) -> list[PodRequest]:
    gpu = [p for p in pods if p.gpus]
    shared = [p for p in gpu if p.shares_gpu]
    whole = [p for p in gpu if not p.shares_gpu]
    count = round(share * len(gpu))
    drawn = _draw(shared, count, rng) + _draw(whole, len(gpu) - count, rng)
    rng.shuffle(drawn)
    return [p for p in pods if not p.gpus] + _renamed(drawn, 0)


def _multigpu(pods: Sequence[PodRequest], share: float, rng: random.Random) -> list[PodRequest]:
    multi = [p for p in pods if p.gpus > 1]
    total = sum(p.gpu_request_milli for p in pods)
    in_multi = sum(p.gpu_request_milli for p in multi)
    extra: list[PodRequest] = []
    while in_multi < share * total:
        pod = _draw(multi, 1, rng)[0]
        extra.append(pod)
        in_multi += pod.gpu_request_milli
        total += pod.gpu_request_milli
    return [*pods, *_renamed(extra, 0)]


def _gpuspec(
    pods: Sequence[PodRequest], share: float, nodes: Sequence[NodeSpec], rng: random.Random
) -> list[PodRequest]:
    gpu_at = [i for i, p in enumerate(pods) if p.gpus]
    picked = set(rng.sample(gpu_at, round(share * len(gpu_at))))
    out = list(pods)
    for i in sorted(picked):
        pod = pods[i]
        hosts = [
            n
            for n in nodes
            if n.gpus >= pod.gpus
            and n.cpu_milli >= pod.cpu_milli
            and n.memory_mib >= pod.memory_mib
            and (not pod.gpu_spec or n.gpu_model in pod.gpu_spec)
        ]
        if not hosts:
            continue  # fits nowhere anyway: a constraint changes nothing
        models = sorted({n.gpu_model for n in hosts})
        gpus = [sum(n.gpus for n in nodes if n.gpu_model == m) for m in models]
        model = rng.choices(models, weights=gpus)[0]
        out[i] = replace(pod, gpu_spec=frozenset({model}))
    return out


def gpu_share(pods: Sequence[PodRequest]) -> dict[str, float]:
    """What a list is made of: shares of pods, of GPU pods and of requested GPUs (checks)."""
    gpu = [p for p in pods if p.gpus]
    milli = sum(p.gpu_request_milli for p in gpu)
    return {
        "cpu_only_pods": 1 - len(gpu) / len(pods) if pods else 0.0,
        "sharing_gpu_pods": sum(p.shares_gpu for p in gpu) / len(gpu) if gpu else 0.0,
        "multi_gpu_milli": sum(p.gpu_request_milli for p in gpu if p.gpus > 1) / milli
        if milli
        else 0.0,
        "constrained_gpu_pods": sum(bool(p.gpu_spec) for p in gpu) / len(gpu) if gpu else 0.0,
        "gpus_requested": milli / MILLI,
    }

"""Held-out openb variants: each resampling yields the mix its name promises, by seed."""

from __future__ import annotations

import pytest

from suanli.scheduler.packing import PodRequest
from suanli.sim.openb_variants import Variant, gpu_share, make_variant
from tests.unit.packing.helpers import make_node, make_pod

NODES = [
    make_node("g2", gpus=8, model="G2"),
    make_node("t4", gpus=2, model="T4", cpu=32_000),
    make_node("cpu", gpus=0),
]


def trace() -> list[PodRequest]:
    pods = []
    for i in range(200):
        if i % 5 == 0:
            pods.append(make_pod(f"c{i}", gpus=0, cpu=8_000))
        elif i % 5 == 1:
            pods.append(make_pod(f"s{i}", milli=300 + i))
        elif i % 20 == 2:
            pods.append(make_pod(f"m{i}", gpus=4, cpu=40_000))
        else:
            pods.append(make_pod(f"w{i}"))
    return pods


def test_names_parse_as_published() -> None:
    assert Variant.parse("cpu050") == Variant("cpu", 50)
    assert Variant.parse("gpushare60").share == pytest.approx(0.6)
    assert Variant.parse("cpu300").share == pytest.approx(0.3)
    assert Variant("gpuspec", 5).name == "gpuspec05"
    for bad in ("gpushare", "share60"):
        with pytest.raises(ValueError, match="not a variant name"):
            Variant.parse(bad)
    for bad in ("multigpu100", "gpushare101"):
        with pytest.raises(ValueError, match="percent must be within"):
            Variant.parse(bad)


@pytest.mark.parametrize("percent", [0, 50, 300])
def test_cpu_variant_resamples_cpu_pods_only(percent: int) -> None:
    pods = trace()
    out = make_variant(pods, Variant("cpu", percent), NODES, seed=1)
    assert gpu_share(out)["cpu_only_pods"] == pytest.approx(percent / 1000, abs=0.01)
    gpu = [p for p in out if p.gpus]
    assert gpu == [p for p in pods if p.gpus]  # every GPU pod, in trace order
    assert all(not p.gpus for p in out[: len(out) - len(gpu)])  # CPU-only pods first


@pytest.mark.parametrize("percent", [20, 100])
def test_gpushare_variant_sets_the_share_of_fractional_gpu_pods(percent: int) -> None:
    pods = trace()
    out = make_variant(pods, Variant("gpushare", percent), NODES, seed=1)
    assert len(out) == len(pods)
    assert sum(bool(p.gpus) for p in out) == sum(bool(p.gpus) for p in pods)
    assert gpu_share(out)["sharing_gpu_pods"] == pytest.approx(percent / 100, abs=0.01)
    shapes = {p.shape for p in pods}
    assert all(p.shape in shapes for p in out)  # drawn from the trace, not invented


def test_multigpu_variant_appends_multi_gpu_pods() -> None:
    pods = trace()
    out = make_variant(pods, Variant("multigpu", 50), NODES, seed=1)
    assert out[: len(pods)] == pods
    assert all(p.gpus > 1 for p in out[len(pods) :])
    assert gpu_share(out)["multi_gpu_milli"] == pytest.approx(0.5, abs=0.05)


def test_gpuspec_variant_constrains_gpu_pods_to_models_that_can_host_them() -> None:
    pods = trace()
    out = make_variant(pods, Variant("gpuspec", 33), NODES, seed=1)
    assert gpu_share(out)["constrained_gpu_pods"] == pytest.approx(0.33, abs=0.01)
    for before, after in zip(pods, out, strict=True):
        assert before.shape.gpus == after.shape.gpus
        if after.gpu_spec:
            assert after.gpu_spec <= {"G2", "T4"}
        if after.gpus == 4:
            assert after.gpu_spec in (frozenset(), frozenset({"G2"}))  # T4 nodes have 2


def test_variants_repeat_by_seed() -> None:
    pods = trace()
    v = Variant("gpushare", 60)
    assert make_variant(pods, v, NODES, seed=3) == make_variant(pods, v, NODES, seed=3)
    assert make_variant(pods, v, NODES, seed=3) != make_variant(pods, v, NODES, seed=4)

"""Upper bounds on GPU allocation: exact on hand-made cases, never beaten by any policy."""

from __future__ import annotations

import random

import pytest

from suanli.domain.clock import SystemClock
from suanli.scheduler.packing import POLICIES, NodeSpec, PodRequest
from suanli.sim.pack import arrived_pods, replay_pack
from suanli.sim.packbound import allocation_bound, capacity_bound, must_place_bound
from tests.unit.packing.helpers import make_node, make_pod


def test_capacity_bound_sees_cpu_running_out_before_gpus() -> None:
    nodes = [make_node(f"n{i}", gpus=2, cpu=10_000) for i in range(2)]
    pods = [make_pod(f"p{i}", cpu=6_000) for i in range(4)]
    # 20,000 CPU milli hold 3 1/3 such pods (the LP splits pods; no policy can do better).
    assert capacity_bound(nodes, pods) == pytest.approx(20_000 / 6_000 * 1000 / 4000)


def test_capacity_bound_puts_one_large_share_per_gpu() -> None:
    nodes = [make_node("n", gpus=1)]
    pods = [make_pod("a", milli=600), make_pod("b", milli=600)]
    assert capacity_bound(nodes, pods) == pytest.approx(0.6)


def test_must_place_bound_counts_what_forced_large_shares_strand() -> None:
    # Two one-GPU nodes: nothing can close either before the 810s come, so both are placed
    # and the 470s that follow find 190 free on each GPU: 1620 of 2000 at best.
    nodes = [make_node(f"n{i}", gpus=1, cpu=16_000) for i in range(2)]
    pods = [make_pod("a", milli=810), make_pod("b", milli=810)]
    pods += [make_pod(f"c{i}", milli=470) for i in range(4)]
    bound, shape, placed = must_place_bound(nodes, pods)
    assert bound == pytest.approx(0.81)
    assert shape is not None
    assert (shape.gpu_milli, placed) == (810, 2)
    for policy in POLICIES:
        report = replay_pack(nodes, pods, policy=policy, load=1.75, seed=1, clock=SystemClock())
        assert report.gpu_allocation_ratio == pytest.approx(0.81)


def test_must_place_bound_lets_earlier_pods_close_the_gpus() -> None:
    # The 470s come first: a policy may spread them over both GPUs and refuse the 810s.
    nodes = [make_node(f"n{i}", gpus=1, cpu=16_000) for i in range(2)]
    pods = [make_pod("a", milli=470), make_pod("b", milli=470)]
    pods += [make_pod("c", milli=810), make_pod("d", milli=810)]
    bound, _, placed = must_place_bound(nodes, pods)
    assert (bound, placed) == (1.0, 0)


def _random_case(seed: int) -> tuple[list[NodeSpec], list[PodRequest]]:
    rng = random.Random(seed)
    nodes = [
        make_node(f"n{i}", gpus=rng.choice([1, 2, 4]), cpu=rng.choice([8_000, 16_000, 32_000]))
        for i in range(6)
    ]
    pods = []
    for i in range(40):
        gpus = rng.choice([0, 1, 1, 1, 2])
        milli = rng.choice([810, 650, 470, 320, 160, 1000]) if gpus == 1 else 1000
        cpu = rng.choice([1_000, 2_000, 4_000, 8_000])
        pods.append(make_pod(f"p{i}", gpus=gpus, milli=milli, cpu=cpu))
    return nodes, pods


@pytest.mark.parametrize("seed", range(8))
def test_no_policy_beats_the_bound(seed: int) -> None:
    nodes, pods = _random_case(seed)
    arrived = arrived_pods(pods, nodes, load=1.3, seed=seed)
    bound = allocation_bound(nodes, arrived)
    assert 0.0 < bound.ratio <= 1.0
    for policy in POLICIES:
        report = replay_pack(nodes, pods, policy=policy, load=1.3, seed=seed, clock=SystemClock())
        assert report.arrived_pods == len(arrived)
        assert report.gpu_allocation_ratio <= bound.ratio + 1e-9

"""ClusterState: what fits where, and placements that never overcommit a node."""

from __future__ import annotations

import pytest

from suanli.scheduler.packing import Placement
from tests.unit.packing.helpers import cluster, make_node, make_pod


def test_candidates_respect_cpu_memory_and_gpu_room() -> None:
    state = cluster(
        make_node("small-cpu", cpu=2_000),
        make_node("small-mem", mem=1_024),
        make_node("no-gpu", gpus=0),
        make_node("ok"),
    )
    assert state.names[int(state.candidates(make_pod(cpu=4_000, mem=8_192))[0])] == "ok"
    assert len(state.candidates(make_pod(cpu=4_000, mem=8_192))) == 1


def test_cpu_only_pod_fits_any_node_with_cpu_and_memory() -> None:
    state = cluster(make_node("gpu"), make_node("cpu", gpus=0))
    assert state.candidates(make_pod(gpus=0)).tolist() == [0, 1]


def test_gpu_spec_limits_models() -> None:
    state = cluster(
        make_node("t4", gpus=2, model="T4"), make_node("v100", gpus=8, model="V100M32")
    )
    pod = make_pod(spec=frozenset({"V100M32"}))
    assert state.candidates(pod).tolist() == [1]
    with pytest.raises(ValueError, match="does not fit"):
        state.place(pod, Placement(0, (0,)))


def test_multi_gpu_pod_needs_whole_gpus_on_one_node() -> None:
    state = cluster(make_node("a", gpus=4), make_node("b", gpus=4))
    state.place(make_pod(milli=500), Placement(0, (0,)))
    state.place(make_pod(milli=500), Placement(1, (0,)))
    # Each node has 3 whole GPUs left, 6 in all: a 4-GPU pod still fits nowhere.
    assert state.candidates(make_pod(gpus=4)).size == 0
    assert state.candidates(make_pod(gpus=3)).tolist() == [0, 1]


def test_place_refuses_overcommit_and_accounts_allocation() -> None:
    state = cluster(make_node("a", gpus=2, cpu=8_000))
    state.place(make_pod(milli=600, cpu=4_000), Placement(0, (1,)))
    assert state.gpu_free[0].tolist() == [1000, 400]
    assert state.gpu_allocation_ratio == pytest.approx(0.3)
    with pytest.raises(ValueError, match="does not fit"):
        state.place(make_pod(milli=500), Placement(0, (1,)))
    with pytest.raises(ValueError, match="distinct GPU slots"):
        state.place(make_pod(gpus=2), Placement(0, (0, 0)))
    with pytest.raises(ValueError, match="distinct GPU slots"):
        state.place(make_pod(), Placement(0, (5,)))


def test_tightest_slots_prefers_fullest_gpu_that_fits() -> None:
    state = cluster(make_node("a", gpus=3))
    state.place(make_pod(milli=300), Placement(0, (0,)))
    state.place(make_pod(milli=700), Placement(0, (1,)))
    assert state.tightest_slots(0, make_pod(milli=300)) == (1,)
    assert state.tightest_slots(0, make_pod(milli=600)) == (0,)
    assert state.tightest_slots(0, make_pod(gpus=1)) == (2,)

"""The FGD artifact's replay protocol (``sim.fgd_protocol``) on hand-made lists."""

from __future__ import annotations

import datetime as dt

import pytest

from suanli.domain.clock import FixedClock
from suanli.sim.fgd_protocol import ArtifactMeasure, artifact_arrivals, artifact_cluster
from suanli.sim.pack import arrived_pods, replay_pack
from tests.unit.packing.helpers import make_node, make_pod

T0 = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)


def test_the_cluster_is_the_gpu_nodes() -> None:
    nodes = [make_node("cpu", gpus=0), make_node("g", gpus=2), make_node("h", gpus=8)]
    assert [n.name for n in artifact_cluster(nodes)] == ["g", "h"]


def test_draws_are_appended_after_the_shuffled_list_within_the_load() -> None:
    pods = [make_pod(f"p{i}", milli=500) for i in range(4)]  # 2,000 milli asked
    arrived = artifact_arrivals(pods, gpu_total_milli=4_000, load=1.3, seed=5)
    # The list itself, shuffled, then draws while 2,000 + n * 500 <= 5,200: six of them.
    assert sorted(p.name for p in arrived[:4]) == ["p0", "p1", "p2", "p3"]
    assert len(arrived) == 10
    assert sum(p.gpu_request_milli for p in arrived) == 5_000
    assert arrived == artifact_arrivals(pods, gpu_total_milli=4_000, load=1.3, seed=5)


def test_drawing_stops_at_the_first_pod_whose_per_gpu_share_passes_the_target() -> None:
    # Only 8-GPU pods: each is checked as 1,000 milli (the artifact's per-GPU test) and
    # counted as 8,000, so the total may pass the target by up to 7,000.
    pods = [make_pod("big", gpus=8)]
    arrived = artifact_arrivals(pods, gpu_total_milli=16_000, load=1.3, seed=1)
    total = sum(p.gpu_request_milli for p in arrived)
    assert total == 24_000  # 8,000 listed, 16,000 drawn: 16,000 + 1,000 <= 20,800 allowed it
    assert total - 8_000 <= 1.3 * 16_000


def test_a_list_asking_for_more_loses_random_pods_until_it_fits() -> None:
    pods = [make_pod(f"p{i}") for i in range(10)]  # 10 GPUs asked
    arrived = artifact_arrivals(pods, gpu_total_milli=5_000, load=1.3, seed=3)
    assert len(arrived) == 6
    assert len({p.name for p in arrived}) == 6


def test_cpu_only_lists_end_with_the_list() -> None:
    pods = [make_pod(f"c{i}", gpus=0) for i in range(3)]
    assert len(artifact_arrivals(pods, gpu_total_milli=8_000, load=1.3, seed=1)) == 3


def test_the_figure_is_the_mean_over_the_pods_arriving_at_the_loads_percent() -> None:
    measure = ArtifactMeasure(gpu_total_milli=100_000, load=1.3)
    for arrived, ratio in ((120_000, 0.90), (129_000, 0.91), (129_600, 0.92), (130_000, 0.94)):
        measure.observe(arrived, ratio)
    assert measure.ratio(final=0.5) == pytest.approx(0.93)  # 130 % rounds from 129.5 on
    wide = ArtifactMeasure(gpu_total_milli=100_000, load=1.3)
    wide.observe(129_000, 0.80)
    wide.observe(131_000, 0.84)
    assert wide.ratio(final=0.5) == pytest.approx(0.82)  # none at 130: 129-131
    assert ArtifactMeasure(100_000, 1.3).ratio(final=0.5) == 0.5


def test_replay_under_the_fgd_protocol_reports_it() -> None:
    nodes = [make_node("cpu", gpus=0), make_node("a", gpus=2), make_node("b", gpus=2)]
    pods = [make_pod(f"p{i}", milli=m) for i, m in enumerate((500, 300, 1000, 700))]
    report = replay_pack(
        nodes, pods, policy="fgd", load=1.3, seed=4, clock=FixedClock(T0), protocol="fgd"
    )
    assert report.protocol == "fgd"
    assert report.nodes == 2
    assert report.arrived_pods == len(arrived_pods(pods, nodes, load=1.3, seed=4, protocol="fgd"))
    assert 0.0 < report.gpu_allocation_ratio <= report.final_allocation_ratio + 0.01

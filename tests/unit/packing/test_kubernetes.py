"""The FGD artifact's Kubernetes scores (``PackingOptions.kubernetes_scores``) on small cases."""

from __future__ import annotations

import numpy as np
import pytest

from suanli.scheduler.packing import (
    POLICIES,
    PackingOptions,
    PodShape,
    PolicyContext,
    TargetWorkload,
    pack_one,
)
from suanli.scheduler.packing.kubernetes import (
    NodeOrder,
    best_fit_scores,
    frag_scores,
    typical_pods,
)
from tests.unit.packing.helpers import cluster, make_node, make_pod

KUBERNETES = PackingOptions(kubernetes_scores=True)


def test_best_fit_scores_are_integers_rescaled_over_the_nodes_that_fit() -> None:
    # Left after a 1-GPU, 4-core pod: 7 GPUs and 92 cores, 1 GPU and 92 cores, 3 and 92.
    state = cluster(make_node("a", gpus=8), make_node("b", gpus=2), make_node("c", gpus=4))
    scores = best_fit_scores(state, make_pod(), np.arange(3))
    # Raw int((1 - (0.5 * 92/128 + 0.5 * left/8)) * 100): 20, 58, 45; then 0..100 by
    # integer division over 20..58.
    assert scores.tolist() == [0.0, 100.0, 67.0]
    same = cluster(make_node("a", gpus=2), make_node("b", gpus=2))
    assert best_fit_scores(same, make_pod(), np.arange(2)).tolist() == [0.0, 0.0]


def test_frag_scores_are_fgd_sigmoid_steps() -> None:
    growth = np.array([0.0, 1000.0, -1000.0, 30.0])
    assert frag_scores(growth, make_pod(), 0.0).tolist() == [50.0, 26.0, 73.0, 49.0]
    # CPU-only typical pods count every idle GPU: taking 1000 lowers them on any node.
    assert frag_scores(np.array([0.0]), make_pod(), 0.5).tolist() == [62.0]


def test_typical_pods_keep_the_commonest_shapes_up_to_95_percent() -> None:
    common = [make_pod(milli=500, mem=m) for m in (1, 2)] * 48  # one shape without memory
    rare = [make_pod(gpus=8), make_pod(gpus=0, cpu=8_000), make_pod(gpus=2), make_pod(gpus=4)]
    workload, cpu_only = typical_pods(TargetWorkload.from_pods(common + rare))
    # 96 of 100 pods reach 95 %: the rare shapes go, whatever their GPUs.
    assert workload.shapes == (PodShape(4_000, 0, 1, 500, frozenset()),)
    assert workload.weights == (1.0,)
    assert cpu_only == 0.0
    # Equal counts: the larger CPU first, and CPU-only shapes count like any other.
    workload, cpu_only = typical_pods(
        TargetWorkload.from_pods([make_pod(gpus=0, cpu=9_000), make_pod(cpu=1_000)])
    )
    assert [s.cpu_milli for s in workload.shapes] == [9_000, 1_000]
    assert cpu_only == pytest.approx(0.5)


def test_node_order_is_one_seeded_permutation_per_cluster() -> None:
    state = cluster(*(make_node(str(i), gpus=2) for i in range(6)))
    nodes = np.arange(6)
    first = NodeOrder(7).tie_break(state, nodes)(nodes)
    assert sorted(first.tolist()) == list(range(6))
    assert NodeOrder(7).tie_break(state, nodes)(nodes).tolist() == first.tolist()
    assert NodeOrder(8).tie_break(state, nodes)(nodes).tolist() != first.tolist()


@pytest.mark.parametrize("name", ["best-fit", "fgd"])
def test_equal_nodes_fill_one_after_another(name: str) -> None:
    # Four empty equal nodes: with random ties pods scatter; the artifact's fixed node
    # order puts the next pod on the node the last one went to while it scores the same.
    state = cluster(*(make_node(str(i), gpus=4) for i in range(4)))
    workload = TargetWorkload.from_pods([make_pod(milli=500)])
    policy = POLICIES[name](PolicyContext(workload, 3, options=KUBERNETES))
    placed = [pack_one(state, make_pod(milli=500), policy) for _ in range(2)]
    assert placed[0] is not None
    assert placed[1] is not None
    assert placed[0].node == placed[1].node
    assert placed[0].gpu_slots == placed[1].gpu_slots  # both shares on one GPU


def test_default_ignores_kubernetes_scores() -> None:
    workload = TargetWorkload.from_pods([make_pod(milli=500), make_pod()])
    runs = []
    for options in (PackingOptions(), KUBERNETES):
        state = cluster(*(make_node(str(i), gpus=4) for i in range(4)))
        policy = POLICIES["default"](PolicyContext(workload, 3, options=options))
        runs.append([pack_one(state, make_pod(milli=m), policy) for m in (500, 1000, 300)])
    assert runs[0] == runs[1]

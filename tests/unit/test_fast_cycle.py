"""The fast cycle decides exactly what job-by-job, pool-by-pool placement decides."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from suanli.domain.fleet import Fleet, Network
from suanli.domain.jobs import Job, JobStatus, NodeAssignment, Placement
from suanli.scheduler import nodes
from suanli.scheduler.nodes import NodeRequest, PoolNodes, expected_workload
from suanli.scheduler.packing import (
    POLICIES,
    ClusterState,
    NodeSpec,
    PolicyContext,
    TargetWorkload,
)
from suanli.scheduler.policies import POLICIES as PLACEMENT
from suanli.scheduler.policies import CycleResult, KeepWaiting, PlaceJob
from suanli.scheduler.snapshot import NodeState, PoolState, build_snapshot
from tests.builders import T0, make_fleet, make_job, make_pool, make_spec

MODELS = ["T4", "A100", "H100", "Ascend910B", "L40S"]
REGIONS = ["beijing", "hebei", "inner-mongolia"]


def random_fleet(rng: random.Random) -> Fleet:
    clusters = []
    for c in range(rng.randint(1, 4)):
        pools = [
            make_pool(
                f"p{i}",
                rng.choice([*MODELS, None]),
                nodes=rng.randint(1, 4),
                per_node=rng.choice([1, 2, 4, 8]),
                price=f"{rng.randint(50, 2000) / 100:.2f}",
                cpus=rng.choice([16, 64]),
                memory=rng.choice([64, 512]),
            )
            for i in range(rng.randint(1, 4))
        ]
        clusters.append((f"c{c}", rng.choice(REGIONS), pools))
    fleet = make_fleet(*clusters)
    return Fleet(fleet.providers, fleet.catalog, Network())


def random_spec(rng: random.Random) -> dict[str, Any]:
    kind = rng.random()
    if kind < 0.1:
        acc: dict[str, Any] | None = None
    elif kind < 0.3:
        acc = {"model": rng.choice(MODELS), "count": rng.choice([0.25, 0.5, 0.3])}
    else:
        acc = {"model": rng.sample(MODELS, rng.randint(1, 3)), "count": rng.choice([1, 2, 4, 8])}
    spec: dict[str, Any] = {
        "resources": {
            "nodes": rng.choice([1, 1, 1, 2, 3]),
            "cpus": rng.choice([1, 8, 32]),
            "memory_gb": rng.choice([1, 32, 256]),
        },
        "objective": rng.choice(["cost", "time"]),
        "stacks": ["cuda", "cann"],
    }
    if acc is not None:
        spec["resources"]["accelerator"] = acc
    if rng.random() < 0.2:
        spec["regions"] = rng.sample(REGIONS, 2)
    if rng.random() < 0.2:
        spec["estimated_hours"] = rng.choice([1, 10])
        spec["budget_yuan"] = str(rng.choice([50, 500]))
    if rng.random() < 0.2:
        spec["deadline"] = T0 + dt.timedelta(hours=rng.choice([2, 20]))
        spec["estimated_hours"] = rng.choice([1, 10])
    if rng.random() < 0.2:
        spec["inputs"] = [
            {"name": "d", "uri": "oss://b/d", "region": rng.choice(REGIONS), "size_gb": 100}
        ]
    return spec


def random_queue(rng: random.Random, fleet: Fleet) -> list[Job]:
    templates = [random_spec(rng) for _ in range(rng.randint(1, 6))]
    clusters = [c.name for c in fleet.clusters()]
    jobs = []
    for i in range(rng.randint(1, 40)):
        spec = make_spec(**rng.choice(templates))
        pinned = rng.choice(clusters) if rng.random() < 0.1 else None
        tenant = rng.choice(["demo", "other"])
        at = T0 + dt.timedelta(seconds=i)
        jobs.append(make_job(spec, f"j-{i:03d}", at=at, pinned_cluster=pinned, tenant=tenant))
    return jobs


def comparable(result: CycleResult) -> tuple[Any, ...]:
    placed = [(p.job_id, p.placement, p.decision) for p in result.placed]
    waiting = [(w.job_id, w.decision, w.never) for w in result.waiting]
    return (placed, waiting)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), policy=st.sampled_from(["default", "cheapest"]))
def test_fast_cycle_equals_job_by_job_placement(seed: int, policy: str) -> None:
    rng = random.Random(seed)
    fleet = random_fleet(rng)
    queue = random_queue(rng, fleet)
    rates = {("demo", True): Decimal("0.4"), ("demo", False): Decimal("0.2")}
    snapshot = build_snapshot(T0, fleet, [], queue, voucher_rates=rates)
    placer = PLACEMENT[policy]
    fast = placer.decide(snapshot)
    slow = placer.decide_one_by_one(snapshot)  # type: ignore[attr-defined]
    assert comparable(fast) == comparable(slow)
    # Every decision lists every pool exactly once.
    pools = {(c.name, p.name) for c, p in fleet.pools()}
    outcomes: list[PlaceJob | KeepWaiting] = [*fast.placed, *fast.waiting]
    for outcome in outcomes:
        assert sorted((v.cluster, v.pool) for v in outcome.decision.verdicts) == sorted(pools)


def test_the_snapshot_is_not_changed_by_deciding() -> None:
    rng = random.Random(7)
    fleet = random_fleet(rng)
    snapshot = build_snapshot(T0, fleet, [], random_queue(rng, fleet))
    before = [[(n.name, list(n.free_milli), n.free_cpus) for n in s.nodes] for s in snapshot.pools]
    PLACEMENT["default"].decide(snapshot)
    after = [[(n.name, list(n.free_milli), n.free_cpus) for n in s.nodes] for s in snapshot.pools]
    assert before == after


@pytest.mark.parametrize("trial", range(40))
def test_pool_nodes_choose_as_the_default_packing_policy(trial: int) -> None:
    """The live node choice is the packing core's ``default`` policy, step by step."""
    rng = random.Random(trial)
    per = rng.choice([1, 2, 4, 8])
    pool = make_pool(
        "p", "T4", nodes=rng.randint(1, 8), per_node=per, cpus=64, memory=rng.choice([64, 512])
    )
    cluster = next(iter(make_fleet(("c", "beijing", [pool])).clusters()))
    nodes = [NodeState(n, [1000] * per, 64, pool.memory_gb_per_node) for n in pool.node_names()]
    requests = []
    for _ in range(30):
        if rng.random() < 0.4:
            requests.append(NodeRequest(1, rng.choice([250, 300, 500]), 4, 8, 1))
        else:
            count = rng.choice([a for a in (1, 2, 4, 8) if a <= per])
            requests.append(NodeRequest(count, 1000, rng.choice([1, 8]), 16, rng.choice([1, 2])))
    workload = TargetWorkload.from_pods([r.pod() for r in requests])
    live = PoolNodes(PoolState(cluster, pool, nodes), workload)
    # The reference: the packing core's own state and policy, one rank after another.
    state = ClusterState(
        [NodeSpec(n.name, 64_000, pool.memory_gb_per_node * 1024, per, "T4") for n in nodes]
    )
    policy = POLICIES["default"](PolicyContext(workload, random_ties=False))
    for request in requests:
        pod = request.pod()
        expected: list[tuple[int, tuple[int, ...]]] | None = None
        candidates = state.candidates(pod)
        if candidates.size >= request.nodes:
            expected = []
            for _ in range(request.nodes):
                placement = policy.choose(state, pod, candidates)
                state.place(pod, placement)
                expected.append((placement.node, placement.gpu_slots))
                candidates = candidates[candidates != placement.node]
            expected.sort()
        got = live.take(request)
        want = (
            None
            if expected is None
            else tuple(NodeAssignment(nodes[n].name, s) for n, s in expected)
        )
        assert got == want


def test_holding_jobs_take_their_share_of_a_slot() -> None:
    fleet = make_fleet(("c", "beijing", [make_pool("t4", "T4", nodes=1, per_node=2)]))
    half = make_spec(resources={"accelerator": {"model": "T4", "count": 0.5}})
    running = make_job(
        half,
        "j-run",
        status=JobStatus.RUNNING,
        placement=Placement("c", "t4", "T4", (NodeAssignment("t4-n0", (1,)),), Decimal("0.8")),
    )
    snap = build_snapshot(T0, fleet, [running], [])
    (node,) = snap.pools[0].nodes
    assert node.free_milli == [1000, 500]
    assert node.free_slots == [0]
    assert node.free_accelerators == 1.5


def test_the_expected_workload_counts_every_rank_of_every_queued_job() -> None:
    rng = random.Random(3)
    fleet = random_fleet(rng)
    queue = random_queue(rng, fleet)
    pods = [NodeRequest.of(j).pod() for j in queue for _ in range(j.spec.resources.nodes)]
    assert expected_workload(queue) == TargetWorkload.from_pods(pods)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6))
def test_growths_kept_across_cycles_place_as_growths_derived_anew(seed: int) -> None:
    # Cycles over one fleet: queues of random jobs, each decided twice (the second time on
    # the growths the earlier cycles left), must place as cycles that derive every growth.
    rng = random.Random(seed)
    fleet = random_fleet(rng)
    queues = [random_queue(rng, fleet) for _ in range(3)]
    snapshots = [build_snapshot(T0, fleet, [], q) for q in queues * 2]
    placer = PLACEMENT["default"]
    kept = [comparable(placer.decide(s)) for s in snapshots]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nodes, "kept_growths", lambda *_: nodes.Growths())
        anew = [comparable(placer.decide(s)) for s in snapshots]
    assert kept == anew


def test_growths_are_kept_by_fleet_model_workload_and_packing() -> None:
    rng = random.Random(7)
    fleet = random_fleet(rng)
    snap = build_snapshot(T0, fleet, [], random_queue(rng, fleet))
    one = TargetWorkload.from_pods([NodeRequest(1, 1000, 4, 16, 1).pod()])
    two = TargetWorkload.from_pods([NodeRequest(2, 1000, 4, 16, 1).pod()])
    memo = nodes.kept_growths(snap, "A100", one, "default")
    assert nodes.kept_growths(snap, "A100", one, "default") is memo
    assert nodes.kept_growths(snap, "A100", two, "default") is not memo
    assert nodes.kept_growths(snap, "H100", one, "default") is not memo
    assert nodes.kept_growths(snap, "A100", one, "fgd") is not memo
    other = build_snapshot(T0, random_fleet(random.Random(8)), [], [])
    assert nodes.kept_growths(other, "A100", one, "default") is not memo
    seeded = dataclasses.replace(snap, seed=3)  # ties broken at random: nothing kept
    assert nodes.kept_growths(seeded, "A100", one, "default") is not memo
    assert nodes.kept_growths(seeded, "A100", one, "default") is not memo


def test_kept_growths_share_one_numbering_until_it_is_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Memos of other workloads number node states alike (placement's rows keep their
    # numbers when the queue's mix changes); a full numbering starts over with its memos.
    rng = random.Random(9)
    snap = build_snapshot(T0, random_fleet(rng), [], [])
    one = TargetWorkload.from_pods([NodeRequest(1, 1000, 4, 16, 1).pod()])
    two = TargetWorkload.from_pods([NodeRequest(2, 1000, 4, 16, 1).pod()])
    memo = nodes.kept_growths(snap, "A100", one, "default")
    assert nodes.kept_growths(snap, "A100", two, "default").states is memo.states
    memo.state([1000, 0], 4, 16)
    monkeypatch.setattr(nodes, "_STATES_KEPT", len(memo.states))
    fresh = nodes.kept_growths(snap, "A100", one, "default")
    assert fresh is not memo
    assert fresh.states is not memo.states
    assert not len(fresh.states)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_workloads_kept_by_their_mix_equal_workloads_derived_anew(seed: int) -> None:
    # The kept workload of a queue (whatever its order, after other queues were seen)
    # equals the one derived from the queue alone.
    rng = random.Random(seed)
    fleet = random_fleet(rng)
    queues = [random_queue(rng, fleet) for _ in range(4)]
    queues += [rng.sample(q, len(q)) for q in queues] + [q[: len(q) // 2] for q in queues]
    kept = [nodes.expected_workload(q) for q in queues]
    with pytest.MonkeyPatch.context() as patch:
        anew = []
        for q in queues:
            patch.setattr(nodes, "_WORKLOADS", {})
            anew.append(nodes.expected_workload(q))
    assert kept == anew

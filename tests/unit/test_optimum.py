"""The exact optimum (MILP) on instances whose optimum is known by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from suanli.domain.ids import JobId
from suanli.domain.jobs import Job
from suanli.scheduler.policies import POLICIES, ObjectiveFirst
from suanli.scheduler.snapshot import build_snapshot
from suanli.sim.optimum import optimum
from tests.builders import T0, make_fleet, make_job, make_pool, make_spec

FLEET = make_fleet(
    (
        "bj",
        "beijing",
        [
            make_pool("cheap", "A100", nodes=1, per_node=8, price="1.00"),
            make_pool("dear", "A100", nodes=1, per_node=8, price="10.00"),
        ],
    )
)
POLICY = POLICIES["default"]


class _Greedy(ObjectiveFirst):
    batch = False  # the default's greedy pass alone


GREEDY = _Greedy()


def job(job_id: str, count: int, nodes: int = 1) -> Job:
    spec = make_spec(
        resources={"accelerator": {"model": "A100", "count": count}, "nodes": nodes},
        estimated_hours=1,
    )
    return make_job(spec, job_id)


def test_the_optimum_moves_a_small_job_to_make_room_for_a_large_one() -> None:
    # In queue order the 4-card job takes the cheap pool and the 8-card one the dear:
    # 4 x 1 + 8 x 10 = 84 yuan. The optimum swaps them: 4 x 10 + 8 x 1 = 48 yuan.
    snapshot = build_snapshot(T0, FLEET, [], [job("j-1", 4), job("j-2", 8)])
    greedy = GREEDY.decide(snapshot)
    assert {p.job_id: p.placement.pool for p in greedy.placed} == {"j-1": "cheap", "j-2": "dear"}
    best = optimum(snapshot, POLICY.rank)
    assert best.proven
    assert best.pools == {"j-1": ("bj", "dear"), "j-2": ("bj", "cheap")}
    assert best.cost == Decimal("48.00")
    # The default policy's batch step finds it too, and says why j-1 is on the dear pool.
    batch = {p.job_id: p for p in POLICY.decide(snapshot).placed}
    assert {j: ("bj", p.placement.pool) for j, p in batch.items()} == best.pools
    assert batch[JobId("j-1")].decision.summary.code == "placed_lowest_batch_cost"
    assert batch[JobId("j-2")].decision.summary.code == "placed_lowest_cost"


def test_placing_one_more_job_beats_any_saving() -> None:
    # Three 8-card jobs, two pools: two run, whichever two; the cheapest such pair of
    # placements costs 8 + 80 yuan.
    jobs = [job("j-1", 8), job("j-2", 8), job("j-3", 8)]
    best = optimum(build_snapshot(T0, FLEET, [], jobs), POLICY.rank)
    assert best.placed == 2
    assert best.cost == Decimal("88.00")


def test_a_gang_takes_distinct_nodes_of_one_pool() -> None:
    fleet = make_fleet(
        (
            "bj",
            "beijing",
            [
                make_pool("two", "A100", nodes=2, per_node=8, price="2.00"),
                make_pool("one", "A100", nodes=1, per_node=8, price="1.00"),
            ],
        )
    )
    # Two ranks of 4 cards could share the cheap pool's only node, but a gang's ranks
    # never share a node: the gang must go to the two-node pool.
    best = optimum(build_snapshot(T0, fleet, [], [job("j-g", 4, nodes=2)]), POLICY.rank)
    assert best.pools == {"j-g": ("bj", "two")}
    assert best.cost == Decimal("16.00")


def test_with_room_for_all_the_optimum_is_each_jobs_own_best() -> None:
    jobs = [job("j-1", 2), job("j-2", 2), job("j-3", 4)]
    snapshot = build_snapshot(T0, FLEET, [], jobs)
    greedy = POLICY.decide(snapshot)
    best = optimum(snapshot, POLICY.rank)
    assert {p.job_id: ("bj", p.placement.pool) for p in greedy.placed} == best.pools
    assert best.cost == Decimal("8.00")


def test_shares_are_refused() -> None:
    spec = make_spec(resources={"accelerator": {"model": "A100", "count": 0.5}})
    with pytest.raises(ValueError, match="whole accelerators"):
        optimum(build_snapshot(T0, FLEET, [], [make_job(spec)]), POLICY.rank)

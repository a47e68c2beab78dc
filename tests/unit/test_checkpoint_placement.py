"""A resumed attempt of a job that checkpoints goes to the cluster that holds its checkpoint
when that cluster has room: a preference, not a rule (pure decisions, fixed snapshots). Where
the cluster is full, the attempt starts elsewhere and its history says the checkpoint was left
behind. The simulated engine keeps work on the cluster it was saved on, as real engines do."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

import pytest

from suanli.domain.checkpoints import holding_cluster, kept_on_start, placement_note
from suanli.domain.clock import FixedClock
from suanli.domain.fleet import Cluster, EngineRef
from suanli.domain.i18n import render
from suanli.domain.ids import JobId, engine_key
from suanli.domain.jobs import Job, JobStatus, NodeAssignment, Placement
from suanli.engines.base import LaunchRequest, RunState
from suanli.engines.simulated import SimulatedCluster, SimulatedEngine
from suanli.scheduler.plans import kind_of
from suanli.scheduler.policies import POLICIES, CheapestFirst, CycleResult, ObjectiveFirst
from suanli.scheduler.snapshot import build_snapshot
from tests.builders import T0, make_fleet, make_job, make_pool, make_spec

# The same card on two clusters: "cheap" costs less, so any policy prefers it by rank.
FLEET = make_fleet(
    ("cheap", "beijing", [make_pool("t4", "T4", nodes=1, per_node=4, price="1.00")]),
    ("dear", "beijing", [make_pool("t4", "T4", nodes=1, per_node=4, price="3.00")]),
)
RESUMES = make_spec(
    resources={"accelerator": {"model": "T4", "count": 4}}, checkpoint={"every_minutes": 30}
)
PLAIN = make_spec(resources={"accelerator": {"model": "T4", "count": 4}})


def _decide(policy: str, *jobs: Job, holding: Sequence[Job] = ()) -> CycleResult:
    return POLICIES[policy].decide(build_snapshot(T0, FLEET, holding, jobs))


def _where(result: CycleResult) -> dict[str, str]:
    return {p.job_id: p.placement.cluster for p in result.placed}


def _resumed(job_id: str = "j-resume", held_on: str | None = "dear") -> Job:
    return make_job(RESUMES, job_id, attempt=1, preemptions=1, checkpoint_cluster=held_on)


def _running_on(cluster: str, job_id: str) -> Job:
    nodes = (NodeAssignment("t4-n0", (0, 1, 2, 3)),)
    placement = Placement(cluster, "t4", "T4", nodes, Decimal("1"))
    return make_job(PLAIN, job_id, status=JobStatus.RUNNING, placement=placement)


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_a_resumed_attempt_goes_where_its_checkpoint_is(policy: str) -> None:
    fresh = make_job(RESUMES, "j-fresh")  # no checkpoint yet: the policy's own choice
    plain = make_job(PLAIN, "j-plain", checkpoint_cluster=None)
    assert _where(_decide(policy, fresh)) == {"j-fresh": "cheap"}
    assert _where(_decide(policy, plain)) == {"j-plain": "cheap"}
    assert _where(_decide(policy, _resumed())) == {"j-resume": "dear"}
    # Held on the cheap cluster: it stays first.
    assert _where(_decide(policy, _resumed(held_on="cheap"))) == {"j-resume": "cheap"}


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_a_full_cluster_is_no_rule_the_attempt_starts_elsewhere(policy: str) -> None:
    result = _decide(policy, _resumed(), holding=[_running_on("dear", "j-other")])
    assert _where(result) == {"j-resume": "cheap"}
    # Two resumed jobs of one kind held on "dear": the first takes it, the second goes on.
    both = _decide(policy, _resumed("j-a"), _resumed("j-b"))
    assert _where(both) == {"j-a": "dear", "j-b": "cheap"}


@pytest.mark.parametrize("policy", [CheapestFirst(), ObjectiveFirst()], ids=lambda p: p.name)
def test_jobs_that_differ_only_in_where_their_checkpoint_is_plan_apart(
    policy: CheapestFirst | ObjectiveFirst,
) -> None:
    on_dear, on_cheap = _resumed("j-d", "dear"), _resumed("j-c", "cheap")
    assert kind_of(on_dear) != kind_of(on_cheap)
    snap = build_snapshot(T0, FLEET, (), (on_cheap, on_dear))
    fast, reference = policy.decide(snap), policy.decide_one_by_one(snap)
    assert _where(fast) == _where(reference) == {"j-c": "cheap", "j-d": "dear"}


def test_only_work_that_resumes_has_a_holding_cluster() -> None:
    placement = Placement("dear", "t4", "T4", (NodeAssignment("t4-n0", (0,)),), Decimal("3"))
    placed = make_job(RESUMES, status=JobStatus.STARTING, placement=placement)
    assert kept_on_start(placed) == "dear"  # its attempt starts there: the engine holds it
    plain = make_job(PLAIN, status=JobStatus.STARTING, placement=placement)
    assert kept_on_start(plain) is None
    assert holding_cluster(dataclasses.replace(plain, checkpoint_cluster="dear")) is None


def test_the_history_says_resumed_or_left_behind_in_both_languages() -> None:
    at = T0 + dt.timedelta(hours=1)
    job = _resumed()
    there = Placement("dear", "t4", "T4", (NodeAssignment("t4-n0", (0,)),), Decimal("3"))
    elsewhere = dataclasses.replace(there, cluster="cheap")
    resumed = placement_note(job, there, at)
    left = placement_note(job, elsewhere, at)
    assert resumed is not None
    assert left is not None
    assert resumed.reason.code == "reason_checkpoint_resumed"
    assert left.reason.code == "reason_checkpoint_left_behind"
    assert left.reason.params == {"cluster": "dear", "placed": "cheap"}
    assert "without its checkpoint: dear holds it" in render(
        left.reason.code, "en", **left.reason.params
    )
    assert "检查点在 dear" in render(left.reason.code, "zh", **left.reason.params)
    assert "dear" in render(resumed.reason.code, "zh", **resumed.reason.params)
    assert placement_note(make_job(RESUMES), there, at) is None  # no checkpoint yet
    assert placement_note(make_job(PLAIN, checkpoint_cluster="dear"), there, at) is None


def test_the_simulated_engine_keeps_work_only_on_the_cluster_it_was_saved_on() -> None:
    clock = FixedClock(T0)
    work_s = 10_000.0

    def engine(name: str) -> SimulatedEngine:
        pool = make_pool("t4", "T4", nodes=1, per_node=4)
        cluster = Cluster(name, "sim", "beijing", EngineRef("simulated", None, ()), (pool,))
        return SimulatedEngine(SimulatedCluster(cluster), clock, {"j": work_s})

    engines = {"a": engine("a"), "b": engine("b")}

    def attempt(n: int, cluster: str) -> LaunchRequest:
        placement = Placement(cluster, "t4", "T4", (NodeAssignment("t4-n0", (0,)),), Decimal(1))
        return LaunchRequest(engine_key(JobId("j"), n), "j", n, RESUMES, placement)

    def preempt_after(request: LaunchRequest, run_s: float) -> None:
        eng = engines[request.placement.cluster]
        eng.launch(request)
        clock.advance(run_s)
        eng.cancel(request.key, grace_s=0)
        assert eng.status(request.key).state is RunState.CANCELLED

    preempt_after(attempt(1, "a"), 3600.0)  # saved at 30 and 60 minutes, on "a"
    second = attempt(2, "b")  # elsewhere: starts empty
    engines["b"].launch(second)
    assert engines["b"].state.runs[second.key].work_before == 0.0
    engines["b"].cancel(second.key, grace_s=0)
    clock.advance(1.0)
    third = attempt(3, "a")  # back where the checkpoint is: resumes from it
    engines["a"].launch(third)
    assert engines["a"].state.runs[third.key].work_before == 3600.0

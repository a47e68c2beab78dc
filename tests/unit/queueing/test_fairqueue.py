"""The live composition: the queueing core for when and whose, placement for where."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from suanli.domain.ids import JobId
from suanli.domain.jobs import Job, JobStatus, NodeAssignment, Placement
from suanli.domain.tenants import TenantTerms
from suanli.scheduler.fairqueue import QueueTurn, fair_turn, units
from suanli.scheduler.policies import POLICIES
from suanli.scheduler.queueing import QueueSettings, ServiceHistory
from suanli.scheduler.snapshot import build_snapshot
from tests.builders import T0, make_fleet, make_job, make_pool, make_spec

S = JobStatus
PLACER = POLICIES["default"]
FLEET = make_fleet(("lab", "beijing", [make_pool("t4", "T4", nodes=1, per_node=2, price="2.00")]))
COHORT = {
    "alpha": TenantTerms("alpha", quota={"T4": 1}, cohort="lab", borrow=True),
    "beta": TenantTerms("beta", quota={"T4": 1}, cohort="lab", borrow=True),
}


def job(ident: str, tenant: str, count: float = 1, at: int = 0, **spec: Any) -> Job:
    return make_job(
        make_spec(name=ident, resources={"accelerator": {"model": "T4", "count": count}}, **spec),
        ident,
        at=T0 + dt.timedelta(seconds=at),
        tenant=tenant,
    )


def running(j: Job, slot: int, borrowed: bool = False, started: int = 0) -> Job:
    pl = Placement(
        "lab", "t4", "T4", (NodeAssignment("t4-n0", (slot,)),), j.spec.accelerator_units
    )
    at = T0 + dt.timedelta(seconds=started)
    return dataclasses.replace(
        j, status=S.RUNNING, placement=pl, started_at=at, borrowed=borrowed, attempt=1
    )


def turn(
    queue: list[Job],
    holding: list[Job],
    tenants: dict[str, TenantTerms] = COHORT,
    now: int = 60,
    fleet: Any = FLEET,
    history: ServiceHistory | None = None,
) -> QueueTurn:
    at = T0 + dt.timedelta(seconds=now)
    snap = build_snapshot(at, fleet, holding, queue)
    return fair_turn(snap, holding, PLACER.rank, tenants, QueueSettings(), history)


def test_a_tenant_borrows_idle_quota_of_its_cohort() -> None:
    t = turn([job("a1", "alpha"), job("a2", "alpha", at=1)], [])
    assert [j.id for j in t.admitted] == ["a1", "a2"]
    assert t.borrowed == {"a2"}
    assert t.models == {"a1": "T4", "a2": "T4"}


def test_the_owner_asking_back_preempts_the_borrower_and_waits_for_its_nodes() -> None:
    a1 = running(job("a1", "alpha"), 0)
    a2 = running(job("a2", "alpha", at=1), 1, borrowed=True)
    t = turn([job("b1", "beta", at=30)], [a1, a2])
    assert [(j.id, r.code) for j, r in t.preempts] == [("a2", "preempt_reclaim")]
    assert t.admitted == []  # its card is still held until the engine confirms the stop
    assert t.waits[JobId("b1")].summary.code == "queue_awaiting_nodes"


def test_over_quota_with_the_cohort_full_says_so_in_accelerators() -> None:
    a1 = running(job("a1", "alpha"), 0)
    b1 = running(job("b1", "beta"), 1)
    t = turn([job("a2", "alpha", at=5)], [a1, b1])
    why = t.waits[JobId("a2")].summary
    assert why.code == "queue_cohort_full"
    assert (why.params["used"], why.params["quota"], why.params["need"]) == (1, 1, 1)
    assert "alpha uses 1 of its quota of 1" in why.render("en")
    assert "已用 1 张" in why.render("zh")


def test_shares_of_one_card_are_counted_as_thousandths() -> None:
    halves = [job(f"h{i}", "alpha", count=0.5, at=i) for i in range(3)]
    free = {"alpha": TenantTerms("alpha")}
    fleet = make_fleet(("lab", "beijing", [make_pool("t4", "T4", nodes=1, per_node=1)]))
    t = turn(halves, [], free, fleet=fleet)
    assert [j.id for j in t.admitted] == ["h0", "h1"]
    assert units(halves[0]) == 500
    # Only capacity holds the third back: placement's own words and pools.
    assert t.waits[JobId("h2")].summary.code == "waiting_for_capacity"


def test_the_placement_objective_picks_the_model_the_queue_admits_on() -> None:
    fleet = make_fleet(
        ("lab", "beijing", [make_pool("a100", "A100", nodes=1, per_node=8, price="30.00")]),
        ("cheap", "beijing", [make_pool("t4", "T4", nodes=1, per_node=8, price="1.00")]),
    )
    spec = {"resources": {"accelerator": {"model": ["A100", "T4"], "count": 1}}}
    cost = make_job(make_spec(name="c", **spec), "c", tenant="x")
    fast = make_job(make_spec(name="f", objective="time", **spec), "f", tenant="x")
    t = turn([cost, fast], [], {}, fleet=fleet)
    assert t.models == {"c": "T4", "f": "A100"}


def test_less_service_first_and_a_long_wait_lifts_a_job() -> None:
    # One card; two jobs of one tenant; "old" has been served 10 A100-hours before.
    fleet = make_fleet(("lab", "beijing", [make_pool("a100", "A100", nodes=1, per_node=1)]))
    spec = {"resources": {"accelerator": {"model": "A100", "count": 1}}}
    old = make_job(make_spec(name="old", **spec), "old", tenant="x", attained=36000.0)
    new = make_job(make_spec(name="new", **spec), "new", tenant="x", at=T0 + dt.timedelta(hours=1))
    assert [j.id for j in turn([old, new], [], {}, now=7200, fleet=fleet).admitted] == ["new"]
    # After waiting past an aging boundary (every 4 h), the served job is back at the top
    # level, where it was submitted first.
    later = turn([old, new], [], {}, now=5 * 3600, fleet=fleet)
    assert [j.id for j in later.admitted] == ["old"]


def test_cpu_only_jobs_go_to_placement_as_before() -> None:
    fleet = make_fleet(("lab", "beijing", [make_pool("cpu", None, nodes=1)]))
    cpu = make_job(make_spec(name="cpu", resources={"cpus": 2}), "cpu", tenant="x")
    t = turn([cpu], [], {}, fleet=fleet)
    assert [j.id for j in t.admitted] == ["cpu"]
    assert t.models == {}


def test_outranked_work_is_preempted_only_after_its_minimum_run() -> None:
    fleet = make_fleet(("lab", "beijing", [make_pool("a100", "A100", nodes=1, per_node=1)]))
    spec = {"resources": {"accelerator": {"model": "A100", "count": 1}}}
    saves = {"checkpoint": {"every_minutes": 30}}  # it resumes: a rank may stop it
    long = make_job(make_spec(name="long", **spec, **saves), "long", tenant="x", attained=36000.0)
    pl = Placement(
        "lab", "a100", "A100", (NodeAssignment("a100-n0", (0,)),), long.spec.accelerator_units
    )
    long = dataclasses.replace(long, status=S.RUNNING, placement=pl, started_at=T0, attempt=2)
    fresh = make_job(make_spec(name="fresh", **spec), "fresh", tenant="x")
    soon = turn([fresh], [long], {}, now=300, fleet=fleet)
    assert soon.preempts == []
    late = turn([fresh], [long], {}, now=900, fleet=fleet)
    assert [(j.id, r.code) for j, r in late.preempts] == [("long", "preempt_outranked")]
    # The same job without checkpoints would start again from zero: it is left to finish.
    restarts = dataclasses.replace(long, spec=make_spec(name="long", **spec))
    assert turn([fresh], [restarts], {}, now=900, fleet=fleet).preempts == []


def test_attempts_ended_by_preemption_do_not_count_against_retries() -> None:
    from suanli.domain.jobs import Reason
    from suanli.service.reconcile import _retry_or_fail

    spec = make_spec(name="r", retry={"max_attempts": 2, "when": ["lost"]})
    preempted_twice = make_job(spec, "r", status=S.RUNNING, attempt=3, preemptions=2)
    after, events = _retry_or_fail(
        preempted_twice, Reason("reason_lost", {"detail": "x"}), T0, None
    )
    assert after.status is S.QUEUED
    assert events[-1].reason.params == {"attempt": 2, "max_attempts": 2}
    spent = dataclasses.replace(preempted_twice, preemptions=1)
    assert _retry_or_fail(spent, Reason("reason_lost", {"detail": "x"}), T0, None)[0].status is (
        S.FAILED
    )

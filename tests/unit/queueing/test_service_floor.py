"""Batch work never preempts a service replica below the service's `replicas.min`: such a
replica's job carries the floor mark (service.services.replica_job_spec) and the queue
treats it as not preemptible, by reclaim or by rank; replicas above min are fair game."""

from __future__ import annotations

import dataclasses

from suanli.domain.jobs import Job
from suanli.domain.services import FLOOR_ENV, SERVICE_ENV
from suanli.engines.base import REPLICA_ENV
from suanli.scheduler.queueing import QueueView, decide, make_policy
from tests.unit.queueing.test_admission import _fragmented
from tests.unit.queueing.test_fairqueue import job, running, turn


def replica(ident: str, tenant: str, floor: bool, at: int = 0) -> Job:
    env = {SERVICE_ENV: "s-1", REPLICA_ENV: f"r-{ident}"}
    if floor:
        env[FLOOR_ENV] = "1"
    return job(ident, tenant, at=at, env=env)


def test_a_floor_replica_on_borrowed_quota_is_not_reclaimed() -> None:
    a1 = running(job("a1", "alpha"), 0)
    floor = running(replica("a2", "alpha", floor=True, at=1), 1, borrowed=True)
    t = turn([job("b1", "beta", at=30)], [a1, floor])
    assert t.preempts == []


def test_a_replica_above_min_is_reclaimed_like_batch_work() -> None:
    a1 = running(job("a1", "alpha"), 0)
    extra = running(replica("a2", "alpha", floor=False, at=1), 1, borrowed=True)
    t = turn([job("b1", "beta", at=30)], [a1, extra])
    assert [(j.id, r.code) for j, r in t.preempts] == [("a2", "preempt_reclaim")]


def test_clearing_a_node_for_a_gang_never_stops_a_floor_replica() -> None:
    # The default policy clears a whole node for a gang fragmented out of its pool, taking
    # it from work that ranks after the gang (test_admission); a replica below its
    # service's min on that node is not such work, however long it has run.
    p, olds, wide, small = _fragmented()
    floors = [dataclasses.replace(w, preemptible=False) for w in olds]
    plan = decide(QueueView(1000, [p], floors, [wide, small]), make_policy("default"))
    assert plan.preempts == []
    assert plan.waits["wide"].code == "queue_awaiting_nodes"
    one = [floors[0], olds[1]]  # a floor replica and batch work: the batch node is cleared
    plan = decide(QueueView(1000, [p], one, [wide, small]), make_policy("default"))
    assert [x.work.id for x in plan.preempts] == ["old1"]

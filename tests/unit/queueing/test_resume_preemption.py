"""A running job that would restart from zero is never stopped for a better rank; one that
checkpoints (``Work.resumes``) is, as before; an owner reclaiming lent quota stops either."""

from __future__ import annotations

import pytest

from suanli.domain.tenants import TenantTerms
from suanli.scheduler.queueing import (
    QUEUE_POLICIES,
    PoolView,
    QueueSettings,
    QueueView,
    Work,
    decide,
    make_policy,
)
from suanli.scheduler.queueing.policies import LEVELS_S

PREEMPTIVE = sorted(k for k in QUEUE_POLICIES if make_policy(k).preemptive)


def _pool(nodes: int = 1, per_node: int = 1) -> PoolView:
    return PoolView("p", "V100", per_node, [per_node] * nodes)


def _running(ident: str, p: PoolView, resumes: bool, **kw: object) -> Work:
    w = Work(ident, "a", 1, 0.0, queued_since=0.0, resumes=resumes, **kw)  # type: ignore[arg-type]
    w.pool, w.nodes, w.started = p.name, ((0, 1),), 0.0
    p.free[0] -= 1
    return w


def _outranking(ident: str = "new") -> Work:
    return Work(ident, "a", 1, 100.0, queued_since=100.0, estimate_s=10.0)


def test_the_policies_that_preempt_are_the_ones_tested() -> None:
    assert {"default", "las", "las2d"} <= set(PREEMPTIVE)


@pytest.mark.parametrize("kind", PREEMPTIVE)
def test_outranked_work_is_stopped_only_when_it_resumes(kind: str) -> None:
    served = LEVELS_S[-1] * 10  # far more service than the newcomer: outranked everywhere
    policy = make_policy(kind, QueueSettings(min_run_s=600))
    decisions = {}
    for resumes in (True, False):
        p = _pool()
        old = _running("old", p, resumes, attained=served, estimate_s=1e9)
        plan = decide(QueueView(10_000, [p], [old], [_outranking()]), policy)
        decisions[resumes] = [(x.work.id, x.reason.code) for x in plan.preempts]
        if not resumes:
            assert plan.starts == []
            assert plan.waits["new"].code in {"queue_no_capacity", "queue_cohort_full"}
    assert decisions == {True: [("old", "preempt_outranked")], False: []}


def test_a_borrower_is_reclaimed_whether_it_resumes_or_not() -> None:
    tenants = {
        "a": TenantTerms("a", quota={"V100": 1}, cohort="c", borrow=True),
        "b": TenantTerms("b", quota={"V100": 1}, cohort="c", borrow=True),
    }
    for resumes in (True, False):
        p = _pool(nodes=2)
        mine = _running("a-own", p, resumes)
        lent = Work("a-lent", "a", 1, 0.0, queued_since=0.0, resumes=resumes, borrowed=True)
        lent.pool, lent.nodes, lent.started = p.name, ((1, 1),), 0.0
        p.free[1] -= 1
        owner = Work("b1", "b", 1, 50.0, queued_since=50.0)
        plan = decide(QueueView(60, [p], [mine, lent], [owner], tenants), make_policy("fifo"))
        assert [(x.work.id, x.reason.code) for x in plan.preempts] == [
            ("a-lent", "preempt_reclaim")
        ]

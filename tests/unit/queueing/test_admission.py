"""The queueing core: policies' order, quotas, cohorts, borrowing, reclaim, gangs, aging."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.domain.tenants import TenantTerms
from suanli.domain.throughput import ThroughputTable
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


def pool(name: str = "p", nodes: int = 2, per_node: int = 4, model: str = "V100") -> PoolView:
    return PoolView(name, model, per_node, [per_node] * nodes)


def work(ident: str, gpus: int = 1, at: float = 0.0, tenant: str = "a", **kw: object) -> Work:
    return Work(ident, tenant, gpus, at, queued_since=at, **kw)  # type: ignore[arg-type]


def running(w: Work, p: PoolView, node: int, started: float = 0.0) -> Work:
    w.pool, w.nodes, w.started = p.name, ((node, w.accelerators),), started
    p.free[node] -= w.accelerators
    return w


def started_ids(plan: object) -> list[str]:
    return [s.work.id for s in plan.starts]  # type: ignore[attr-defined]


def test_fifo_starts_in_submission_order_and_explains_the_rest() -> None:
    p = pool(nodes=1)
    jobs = [work("late", 2, at=5), work("early", 3, at=1), work("mid", 2, at=3)]
    plan = decide(QueueView(10, [p], [], jobs), make_policy("fifo"))
    assert started_ids(plan) == ["early"]
    assert plan.waits["mid"].code == "queue_no_capacity"
    assert "late" in plan.waits


def test_sjf_uses_estimates_and_puts_unknown_runs_last() -> None:
    p = pool(nodes=1, per_node=1)
    jobs = [
        work("long", at=0, estimate_s=900.0),
        work("short", at=1, estimate_s=10.0),
        work("?", at=0),
    ]
    plan = decide(QueueView(10, [p], [], jobs), make_policy("sjf"))
    assert started_ids(plan) == ["short"]


def test_no_backfill_blocks_a_tenant_behind_its_head() -> None:
    p = pool(nodes=2)
    busy = running(work("busy", 4, tenant="z"), p, 1)
    jobs = [work("big", 6, at=0), work("small", 1, at=1)]
    strict = make_policy("fifo", QueueSettings(backfill=False))
    plan = decide(QueueView(10, [p], [busy], jobs), strict)
    assert started_ids(plan) == []
    assert plan.waits["small"].code == "queue_behind_head"
    plan = decide(QueueView(10, [p], [busy], jobs), make_policy("fifo"))
    assert started_ids(plan) == ["small"]


def test_gang_is_all_or_nothing_on_whole_nodes() -> None:
    p = pool(nodes=3, per_node=4)
    p.free = [4, 3, 4]
    plan = decide(QueueView(0, [p], [], [work("gang", 8)]), make_policy("fifo"))
    (start,) = plan.starts
    assert sorted(n for n, _ in start.nodes) == [0, 2]
    assert sum(c for _, c in start.nodes) == 8
    p.free = [4, 3, 3]
    plan = decide(QueueView(0, [p], [], [work("gang", 8)]), make_policy("fifo"))
    assert plan.starts == []


def test_quota_caps_a_tenant_without_a_cohort() -> None:
    p = pool(nodes=2)
    tenants = {"a": TenantTerms("a", quota={"V100": 2}), "b": TenantTerms("b", quota={"V100": 6})}
    jobs = [work("a1", 2, 0), work("a2", 1, 1), work("b1", 1, 2, tenant="b")]
    plan = decide(QueueView(5, [p], [], jobs, tenants), make_policy("fifo"))
    assert started_ids(plan) == ["a1", "b1"]
    assert plan.waits["a2"].code == "queue_quota_full"


def test_cohort_lends_idle_quota_and_takes_it_back() -> None:
    p = pool(nodes=2)
    tenants = {
        "a": TenantTerms("a", quota={"V100": 4}, cohort="c", borrow=True),
        "b": TenantTerms("b", quota={"V100": 4}, cohort="c", borrow=True),
    }
    plan = decide(QueueView(0, [p], [], [work("a-big", 8)], tenants), make_policy("fifo"))
    (start,) = plan.starts
    assert start.borrowed
    borrowed = running(work("a-big", 8), p, 0)
    p.free = [0, 0]
    borrowed.nodes = ((0, 4), (1, 4))
    borrowed.borrowed = True
    plan = decide(
        QueueView(60, [p], [borrowed], [work("b1", 2, at=50, tenant="b")], tenants),
        make_policy("fifo"),
    )
    assert [x.work.id for x in plan.preempts] == ["a-big"]
    assert plan.preempts[0].reason.code == "preempt_reclaim"


def test_default_preempts_the_most_served_after_min_run_only() -> None:
    p = pool(nodes=1, per_node=1)
    old = running(work("old", 1, at=0, attained=LEVELS_S[1] + 1), p, 0, started=0)
    new = work("new", 1, at=100)
    policy = make_policy("default", QueueSettings(min_run_s=600))
    plan = decide(QueueView(300, [p], [old], [new]), policy)
    assert plan.preempts == []  # ran less than min_run_s
    plan = decide(QueueView(700, [p], [old], [new]), policy)
    assert [x.work.id for x in plan.preempts] == ["old"]
    assert plan.starts == []  # its accelerator comes back when it has stopped
    assert plan.waits["new"].code == "queue_awaiting_nodes"


def test_default_ages_waiting_work_up_so_nothing_starves() -> None:
    policy = make_policy("default", QueueSettings(aging_s=3600))
    w = work("w", 1, at=0, attained=LEVELS_S[1] + 1)
    assert policy.level(w, 10) == 2  # type: ignore[attr-defined]
    assert policy.level(w, 3 * 3600) == 0  # type: ignore[attr-defined]
    assert policy.next_change(w, 10) == 3600


def test_heterogeneity_aware_choice_follows_the_throughput_table() -> None:
    fast, slow = pool("k80", model="K80"), pool("v100", model="V100")
    table = ThroughputTable({("resnet@1", "V100"): 10.0, ("resnet@1", "K80"): 1.0})
    job = work("j", 1, job_class="resnet@1")
    aware = decide(QueueView(0, [fast, slow], [], [job]), make_policy("default", throughput=table))
    agnostic = decide(
        QueueView(0, [fast, slow], [], [job]), make_policy("fifo-agnostic", throughput=table)
    )
    blind = decide(QueueView(0, [slow, fast], [], [job]), make_policy("fifo-agnostic"))
    assert aware.starts[0].pool == "v100"
    assert agnostic.starts[0].pool == blind.starts[0].pool  # the table changes nothing


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(sorted(QUEUE_POLICIES)),
    st.lists(
        st.tuples(st.integers(1, 8), st.sampled_from("ab"), st.integers(0, 100)),
        min_size=1,
        max_size=25,
    ),
    st.integers(0, 5),
)
def test_a_plan_never_overcommits_nodes_or_quotas(
    name: str, specs: list[tuple[int, str, int]], quota_b: int
) -> None:
    p = pool(nodes=3, per_node=4)
    tenants = {"b": TenantTerms("b", quota={"V100": quota_b})}
    jobs = [work(f"j{i}", g, float(at), tenant=t) for i, (g, t, at) in enumerate(specs)]
    plan = decide(QueueView(1000, [p], [], jobs, tenants), make_policy(name))
    used = [0, 0, 0]
    b_total = 0
    for s in plan.starts:
        for node, count in s.nodes:
            used[node] += count
        assert sum(c for _, c in s.nodes) == s.work.accelerators
        b_total += s.work.accelerators if s.work.tenant == "b" else 0
    assert all(u <= 4 for u in used)
    assert b_total <= quota_b
    started = {s.work.id for s in plan.starts}
    assert started.isdisjoint(plan.waits)
    assert started | set(plan.waits) == {j.id for j in jobs}


def test_held_work_counts_as_pinned_running_work() -> None:
    # A driver may summarise running work that cannot move as (tenant, pool, accelerators):
    # the plan is the one it gets when that work is listed.
    def plan_for(summarised: bool) -> tuple[list[str], list[str]]:
        p = pool(nodes=2, per_node=4)
        policy = make_policy("default", QueueSettings(min_run_s=600))
        young = running(work("young", 4, tenant="a"), p, 0, started=900)
        old = running(work("old", 2, tenant="b", attained=LEVELS_S[1] + 1), p, 1)
        waiting = [work("w1", 4, at=950, tenant="a"), work("w2", 4, at=960, tenant="b")]
        tenants = {"a": TenantTerms("a", quota={"V100": 6}), "b": TenantTerms("b")}
        if summarised:
            view = QueueView(1000, [p], [old], waiting, tenants, held=[("a", "p", 4)])
        else:
            view = QueueView(1000, [p], [young, old], waiting, tenants)
        plan = decide(view, policy)
        return started_ids(plan), [x.work.id for x in plan.preempts]

    assert plan_for(True) == plan_for(False) == ([], ["old"])


def _fragmented() -> tuple[PoolView, list[Work], Work, Work]:
    """Two nodes of 4, each holding one long-served 1-GPU job: 6 accelerators free, but
    no whole node for a 4-GPU gang."""
    p = pool(nodes=2, per_node=4)
    served = LEVELS_S[1] + 1
    olds = [running(work(f"old{n}", 1, at=0, attained=served), p, n, started=0) for n in (0, 1)]
    return p, olds, work("wide", 4, at=100), work("small", 1, at=200)


def test_default_clears_a_whole_node_for_a_fragmented_gang() -> None:
    p, olds, wide, small = _fragmented()
    plan = decide(QueueView(1000, [p], olds, [wide, small]), make_policy("default"))
    # One node is cleared (its lower-ranked job asked to stop) and kept for the gang: the
    # small job that ranks after the gang starts on the other node, not on the kept one.
    assert [x.work.id for x in plan.preempts] == ["old0"]
    assert [(s.work.id, s.nodes) for s in plan.starts] == [("small", ((1, 1),))]
    assert plan.waits["wide"].code == "queue_awaiting_nodes"


def test_default_waits_for_the_nodes_it_preempted_instead_of_clearing_more() -> None:
    # Two 1-GPU nodes, both held by long-served work; a fresh job outranks both. One
    # preemption makes room: the fresh job waits for that node to stop, and the other
    # node is not cleared too (it was, before: two stops for one start).
    p = pool(nodes=2, per_node=1)
    served = LEVELS_S[1] + 1
    olds = [running(work(f"old{n}", 1, at=0, attained=served), p, n, started=0) for n in (0, 1)]
    plan = decide(QueueView(1000, [p], olds, [work("new", 1, at=900)]), make_policy("default"))
    assert [x.work.id for x in plan.preempts] == ["old1"]
    assert plan.starts == []
    assert plan.awaiting_nodes == ["new"]
    assert plan.waits["new"].code == "queue_awaiting_nodes"


def test_fifo_and_work_that_outranks_the_gang_keep_their_nodes() -> None:
    p, olds, wide, small = _fragmented()
    plan = decide(QueueView(1000, [p], olds, [wide, small]), make_policy("fifo"))
    assert plan.preempts == []  # Helios' FIFO: no preemption, no node clearing
    p, olds, wide, small = _fragmented()
    for w in olds:
        w.attained = 0.0  # same level as the gang and submitted before it: outranks it
    plan = decide(QueueView(1000, [p], olds, [wide, small]), make_policy("default"))
    assert plan.preempts == []
    assert started_ids(plan) == ["small"]


def test_default_keeps_submission_order_inside_a_level_after_a_preemption() -> None:
    p = pool(nodes=1, per_node=1)
    served = LEVELS_S[0] + 1
    # "first" was submitted first, ran, was preempted and re-entered the queue later.
    first = work("first", 1, at=0, attained=served)
    first.queued_since = 5000
    second = work("second", 1, at=100, attained=served)
    plan = decide(QueueView(5100, [p], [], [second, first]), make_policy("default"))
    assert started_ids(plan) == ["first"]

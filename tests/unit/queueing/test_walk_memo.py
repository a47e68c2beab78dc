"""The admission walk decides the same whether it keeps its refusals or not.

``decide`` refuses waiting work of one tenant, size and models once per stretch of the
walk in which nothing is admitted (``admission._Refusals``). Random queues (pools of one or
two models, tenants with quotas, cohorts and borrowing, running work borrowed or not, gangs,
waiting work of several kinds) are decided with the memo and without it, by every policy,
explained or not, with and without backfill: starts, nodes, borrowing, preemptions, moves,
work awaiting nodes and every explanation must be the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.domain.tenants import TenantTerms
from suanli.domain.throughput import ThroughputTable
from suanli.scheduler.queueing import (
    QUEUE_POLICIES,
    Plan,
    PoolView,
    QueueSettings,
    QueueView,
    Work,
    admission,
    decide,
    history_of,
    make_policy,
)
from suanli.scheduler.queueing.fairshare import fair_order

TENANTS = {
    "a": TenantTerms("a", quota={"V100": 4, "T4": 2}, cohort="c", borrow=True),
    "b": TenantTerms("b", quota={"V100": 2}, cohort="c", borrow=True),
    "c": TenantTerms("c", quota={"T4": 4}, cohort="c", borrow=False),
    "d": TenantTerms("d", weight=2.0),
}
MODELS = [None, frozenset({"V100"}), frozenset({"T4"})]
THROUGHPUT = ThroughputTable({("k0", "V100"): 2.0, ("k0", "T4"): 1.0})
# (tenant, accelerators, models index, submitted, attained, running: None or (started,
# borrowed, stopping))
WORK = st.tuples(
    st.sampled_from(sorted(TENANTS)),
    st.sampled_from([1, 1, 2, 4, 8]),
    st.integers(0, len(MODELS) - 1),
    st.integers(0, 50_000),
    st.sampled_from([0.0, 0.0, 5_000.0, 50_000.0, 500_000.0]),
    st.one_of(
        st.none(),
        st.none(),
        st.tuples(st.integers(0, 60_000), st.booleans(), st.sampled_from([False, False, True])),
    ),
)


def view(specs: list[tuple[Any, ...]], two_models: bool, now: float) -> QueueView:
    pools = [PoolView("v100", "V100", 4, [4] * 3, 1.0)]
    if two_models:
        pools.append(PoolView("t4", "T4", 2, [2] * 4, 0.4))
    running: list[Work] = []
    waiting: list[Work] = []
    for i, (tenant, count, m, at, served, run) in enumerate(specs):
        w = Work(
            f"j{i:02d}",
            tenant,
            count,
            float(at),
            job_class="k0",
            models=MODELS[m],
            attained=served,
            queued_since=float(at),
        )
        if run is None:
            waiting.append(w)
            continue
        started, borrowed, stopping = run
        p = next(
            (p for p in pools if (w.models is None or p.model in w.models) and p.free_total),
            None,
        )
        node = None if p is None else next((k for k, f in enumerate(p.free) if f >= count), None)
        if p is None or node is None:
            waiting.append(w)  # no room to have it run: it waits instead
            continue
        p.free[node] -= count
        w.pool, w.nodes, w.started, w.speed = p.name, ((node, count),), float(started), p.speed
        w.borrowed, w.stopping = borrowed, stopping
        running.append(w)
    history = history_of((t, c, 1_000.0 * (1 + i % 9)) for i, (t, c, *_) in enumerate(specs * 3))
    return QueueView(now, pools, running, waiting, TENANTS, history=history)


def outcome(plan: Plan) -> tuple[Any, ...]:
    return (
        [(s.work.id, s.pool, s.nodes, s.borrowed) for s in plan.starts],
        [(p.work.id, p.reason) for p in plan.preempts],
        [(m.work.id, m.pool, m.nodes) for m in plan.moves],
        plan.waits,
        plan.awaiting_nodes,
    )


@settings(max_examples=120, deadline=None)
@given(
    st.lists(WORK, min_size=15, max_size=40),
    st.sampled_from(sorted(QUEUE_POLICIES)),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_a_walk_decides_alike_with_and_without_its_refusals(
    specs: list[tuple[Any, ...]],
    name: str,
    two_models: bool,
    explain: bool,
    backfill: bool,
    can_move: bool,
) -> None:
    queue = QueueSettings(backfill=backfill, min_run_s=600.0)
    policy = make_policy(name, queue, THROUGHPUT)
    plans = []
    for keep in (True, False):
        v = view(specs, two_models, 60_000.0)
        plans.append(outcome(decide(v, policy, explain, can_move, keep_refusals=keep)))
    assert plans[0] == plans[1]


def plain_fair_order(works: list[Work], ledger: Any) -> Iterator[Work]:
    """The borrowing pass's order as it was: the lowest share compared anew per work."""
    by_tenant: dict[str, list[Work]] = {}
    for w in works:
        by_tenant.setdefault(w.tenant, []).append(w)
    heads = dict.fromkeys(by_tenant, 0)
    while heads:
        tenant = min(heads, key=lambda t: (ledger.share[t], t))
        i = heads[tenant]
        yield by_tenant[tenant][i]
        if i + 1 < len(by_tenant[tenant]):
            heads[tenant] = i + 1
        else:
            del heads[tenant]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(sorted(TENANTS)), min_size=2, max_size=30),
    st.lists(st.tuples(st.booleans(), st.sampled_from(sorted(TENANTS)), st.integers(1, 4))),
)
def test_the_borrowing_order_keeps_its_tenant_only_while_no_share_moves(
    owners: list[str], admits: list[tuple[bool, str, int]]
) -> None:
    # Between yields the walk may admit work (a share moves): the order must follow it.
    works = [Work(f"w{i}", t, 1, float(i)) for i, t in enumerate(owners)]
    orders = []
    for order in (fair_order, plain_fair_order):
        ledger = admission._Ledger(TENANTS)
        steps = iter(admits)
        seen = []
        for w in order(works, ledger):
            seen.append(w.id)
            admit, tenant, count = next(steps, (False, "a", 1))
            if admit:
                ledger.add(tenant, count, "V100", 1.0)
        orders.append(seen)
    assert orders[0] == orders[1]

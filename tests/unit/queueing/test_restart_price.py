"""The priced restart (``restart.py``): running work that does not checkpoint is stopped for
a rank only when the best waiting work's expected gain exceeds ``restart_price`` times the
service the restart throws away; work that resumes and reclaiming lent quota are unchanged,
and policies without a learnt table (the blind baselines) never pay it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.domain.jobs import Job, JobStatus, NodeAssignment, Placement
from suanli.domain.tenants import TenantTerms
from suanli.scheduler.fairqueue import fair_turn
from suanli.scheduler.policies import POLICIES
from suanli.scheduler.queueing import (
    PoolView,
    QueueSettings,
    QueueView,
    Work,
    decide,
    history_of,
    make_policy,
)
from suanli.scheduler.queueing.gittins import MIN_ALIVE, MIN_SAMPLES
from suanli.scheduler.queueing.policies import LEVELS_S, Gittins
from suanli.scheduler.queueing.restart import (
    Censored,
    _km_remaining,
    _remaining,
    expected_remaining,
    restart_price,
    thrown_away,
)
from suanli.scheduler.snapshot import build_snapshot
from tests.builders import T0, make_fleet, make_job, make_pool, make_spec

PLACER = POLICIES["default"]

# Tenant "a"'s jobs took 1,000,000 service each, "b"'s 100: a running job of "a" is expected
# to need ~1e6 more, a waiting one of "b" 100.
HISTORY = history_of([("a", 1, 1e6)] * MIN_SAMPLES + [("b", 1, 100.0)] * MIN_SAMPLES)
NOW = 10_000.0
SERVED = 5_000.0  # what the running job's attempt has done: a restart throws it away
BREAK_EVEN = (1e6 - SERVED - 100.0) / SERVED  # ~199: the factor below which the gain pays


def _plan(
    price: float | None,
    resumes: bool,
    kind: str = "default",
    borrowed: bool = False,
    served: float = SERVED,
) -> list[tuple[str, str]]:
    p = PoolView("p", "V100", 1, [0])
    old = Work("old", "a", 1, 0.0, queued_since=0.0, attained=served, resumes=resumes)
    old.pool, old.nodes, old.started, old.borrowed = "p", ((0, 1),), NOW - SERVED, borrowed
    new = Work("new", "b", 1, NOW - 60, queued_since=NOW - 60)
    tenants = {
        "a": TenantTerms("a", quota={"V100": 0 if borrowed else 1}, cohort="c", borrow=True),
        "b": TenantTerms("b", quota={"V100": 1}, cohort="c", borrow=True),
    }
    settings = QueueSettings(min_run_s=600, restart_price=price)
    view = QueueView(NOW, [p], [old], [new], tenants, history=HISTORY)
    plan = decide(view, make_policy(kind, settings))
    return [(x.work.id, x.reason.code) for x in plan.preempts]


def test_the_expectations_are_the_tables() -> None:
    policy = make_policy("default", QueueSettings()).informed(HISTORY)
    assert isinstance(policy, Gittins)
    old = Work("old", "a", 1, 0.0, attained=SERVED, started=NOW - 2 * SERVED, pool="p")
    assert expected_remaining(policy, old) == pytest.approx(1e6 - SERVED)  # E[S - a | S > a]
    assert expected_remaining(policy, Work("new", "b", 1, 0.0)) == pytest.approx(100.0)
    # Its attempt ran 10,000 s but attained 5,000 in all: only what it did can be lost.
    assert thrown_away(old, NOW) == SERVED
    bare = make_policy("default", QueueSettings())  # nothing finished yet: nothing known
    assert isinstance(bare, Gittins)
    assert math.isinf(expected_remaining(bare, old))


def test_work_that_does_not_resume_is_stopped_only_when_the_gain_pays() -> None:
    assert _plan(None, resumes=False) == []  # never: ADR 0002's rule
    assert _plan(BREAK_EVEN * 1.1, resumes=False) == []
    assert _plan(BREAK_EVEN * 0.9, resumes=False) == [("old", "preempt_restart")]
    assert _plan(0.0, resumes=False) == [("old", "preempt_restart")]


@pytest.mark.parametrize("price", [None, 0.0, BREAK_EVEN * 1.1, 1e3])
def test_work_that_resumes_is_stopped_whatever_the_price(price: float | None) -> None:
    assert _plan(price, resumes=True) == [("old", "preempt_outranked")]


@pytest.mark.parametrize("resumes", [True, False])
@pytest.mark.parametrize("price", [None, 0.0, 1e3])
def test_reclaim_ignores_the_price(price: float | None, resumes: bool) -> None:
    assert _plan(price, resumes, borrowed=True) == [("old", "preempt_reclaim")]


@pytest.mark.parametrize("kind", ["las", "las2d", "las-plain"])
def test_blind_baselines_never_pay_it(kind: str) -> None:
    served = LEVELS_S[-1] * 10  # past every level: outranked by the newcomer everywhere
    assert _plan(0.0, resumes=False, kind=kind, served=served) == []
    assert _plan(0.0, resumes=True, kind=kind, served=served) == [("old", "preempt_outranked")]


def test_no_price_without_a_table_or_waiting_work() -> None:
    settings = QueueSettings(restart_price=1.0)
    informed = make_policy("default", settings).informed(HISTORY)
    assert restart_price(make_policy("default", settings), [Work("w", "b", 1, 0.0)]) is None
    assert restart_price(informed, []) is None
    assert restart_price(make_policy("fifo", settings), [Work("w", "b", 1, 0.0)]) is None
    assert restart_price(informed, [Work("w", "b", 1, 0.0)]) is not None


def test_the_live_queue_prices_the_restart_of_a_job_without_checkpoints() -> None:
    """Through the live turn (``fair_turn``: jobs, the store's history, settings): a job of
    a class that runs ~1e6 service is stopped for a job of a class that runs 100 only when
    the price says so; the same job with checkpoints is stopped whatever the price."""
    fleet = make_fleet(("lab", "beijing", [make_pool("a100", "A100", nodes=1, per_node=1)]))
    spec: dict[str, Any] = {"resources": {"accelerator": {"model": "A100", "count": 1}}}
    history = history_of([("x", 1000, 1e6)] * MIN_SAMPLES + [("y", 1000, 100.0)] * MIN_SAMPLES)
    long = make_job(make_spec(name="long", **spec), "long", tenant="x")
    pl = Placement(
        "lab", "a100", "A100", (NodeAssignment("a100-n0", (0,)),), long.spec.accelerator_units
    )
    long = dataclasses.replace(long, status=JobStatus.RUNNING, placement=pl, started_at=T0)
    fresh = make_job(make_spec(name="fresh", **spec), "fresh", tenant="y")
    saves = dataclasses.replace(long, spec=make_spec(name="long", checkpoint={}, **spec))

    def stopped(holding: Job, price: float | None, ran_s: int) -> list[tuple[str, str]]:
        at = T0 + dt.timedelta(seconds=ran_s)
        snap = build_snapshot(at, fleet, [holding], [fresh])
        settings = QueueSettings(restart_price=price)
        t = fair_turn(snap, [holding], PLACER.rank, {}, settings, history)
        return [(j.id, r.code) for j, r in t.preempts]

    hour = 3600  # after an hour, a restart throws 3,600 away; the gain is ~996,000
    assert stopped(long, None, hour) == []
    assert stopped(long, 1.0, hour) == [("long", "preempt_restart")]
    assert stopped(long, 1.0, 300) == []  # within its minimum run
    assert stopped(long, 1_000.0, hour) == []  # the gain does not pay 1,000 x 3,600
    for price in (None, 1_000.0):
        assert stopped(saves, price, hour) == [("long", "preempt_outranked")]


def _km_reference(done: list[float], cut: list[float], a: float) -> float | None:
    """Kaplan-Meier by its definition, one distinct time at a time: the survival steps by
    (1 - deaths / at risk) at each finished time (censored at that time still at risk);
    ``E[S - a | S > a]`` is the area under it past ``a`` over its value at ``a``, plus,
    where it has not reached 0 at the last sample, that rest times the last sample."""
    times = sorted(set(done) | set(cut))
    if sum(1 for x in [*done, *cut] if x > a) < MIN_ALIVE:
        return None
    steps: list[tuple[float, float]] = []  # (time, survival just after it)
    s = 1.0
    for t in times:
        at_risk = sum(1 for x in [*done, *cut] if x >= t)
        s *= 1.0 - done.count(t) / at_risk
        steps.append((t, s))

    def survival(x: float) -> float:
        return min([v for t, v in steps if t <= x], default=1.0)

    at_a = survival(a)
    if at_a <= 0.0:
        return None
    area, prev, level = 0.0, a, at_a
    for t, v in steps:
        if t > a:
            area += level * (t - prev)
            prev, level = t, v
    return (area + level * times[-1]) / at_a


services = st.lists(st.integers(1, 40).map(float), max_size=25)


@settings(max_examples=100, deadline=None)
@given(done=services, cut=services, a=st.integers(0, 45).map(float))
def test_the_tail_is_kaplan_meiers(done: list[float], cut: list[float], a: float) -> None:
    """Finished services as events, unfinished work's attained service as censored samples
    (ties included): the expectation is Kaplan-Meier's; without censored samples it is the
    plain mean over the finished jobs past ``a`` (the estimate before the tail)."""
    ordered = sorted(done)
    got = _km_remaining(ordered, Censored({"k": sorted(cut)}), "k", a, {})
    want = _km_reference(ordered, cut, a)
    assert (got is None) == (want is None)
    if got is not None and want is not None:
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9)
    plain = _km_remaining(ordered, Censored(), "k", a, {})
    assert plain == _remaining(ordered, a, {})


def test_work_past_every_finished_job_learns_its_tail_from_longer_running_work() -> None:
    """Tenant "a"'s finished jobs took 1,000; a job of "a" that has run 5,000 is past every
    one of them. With finished jobs alone it is expected to run as long again (5,000): a
    restart at a price of 1 never pays. Five of "a"'s jobs still running at 100,000 say
    the tail is longer: it is expected to run ~95,000 + 100,000 more, and the price pays."""
    history = history_of([("a", 1, 1_000.0)] * MIN_SAMPLES + [("b", 1, 100.0)] * MIN_SAMPLES)
    settings = QueueSettings(min_run_s=600, restart_price=1.0)
    policy = make_policy("default", settings).informed(history)
    assert isinstance(policy, Gittins)
    old = Work("old", "a", 1, 0.0, attained=SERVED, started=NOW - SERVED, pool="p")
    old.nodes, old.resumes = ((0, 1),), False
    tails = [Work(f"t{i}", "a", 1, 0.0, attained=1e5, pool="q") for i in range(MIN_ALIVE)]
    new = Work("new", "b", 1, NOW - 60, queued_since=NOW - 60)
    alone = restart_price(policy, [new], [old])
    assert alone is not None
    assert alone.expected(old) == pytest.approx(SERVED)
    assert not alone.pays(old, NOW)
    tail = restart_price(policy, [new], [old, *tails])
    assert tail is not None
    assert tail.expected(old) == pytest.approx(1e5 - SERVED + 1e5)
    assert tail.pays(old, NOW)
    # Through the decision: the running work listed is the tail.
    p, q = PoolView("p", "V100", 1, [0]), PoolView("q", "V100", MIN_ALIVE, [0] * MIN_ALIVE)
    for i, t in enumerate(tails):
        t.nodes, t.started = ((i, 1),), 0.0
    view = QueueView(NOW, [p, q], [old, *tails], [new], {}, history=history)
    plan = decide(view, make_policy("default", settings))
    assert [(x.work.id, x.reason.code) for x in plan.preempts] == [("old", "preempt_restart")]
    bare = QueueView(NOW, [p], [old], [new], {}, history=history)
    assert decide(bare, make_policy("default", settings)).preempts == []


one_work = st.tuples(
    st.sampled_from(["a", "b", "c"]),
    st.integers(1, 9),
    st.sampled_from([0.0, 0.0, 50.0, 400.0, 1_000.0, 5_000.0]),
    st.booleans(),
)


@settings(max_examples=60, deadline=None)
@given(specs=st.lists(one_work, min_size=1, max_size=12))
def test_a_decision_asks_each_class_and_service_once_alike(
    specs: list[tuple[str, int, float, bool]],
) -> None:
    """The price keeps one expectation per (tenant, size class, attained) for its decision:
    each equals the expectation computed afresh for that very work."""
    history = history_of(
        (t, 1 + k % 9, 100.0 * (1 + k % 17)) for k in range(120) for t in ("a", "b")
    )
    policy = make_policy("default", QueueSettings(restart_price=1.0)).informed(history)
    assert isinstance(policy, Gittins)
    works = [
        Work(f"w{i}", t, n, 0.0, attained=a, pool="p" if run else None)
        for i, (t, n, a, run) in enumerate(specs)
    ]
    running = [w for w in works if w.running]
    waiting = [w for w in works if not w.running] or [Work("x", "a", 1, 0.0)]
    price = restart_price(policy, waiting, running)
    assert price is not None
    cut = Censored.of_work([*running, *waiting])
    for w in [*works, *works]:
        assert price.expected(w) == expected_remaining(policy, w, censored=cut)

"""Backfill with reservations: a blocked job's start time is kept from later, longer jobs."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.scheduler.queueing import PoolView, QueueSettings, QueueView, Work, decide, make_policy
from suanli.scheduler.queueing.reservation import ends_at, runs_for, shadow
from tests.unit.queueing.test_admission import running
from tests.unit.queueing.test_admission import started_ids as started

RESERVE = QueueSettings(reserve=True)


def pool(nodes: int = 2, per_node: int = 4) -> PoolView:
    return PoolView("p", "V100", per_node, [per_node] * nodes)


def work(ident: str, gpus: int, at: float = 0.0, **kw: object) -> Work:
    return Work(ident, "a", gpus, at, queued_since=at, **kw)  # type: ignore[arg-type]


def blocked_gang() -> tuple[PoolView, list[Work]]:
    """Node 1 busy until t=100 (estimate); node 0 free; a gang of 8 waits for both nodes."""
    p = pool()
    busy = running(work("busy", 4, estimate_s=100.0, limit_s=1000.0), p, 1)
    return p, [busy]


def test_a_later_job_that_would_outlast_the_reservation_waits_with_the_reason() -> None:
    p, busy = blocked_gang()
    jobs = [work("gang", 8, at=1), work("long", 2, at=2, estimate_s=500.0)]
    plan = decide(QueueView(10, [p], busy, jobs), make_policy("fifo", RESERVE))
    assert started(plan) == []
    reason = plan.waits["long"]
    assert reason.code == "queue_reserved"
    assert reason.params == {"need": 2, "holder": "gang", "wait": 90}
    # Without reservations the same job jumps the gang (which may then wait forever).
    plan = decide(QueueView(10, [p], busy, jobs), make_policy("fifo"))
    assert started(plan) == ["long"]


def test_a_later_job_that_ends_before_the_reserved_start_backfills() -> None:
    p, busy = blocked_gang()
    jobs = [work("gang", 8, at=1), work("short", 2, at=2, estimate_s=50.0)]
    plan = decide(QueueView(10, [p], busy, jobs), make_policy("fifo", RESERVE))
    assert started(plan) == ["short"]


def test_no_estimate_but_a_short_hard_limit_is_enough_to_backfill() -> None:
    p, busy = blocked_gang()
    jobs = [work("gang", 8, at=1), work("capped", 2, at=2, limit_s=60.0)]
    plan = decide(QueueView(10, [p], busy, jobs), make_policy("fifo", RESERVE))
    assert started(plan) == ["capped"]


def test_the_spare_at_the_shadow_time_takes_long_jobs() -> None:
    # A gang of 6 needs node 1 back at t=100; 2 of the 8 are spare then.
    p, busy = blocked_gang()
    jobs = [
        work("gang", 6, at=1),
        work("long-a", 2, at=2, estimate_s=900.0),
        work("long-b", 2, at=3, estimate_s=900.0),
    ]
    plan = decide(QueueView(10, [p], busy, jobs), make_policy("fifo", RESERVE))
    assert started(plan) == ["long-a"]
    assert plan.waits["long-b"].code == "queue_reserved"


def test_running_work_with_no_known_end_makes_no_promise() -> None:
    p = pool()
    busy = [running(work("busy", 4), p, 1)]  # neither estimate nor limit
    jobs = [work("gang", 8, at=1), work("long", 2, at=2, estimate_s=500.0)]
    plan = decide(QueueView(10, [p], busy, jobs), make_policy("fifo", RESERVE))
    assert started(plan) == ["long"]


def test_estimates_scale_with_the_pool_speed_and_stop_at_the_limit() -> None:
    w = work("w", 1, estimate_s=1000.0, limit_s=300.0)
    assert runs_for(w, 2.0) == 300.0
    assert runs_for(work("w", 1, estimate_s=1000.0), 2.0) == 500.0
    assert runs_for(work("w", 1), 1.0) == math.inf
    overrun = work("o", 1, estimate_s=10.0, limit_s=1000.0)
    overrun.started, overrun.speed = 0.0, 1.0
    assert ends_at(overrun, 50.0, 30.0) == 50.0  # past its estimate: may end any moment
    overrun.stopping = True
    assert ends_at(overrun, 50.0, 30.0) == 80.0  # asked to stop: gone after the grace


@settings(max_examples=200, deadline=None)
@given(
    room=st.integers(0, 8),
    need=st.integers(1, 16),
    holding=st.lists(st.tuples(st.integers(1, 1000), st.integers(1, 8)), max_size=6),
)
def test_the_shadow_time_is_the_first_moment_enough_is_free(
    room: int, need: int, holding: list[tuple[int, int]]
) -> None:
    promise = shadow(work("h", need), room, [(float(e), c) for e, c in holding])

    def free_at(t: float) -> int:
        return room + sum(c for e, c in holding if e <= t)

    if room >= need or free_at(math.inf) < need:
        assert promise is None
        return
    assert promise is not None
    assert free_at(promise.at) >= need
    assert all(free_at(e) < need for e, _ in holding if e < promise.at)
    assert promise.spare == free_at(promise.at) - need


@settings(max_examples=100, deadline=None)
@given(
    ends=st.lists(st.integers(20, 400), min_size=1, max_size=2),
    later=st.lists(st.tuples(st.integers(1, 4), st.integers(1, 600)), max_size=5),
)
def test_backfilled_jobs_never_hold_what_the_reservation_needs_at_its_time(
    ends: list[int], later: list[tuple[int, int]]
) -> None:
    """Whatever starts ahead of the gang ends before its shadow time or fits in the spare."""
    p = pool(nodes=len(ends) + 1)
    busy = [
        running(work(f"busy{i}", 4, estimate_s=float(e), limit_s=9999.0), p, i + 1)
        for i, e in enumerate(ends)
    ]
    gang = work("gang", 4 * len(ends) + 4, at=1)
    jobs = [gang] + [
        work(f"j{i}", g, at=2 + i, estimate_s=float(d)) for i, (g, d) in enumerate(later)
    ]
    plan = decide(QueueView(10, [p], busy, jobs), make_policy("fifo", RESERVE))
    shadow_at = max(ends)
    past = [s.work.id for s in plan.starts if 10 + (s.work.estimate_s or 0.0) > shadow_at]
    assert "gang" not in started(plan)
    assert past == []  # the gang needs every accelerator at its time: there is no spare

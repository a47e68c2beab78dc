"""The replica plan (scheduler.autoscaling.rollout): pure, so each rule is one example."""

from __future__ import annotations

from suanli.scheduler.autoscaling.rollout import (
    BACKOFF_MAX_S,
    ReplicaView,
    plan_replicas,
    restart_delay,
)


def views(revision: int, ready: int, starting: int = 0, first: int = 0) -> list[ReplicaView]:
    return [
        ReplicaView(f"r{revision}-{i}", revision, i < ready, float(first + i))
        for i in range(ready + starting)
    ]


def test_steady_scale_up_and_down() -> None:
    assert plan_replicas([], 1, 3).start == 3
    plan = plan_replicas(views(1, 2, starting=2), 1, 2)
    assert plan.start == 0
    assert plan.stop == ("r1-3", "r1-2")  # the not ready go first, newest first
    assert plan_replicas(views(1, 3), 1, 3).stop == ()


def test_a_rollout_starts_one_over_and_stops_an_old_one_only_once_a_new_one_is_ready() -> None:
    old = views(1, 3)
    first = plan_replicas(old, 2, 3, surge=1, max_unavailable=0)
    assert (first.start, first.stop) == (1, ())
    waiting = plan_replicas([*old, *views(2, 0, starting=1, first=10)], 2, 3)
    assert (waiting.start, waiting.stop) == (0, ())  # surge used, nothing ready to swap
    swapped = plan_replicas([*old, *views(2, 1, first=10)], 2, 3)
    assert swapped.stop == ("r1-0",)  # the oldest
    assert swapped.start == 1  # its room goes to the next new one at once


def test_max_unavailable_lets_a_rollout_without_surge_move() -> None:
    plan = plan_replicas(views(1, 3), 2, 3, surge=0, max_unavailable=1)
    assert plan.stop == ("r1-0",)
    assert plan.start == 1


def test_old_replicas_not_ready_go_at_once_and_zero_stops_everything() -> None:
    plan = plan_replicas([*views(1, 1, starting=1), *views(2, 1, first=5)], 2, 1)
    assert set(plan.stop) == {"r1-0", "r1-1"}
    assert plan_replicas(views(1, 2), 1, 0).stop == ("r1-1", "r1-0")


def test_restarts_back_off_doubling_to_a_cap() -> None:
    assert [restart_delay(n) for n in range(5)] == [0, 10, 20, 40, 80]
    assert restart_delay(50) == BACKOFF_MAX_S

"""The contract every autoscaling policy keeps, and the default policy's own behaviour."""

from __future__ import annotations

import itertools

import pytest

from suanli.scheduler.autoscaling import (
    POLICIES,
    Oracle,
    Sample,
    ScalingPolicy,
    ScalingRule,
    Static,
    TargetTracking,
    Window,
    policy_named,
)

TICK = 10.0
ALL: list[ScalingPolicy] = [*POLICIES.values(), Static(3)]


def rule(**changes: object) -> ScalingRule:
    base: dict[str, object] = {
        "metric": "in_flight",
        "target": 4.0,
        "low": 1,
        "high": 10,
        "up_delay_s": 0.0,
        "down_delay_s": 60.0,
        "idle_s": 120.0,
    }
    base.update(changes)
    return ScalingRule(**base)  # type: ignore[arg-type]


def window(loads: list[float], current: int, ahead: list[float] | None = None) -> Window:
    """One sample per 10 s with ``in_flight`` = load, ``rps`` = load and tokens = 10 x load."""
    samples = tuple(
        Sample((i + 1) * TICK, TICK, int(x * TICK), x, int(x * TICK * 10))
        for i, x in enumerate(loads)
    )
    now = len(loads) * TICK
    future = tuple(
        Sample(now + (i + 1) * TICK, TICK, int(x * TICK), x, int(x * TICK * 10))
        for i, x in enumerate(ahead or [])
    )
    return Window(now, current, samples, future)


SHAPES = [[0.0] * 20, [5.0] * 20, [1.0] * 10 + [40.0] * 10, [40.0] * 10 + [0.0] * 10]


@pytest.mark.parametrize("policy", ALL, ids=lambda p: p.name)
@pytest.mark.parametrize("metric", ["in_flight", "rps", "tokens_per_s"])
def test_every_policy_is_pure_and_answers_a_whole_number(
    policy: ScalingPolicy, metric: str
) -> None:
    for loads, current in itertools.product(SHAPES, [0, 1, 4, 10]):
        w, r = window(loads, current, loads[:6]), rule(metric=metric)
        first = policy.desired(w, r)
        assert isinstance(first, int)
        assert policy.desired(w, r) == first  # pure: same window, same answer


@pytest.mark.parametrize("policy", list(POLICIES.values()), ids=lambda p: p.name)
def test_registered_policies_stay_within_min_and_max(policy: ScalingPolicy) -> None:
    for loads, current, (low, high) in itertools.product(SHAPES, [0, 3, 12], [(0, 4), (2, 6)]):
        got = policy.desired(window(loads, current, loads), rule(low=low, high=high))
        assert low <= got <= high


@pytest.mark.parametrize("policy", list(POLICIES.values()), ids=lambda p: p.name)
def test_registered_policies_follow_a_steady_load(policy: ScalingPolicy) -> None:
    # 20 in flight at 4 per replica: at least 5 replicas, and not twice that.
    for current in (2, 9):
        assert 5 <= policy.desired(window([20.0] * 30, current, [20.0] * 6), rule()) < 10


@pytest.mark.parametrize("policy", list(POLICIES.values()), ids=lambda p: p.name)
def test_registered_policies_need_no_history(policy: ScalingPolicy) -> None:
    assert policy.desired(Window(0.0, 3, ()), rule()) == 3
    assert policy.desired(Window(0.0, 30, ()), rule()) == 10


def test_registry_names_its_policies() -> None:
    assert policy_named("default").name == "default"
    with pytest.raises(KeyError, match="known: default, oracle"):
        policy_named("lottery")


def test_default_scales_up_at_once_without_an_up_delay() -> None:
    assert (
        TargetTracking(headroom=1.0, smooth_s=10).desired(window([4.0] * 10 + [30.0], 1), rule())
        == 8
    )


def test_default_waits_out_the_up_delay() -> None:
    policy, r = TargetTracking(headroom=1.0, smooth_s=10), rule(up_delay_s=30)
    assert policy.desired(window([4.0] * 10 + [30.0], 1), r) == 1  # one high sample
    assert policy.desired(window([4.0] * 10 + [30.0] * 4, 1), r) == 8


def test_default_waits_out_the_down_delay() -> None:
    policy, r = TargetTracking(headroom=1.0, smooth_s=10), rule(down_delay_s=60)
    assert policy.desired(window([40.0] * 10 + [4.0] * 3, 10), r) == 10
    assert policy.desired(window([40.0] * 10 + [4.0] * 7, 10), r) == 1


def test_default_keeps_headroom_for_growth() -> None:
    steady = window([20.0] * 30, 5)
    assert TargetTracking(headroom=1.0).desired(steady, rule()) == 5
    assert TargetTracking(headroom=1.25).desired(steady, rule()) == 7  # 25 / 4 -> 7


def test_default_goes_to_zero_only_after_the_idle_delay() -> None:
    policy, r = TargetTracking(), rule(low=0, idle_s=60)
    assert policy.desired(window([4.0] * 10 + [0.0] * 4, 1), r) == 1
    assert policy.desired(window([4.0] * 10 + [0.0] * 7, 1), r) == 0
    # Not enough history to know the service was idle that long: keep a replica.
    assert policy.desired(window([0.0] * 3, 1), r) == 1


def test_default_wakes_a_service_at_zero_for_one_request() -> None:
    r = rule(low=0, up_delay_s=120)
    assert TargetTracking().desired(window([0.0] * 20 + [0.1], 0), r) == 1


def test_oracle_provisions_for_the_coming_peak() -> None:
    got = Oracle().desired(window([4.0] * 10, 1, [4.0, 4.0, 36.0, 4.0]), rule())
    assert got == 9


def test_rule_counts_exact_multiples_without_an_extra_replica() -> None:
    assert rule().needed(8.0) == 2
    assert rule().needed(8.000001) == 3
    assert rule(target=0.1).needed(0.3) == 3

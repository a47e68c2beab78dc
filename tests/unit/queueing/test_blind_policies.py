"""The blind baselines (plain LAS, Tiresias' 2D-LAS, Helios' QSSF) keep the policy protocol
and rank as their papers say."""

from __future__ import annotations

import random
import typing

import pytest

from suanli.domain.errors import InvalidInput
from suanli.scheduler.queueing import (
    QUEUE_POLICIES,
    PoolView,
    QueueSettings,
    QueueView,
    Work,
    decide,
    history_of,
    make_policy,
)
from suanli.scheduler.queueing.model import LAS2D_LEVELS_S, LAS2D_PROMOTE
from suanli.scheduler.queueing.policies import QueuePolicy
from suanli.scheduler.queueing.policies_blind import QuasiShortestService, TwoDimLeastAttained
from suanli.schemas.queuefile import PolicyName, QueueEntry
from suanli.schemas.validation import validate_model
from suanli.service.bootstrap import queue_settings_of

BLIND = ("las-plain", "las2d", "qssf")


def pool(nodes: int = 1, per_node: int = 4) -> PoolView:
    return PoolView("p", "V100", per_node, [per_node] * nodes)


def work(ident: str, gpus: int = 1, at: float = 0.0, tenant: str = "a", **kw: object) -> Work:
    kw.setdefault("queued_since", at)
    return Work(ident, tenant, gpus, at, **kw)  # type: ignore[arg-type]


def run_on(w: Work, p: PoolView, started: float) -> Work:
    w.pool, w.nodes, w.started = p.name, ((0, w.accelerators),), started
    p.free[0] -= w.accelerators
    return w


def learned(name: str, rng: random.Random) -> QueuePolicy:
    finished = [
        (rng.choice("ab"), rng.choice([1, 2, 4]), rng.choice([100.0, 5_000.0, 90_000.0]))
        for _ in range(200)
    ]
    if name == "default-run-to-end":  # the default ranking without quanta
        return make_policy("default", QueueSettings(quanta=False)).informed(history_of(finished))
    return make_policy(name).informed(history_of(finished))


def test_every_policy_is_one_a_file_may_name() -> None:
    assert set(typing.get_args(PolicyName)) == set(QUEUE_POLICIES)
    for name in BLIND:
        assert QUEUE_POLICIES[name].name == name


@pytest.mark.parametrize("name", [*BLIND, "default", "default-run-to-end"])
def test_waiting_order_groups_sort_as_the_key_does_at_any_instant(name: str) -> None:
    # The protocol's promise to drivers: inside one ``wait_order`` group, ``key`` at any
    # instant sorts waiting work as ``order`` does, and keys hold until ``next_change``.
    rng = random.Random(name)
    policy = learned(name, rng)
    jobs = []
    for i in range(120):
        at = rng.uniform(0, 50_000)
        w = work(f"j{i:03d}", rng.choice([1, 2, 4]), at, tenant=rng.choice("ab"))
        w.attained = rng.choice([0.0, 0.0, 1_000.0, 5_000.0, 40_000.0])
        w.queued_since = at + rng.uniform(0, 10_000) if w.attained else at
        jobs.append(w)
    for now in (60_000.0, 90_000.0, 400_000.0, 2_000_000.0):
        groups: dict[object, list[Work]] = {}
        for w in jobs:
            # Drivers keep groups per (tenant, accelerators) (``sim/replay_queue``): the
            # default's index differs between them; the baselines' groups hold across.
            group = policy.wait_order(w)[0]
            if policy.learns and name.startswith("default"):
                group = (w.tenant, w.accelerators, group)
            groups.setdefault(group, []).append(w)
        for members in groups.values():
            by_order = sorted(members, key=lambda w: policy.wait_order(w)[1])
            assert by_order == sorted(members, key=lambda w: policy.key(w, now))
        for w in jobs:
            change = policy.next_change(w, now)
            assert change is None or change > now
            later = (change - 1e-3) if change is not None else now + 10_000_000.0
            assert policy.key(w, later) == policy.key(w, now)


def test_plain_las_serves_the_least_served_first_and_preempts_the_more_served() -> None:
    p = pool(per_node=2)
    served = run_on(work("served", 2, at=0.0, attained=50.0), p, started=0.0)
    fresh = work("fresh", 2, at=100.0)
    policy = make_policy("las-plain", QueueSettings(min_run_s=0))
    plan = decide(QueueView(1000.0, [p], [served], [fresh]), policy)
    assert [x.work.id for x in plan.preempts] == ["served"]
    later = work("later", 1, at=5.0, attained=10.0)
    assert policy.key(fresh, 0) < policy.key(later, 0)  # service, not arrival, comes first


def test_las2d_has_the_published_two_queues_and_knob() -> None:
    policy = make_policy("las2d")
    assert isinstance(policy, TwoDimLeastAttained)
    assert policy.settings.las2d_levels_s == LAS2D_LEVELS_S == (3600.0,)
    assert policy.settings.las2d_promote == LAS2D_PROMOTE
    below = work("below", 4, attained=3599.0, queued_since=0.0)
    above = work("above", 1, attained=3600.0, queued_since=0.0)
    assert (policy.queue(below, 10.0), policy.queue(above, 10.0)) == (0, 1)


def test_las2d_counts_accelerators_times_time_and_promotes_the_starved() -> None:
    policy = make_policy("las2d", QueueSettings(min_run_s=0, las2d_promote=2.0))
    p = pool(per_node=4)
    # 4 GPUs for 1,000 s: 4,000 GPU-seconds, past the 3,600 threshold -> queue 1.
    wide = run_on(work("wide", 4, at=0.0), p, started=0.0)
    wide.attained = 4_000.0
    newcomer = work("new", 4, at=500.0)
    plan = decide(QueueView(1000.0, [p], [wide], [newcomer]), policy)
    assert [x.work.id for x in plan.preempts] == ["wide"]  # queue 0 preempts queue 1
    # Preempted at 1,000 s having executed 1,000 s: back in queue 0 after waiting 2,000 s.
    back = work("wide", 4, at=0.0, attained=4_000.0, queued_since=1_000.0)
    assert policy.queue(back, 2_999.0) == 1  # type: ignore[attr-defined]
    assert policy.next_change(back, 2_999.0) == 3_000.0
    assert policy.queue(back, 3_000.0) == 0  # type: ignore[attr-defined]
    # Restarted after its promotion, only this attempt's service places it.
    again = run_on(work("wide", 4, at=0.0, queued_since=1_000.0), pool(per_node=4), 3_000.0)
    again.attained = 4_000.0 + 4 * 100.0
    assert policy.queue(again, 3_100.0) == 0  # type: ignore[attr-defined]
    assert policy.next_change(again, 3_100.0) == pytest.approx(3_000.0 + 3_600.0 / 4)


def test_las2d_keeps_running_work_of_its_queue_ahead_of_waiting_work() -> None:
    p = pool(per_node=2)
    late_runner = run_on(work("runner", 2, at=50.0, attained=100.0), p, started=60.0)
    early_waiter = work("waiter", 2, at=10.0)
    policy = make_policy("las2d", QueueSettings(min_run_s=0))
    plan = decide(QueueView(1000.0, [p], [late_runner], [early_waiter]), policy)
    assert plan.preempts == []
    assert plan.starts == []


def test_las2d_reads_whole_cards_in_the_live_queues_thousandths() -> None:
    policy = make_policy("las2d", QueueSettings(las2d_promote=2.0))
    sim = work("j", 2, attained=4_000.0, queued_since=1_000.0)
    live = work("j", 2_000, attained=4_000.0, queued_since=1_000.0, per_card=1000)
    for now in (2_000.0, 4_999.0, 5_000.0):
        assert policy.queue(sim, now) == policy.queue(live, now)  # type: ignore[attr-defined]
    assert policy.next_change(sim, 2_000.0) == policy.next_change(live, 2_000.0) == 5_000.0


def test_qssf_is_fifo_until_jobs_finish_then_predicted_shortest_first() -> None:
    policy = make_policy("qssf")
    assert isinstance(policy, QuasiShortestService)
    assert not policy.preemptive
    assert policy.learns
    a_first = work("a-first", 1, at=0.0, tenant="a")
    b_later = work("b-later", 1, at=10.0, tenant="b")
    assert policy.key(a_first, 20.0) < policy.key(b_later, 20.0)
    # Tenant a's 1-GPU jobs took 10,000 s, b's 100 s: b's job is predicted shorter.
    finished = [("a", 1, 10_000.0)] * 25 + [("b", 1, 100.0)] * 25
    informed = policy.informed(history_of(finished))
    assert informed.key(b_later, 20.0) < informed.key(a_first, 20.0)
    # A class with fewer than 20 finished jobs is predicted from its size over tenants.
    c_job = work("c", 1, at=5.0, tenant="c")
    assert informed.predicted(c_job) == pytest.approx((25 * 10_000.0 + 25 * 100.0) / 50)  # type: ignore[attr-defined]


def test_qssf_never_preempts() -> None:
    p = pool(per_node=2)
    long_runner = run_on(work("long", 2, at=0.0, tenant="a"), p, started=0.0)
    short = work("short", 2, at=100.0, tenant="b")
    finished = [("a", 2, 1e6)] * 25 + [("b", 2, 10.0)] * 25
    policy = make_policy("qssf", QueueSettings(min_run_s=0)).informed(history_of(finished))
    plan = decide(QueueView(10_000.0, [p], [long_runner], [short]), policy)
    assert plan.preempts == []
    assert plan.starts == []


def test_a_file_picks_the_policy_and_2d_las_settings() -> None:
    entry = QueueEntry.model_validate(
        {"policy": "las2d", "las2d_levels_s": [1000, 8000], "las2d_promote": 4}
    )
    s = queue_settings_of(entry, reserve=False)
    assert (s.policy, s.las2d_levels_s, s.las2d_promote) == ("las2d", (1000.0, 8000.0), 4.0)
    assert queue_settings_of(QueueEntry(), reserve=False).policy == "default"


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"policy": "tiresias"}, "policy", "not_allowed"),
        ({"las2d_levels_s": [8000, 1000]}, "las2d_levels_s", "not_allowed"),
        ({"levels_s": [5, 5]}, "levels_s", "not_allowed"),
        ({"las2d_promote": -1}, "las2d_promote", "out_of_range"),
        ({"las2d_levels_s": []}, "las2d_levels_s", "out_of_range"),
    ],
    ids=["unknown-policy", "2d-levels-decrease", "levels-repeat", "negative-knob", "no-queues"],
)
def test_a_wrong_queue_setting_is_refused_naming_field_value_and_allowed(
    data: dict[str, object], field: str, code: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_model(QueueEntry, data, "scenario.yaml", "invalid_scenario")
    (error,) = info.value.errors
    assert (error.field, error.code) == (field, code)
    assert error.allowed
    if field == "policy":
        assert "las2d" in error.allowed
        assert "qssf" in error.allowed
    en, zh = error.message("en"), error.message("zh")
    assert en != zh
    assert error.allowed in en
    assert error.allowed in zh

"""The default's ranking: Gittins index of attained service learned from finished jobs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
import random
from decimal import Decimal

import numpy as np
import pytest

from suanli.domain.jobs import JobStatus, NodeAssignment, Placement
from suanli.scheduler.fairqueue import service_history
from suanli.scheduler.queueing import (
    PoolView,
    QueueSettings,
    QueueView,
    Work,
    decide,
    history_of,
    make_policy,
)
from suanli.scheduler.queueing.gittins import (
    MIN_SAMPLES,
    GittinsTable,
    HistoryBuilder,
    gittins,
    size_class,
    table_of,
)
from suanli.scheduler.queueing.policies import GUARD_S, LEVELS_S, PREEMPT_GAIN
from tests.builders import T0, make_fleet, make_job, make_pool, make_spec
from tests.unit.queueing.test_fairqueue import turn


def one_card() -> PoolView:
    return PoolView("p", "V100", 1, [1])


def work(ident: str, at: float = 0.0, attained: float = 0.0, tenant: str = "a") -> Work:
    return Work(ident, tenant, 1, at, attained=attained, queued_since=at)


def test_the_index_rises_toward_a_mode_where_least_attained_only_falls() -> None:
    # Half the jobs need 1,000, half 1,000,000: one that has had 500 is twice as likely per
    # unit of service to finish soon as a fresh one; past 1,000 it is a long one.
    samples = [1_000.0] * 10 + [1_000_000.0] * 10
    fresh, half, past = gittins(samples, [0.0, 500.0, 2_000.0])
    assert half == pytest.approx(2 * fresh, rel=0.05)
    assert past < fresh / 100


def test_a_log_uniform_history_ranks_as_least_attained() -> None:
    samples = sorted(10.0 ** (k / 8) for k in range(16, 65))
    row = gittins(samples, [0.0, *LEVELS_S])
    assert row == sorted(row, reverse=True)


def test_gittins_serves_the_job_close_to_its_class_end_before_a_fresh_one() -> None:
    # Every finished job of this class took 15,000: the one at 12,000 (level 1) is 3,000
    # from done, the fresh one 15,000. Least-attained runs the fresh one; Gittins the other.
    history = history_of([("a", 1, 15_000.0)] * MIN_SAMPLES)
    near, fresh = work("near", at=0, attained=12_000.0), work("fresh", at=1)
    view = QueueView(10, [one_card()], [], [near, fresh], history=history)
    assert [s.work.id for s in decide(view, make_policy("default")).starts] == ["near"]
    assert [s.work.id for s in decide(view, make_policy("las")).starts] == ["fresh"]
    # With no history the default is least-attained-service.
    plain = QueueView(10, [one_card()], [], [near, fresh])
    assert [s.work.id for s in decide(plain, make_policy("default")).starts] == ["fresh"]


def test_without_quanta_the_index_is_one_over_the_expected_remaining_service() -> None:
    # Half the jobs need 1,000, half 1,000,000. With quanta the class's fresh job is worth
    # a gamble (half finish in 1,000); where a stopped attempt restarts from zero, the rate
    # of running to the end: one over the mean (Smith's rule on the class's mean, as QSSF).
    samples = [1_000.0] * 10 + [1_000_000.0] * 10
    fresh, half = gittins(samples, [0.0, 500.0], quanta=False)
    assert fresh == pytest.approx(1 / 500_500.0)
    assert half == pytest.approx(1 / (500_500.0 - 500.0))
    assert gittins(samples, [0.0])[0] > 100 * fresh
    # Long (numpy) and short (list) samples agree here too.
    rng = random.Random(3)
    plain = sorted(rng.lognormvariate(8, 2) for _ in range(5_000))
    assert gittins(np.array(plain), [0.0, 1e4], quanta=False) == pytest.approx(
        gittins(plain, [0.0, 1e4], quanta=False)
    )


def test_without_quanta_a_class_with_a_lower_mean_goes_first() -> None:
    # Tenant a: most jobs take 60 s but a tenth take 1e6 (mean ~100,000); tenant b's all
    # take 20,000. The Gittins index with quanta bets on a's quick ones; without quanta
    # (a stopped attempt lost), b's lower mean wins, as QSSF ranks.
    history = history_of(
        [("a", 1, 60.0)] * 9 * MIN_SAMPLES
        + [("a", 1, 1e6)] * MIN_SAMPLES
        + [("b", 1, 20_000.0)] * MIN_SAMPLES
    )
    a, b = work("a1", tenant="a"), work("b1", at=1, tenant="b")
    view = QueueView(10, [one_card()], [], [a, b], history=history)
    gamble = make_policy("default", QueueSettings(quanta=True))
    assert [s.work.id for s in decide(view, gamble).starts] == ["a1"]
    mean = make_policy("default", QueueSettings(quanta=False))
    assert [s.work.id for s in decide(view, mean).starts] == ["b1"]
    shipped = make_policy("default")  # quanta off (``model.QUANTA``)
    assert [s.work.id for s in decide(view, shipped).starts] == ["b1"]
    # A table is refreshed only from one of the same kind.
    points = (0.0, *LEVELS_S)
    with_quanta = table_of(history, points)
    again = table_of(history, points, with_quanta, quanta=False)
    assert again.index("a", 1, 0) == pytest.approx(1 / ((9 * 60.0 + 1e6) / 10))


def test_classes_learn_apart_and_a_small_class_borrows_its_size_over_all_tenants() -> None:
    quick = [("a", 1, 100.0)] * MIN_SAMPLES  # tenant a's 1-card jobs finish at once
    slow = [("b", 1, 50_000.0)] * MIN_SAMPLES
    few = [("c", 1, 100.0)] * (MIN_SAMPLES - 1)  # too few of its own
    table = table_of(history_of([*quick, *slow, *few]), (0.0, *LEVELS_S))
    a, b, c = (table.index(t, 1, 0) for t in "abc")
    assert a > b
    size_row = table.by_size(size_class(1))
    assert size_row is not None
    assert c == size_row[0]
    # A size nobody finished: the index of all jobs.
    assert table.index("a", 64, 0) == table.overall()[0]


def test_running_work_is_preempted_only_for_a_much_better_index() -> None:
    # Tenant a's 1-card jobs take 5,000 or 30,000: a fresh one has twice the index of one
    # past level 1 (10,000), not enough to preempt it. Tenant b's always take 100 (a far
    # higher index): b preempts it.
    history = history_of(
        [("a", 1, s) for s in (5_000.0, 30_000.0) * MIN_SAMPLES] + [("b", 1, 100.0)] * MIN_SAMPLES
    )
    policy = make_policy("default", QueueSettings(min_run_s=0)).informed(history)
    card = one_card()
    old = work("old", attained=LEVELS_S[0] + 1)
    old.pool, old.nodes, old.started, card.free[0] = "p", ((0, 1),), 0.0, 0
    fresh = work("fresh", at=5)
    kept = decide(QueueView(10, [card], [old], [fresh], history=history), policy)
    index_old = policy.table.index("a", 1, 1)  # type: ignore[attr-defined]
    index_fresh = policy.table.index("a", 1, 0)  # type: ignore[attr-defined]
    assert index_old < index_fresh < index_old * PREEMPT_GAIN
    assert kept.preempts == []
    other = work("b1", at=5, tenant="b")
    taken = decide(QueueView(10, [card], [old], [other], history=history), policy)
    assert [p.work.id for p in taken.preempts] == ["old"]


def test_history_keeps_each_classes_latest_jobs() -> None:
    history = history_of([("a", 1, float(s)) for s in range(10)], keep=3)
    assert history.samples[("a", size_class(1))] == (7.0, 8.0, 9.0)


def test_a_refreshed_table_recomputes_only_the_rows_whose_jobs_changed() -> None:
    # A driver refreshing its history as jobs finish (the replay): each table made from the
    # last one indexes as a table made afresh, and rows whose samples did not change are
    # reused.
    builder = HistoryBuilder(keep=30)
    points = (0.0, *LEVELS_S)
    previous = None
    reused = 0
    asked = [(t, n) for t in ("a", "b", "t0", "t1", "t2", "new") for n in (1, 2, 8, 64)]
    for batch in range(8):
        for i in range(25):
            service = float((batch * 7919 + i * 104_729) % 900_000 + i)
            builder.add("a", 1, service)
            if batch % 3 == 0:
                builder.add(f"t{i % 3}", 8, service * 2)  # a size of its own, now and then
        if batch == 5:
            builder.add("b", 2, 5.0)  # a class too small for its own row: its size's row
        table = table_of(builder.history(), points, previous)
        fresh = table_of(builder.history(), points)
        for tenant, n in asked:  # own rows, sizes' rows, all jobs' row
            for point in range(len(points) + 1):
                assert table.index(tenant, n, point) == fresh.index(tenant, n, point)
        if previous is not None:
            same = [k for k in table.by_class if table.by_class[k] is previous.by_class.get(k)]
            reused += len(same)
            assert ("a", 0) not in same  # its jobs changed every batch
        previous = table
    assert reused > 0  # size 8's classes, between the batches that add to them


def test_long_merged_histories_index_as_the_plain_sum_does() -> None:
    # Sizes' and all jobs' rows sort and sum their (long) samples in numpy: the same index,
    # to the last bit, as the plain sorted list and running sum.
    rng = random.Random(7)
    for trial in range(4):
        parts = [
            tuple(sorted(round(rng.lognormvariate(8, 3), trial) for _ in range(900)))
            for _ in range(6)
        ]
        parts.append((0.0,) * 50 + tuple(float(x) for x in LEVELS_S))  # zeros, ties at points
        merged = GittinsTable((0.0,), {})._merged(parts)
        assert isinstance(merged, np.ndarray)
        plain = sorted(itertools.chain(*parts))
        points = tuple(sorted({0.0, *LEVELS_S, *plain[100:4000:700]}))
        assert repr(gittins(merged, points)) == repr(gittins(plain, points))


def test_the_history_keeps_each_class_sorted_as_jobs_come_and_go() -> None:
    builder = HistoryBuilder(keep=7)
    kept: dict[tuple[str, int], list[float]] = {}
    for i in range(200):
        service = [float((i * 37) % 11), -1.0, math.nan][0 if i % 50 else (i // 50) % 3]
        tenant = "ab"[i % 2]
        builder.add(tenant, 1 + i % 3, service)
        cls = (tenant, size_class(1 + i % 3))
        kept[cls] = [*kept.get(cls, []), max(service, 0.0)][-7:]
        if i % 9 == 0:
            got = builder.history().samples
            assert got.keys() == kept.keys()
            for c, values in kept.items():
                assert repr(got[c]) == repr(tuple(sorted(values)))


def test_the_live_queue_learns_from_finished_jobs_in_the_store() -> None:
    fleet = make_fleet(("lab", "beijing", [make_pool("a100", "A100", nodes=1, per_node=1)]))
    spec = make_spec(name="j", resources={"accelerator": {"model": "A100", "count": 1}})
    done = []
    for i in range(MIN_SAMPLES):
        j = make_job(spec, f"d{i}", tenant="x")
        start = T0 + dt.timedelta(hours=i)
        done.append(
            dataclasses.replace(
                j,
                status=JobStatus.SUCCEEDED,
                placement=Placement(
                    "lab", "a100", "A100", (NodeAssignment("a100-n0", (0,)),), Decimal(1000)
                ),
                started_at=start,
                finished_at=start + dt.timedelta(seconds=15_000),
                attained=0.0,
            )
        )
    history = service_history(done, fleet)
    (served,) = set(history.samples[("x", size_class(1000))])
    assert served == pytest.approx(15_000.0)  # one A100 (the reference card), 15,000 s
    near = make_job(spec, "near", tenant="x", attained=12_000.0)
    fresh = make_job(spec, "fresh", tenant="x", at=T0 + dt.timedelta(seconds=1))
    assert [j.id for j in turn([near, fresh], [], {}, fleet=fleet).admitted] == ["fresh"]
    learned = turn([near, fresh], [], {}, fleet=fleet, history=history)
    assert [j.id for j in learned.admitted] == ["near"]


def test_a_job_never_started_rises_with_its_wait_until_it_preempts() -> None:
    # Tenant a's 1-card jobs finish at 100 (a high index), tenant b's 4-card jobs at
    # 1,000,000 (a low one): a fresh b job ranks after every fresh a job, and after running
    # a work, until the guard has multiplied its index enough; then it takes the cards.
    history = history_of([("a", 1, 100.0)] * MIN_SAMPLES + [("b", 4, 1_000_000.0)] * MIN_SAMPLES)
    policy = make_policy("default", QueueSettings(min_run_s=0)).informed(history)
    wide = Work("wide", "b", 4, 0.0, queued_since=0.0)
    quick = work("quick", at=GUARD_S)
    assert policy.key(quick, GUARD_S) < policy.key(wide, GUARD_S - 1)
    assert policy.next_change(wide, 0.0) == GUARD_S
    lifted = [policy.key(wide, n * GUARD_S) for n in range(12)]
    assert lifted == sorted(lifted, reverse=True)  # its priority only rises
    pool = PoolView("p", "V100", 4, [0])
    running = [
        Work(f"r{i}", "a", 1, 0.0, pool="p", nodes=((0, 1),), started=0.0) for i in range(4)
    ]
    later = 12 * GUARD_S
    assert policy.key(wide, later) < min(policy.key(r, later) for r in running)
    plan = decide(QueueView(later, [pool], running, [wide], history=history), policy)
    assert sorted(p.work.id for p in plan.preempts) == ["r0", "r1", "r2", "r3"]
    # Work that ran is not lifted (it would push out whatever had preempted it).
    ran = Work("ran", "b", 4, 0.0, attained=1.0, queued_since=0.0)
    assert policy.key(ran, later)[1] == policy.key(ran, 0.0)[1]

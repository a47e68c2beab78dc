"""Which pool (accelerator model) the queueing core gives work, on two models: start where
work can run now, prefer the model that runs its class fastest, move running work up to a
faster model when one frees and the throughput ratio pays for the restart."""

from __future__ import annotations

from suanli.domain.throughput import ThroughputTable
from suanli.scheduler.queueing import (
    PoolView,
    QueuePolicy,
    QueueSettings,
    QueueView,
    Work,
    decide,
    make_policy,
)
from suanli.scheduler.queueing.policies import LEVELS_S

TABLE = ThroughputTable(
    {
        ("resnet@1", "V100"): 4.0,
        ("resnet@1", "K80"): 1.0,
        ("recsys@1", "V100"): 1.1,
        ("recsys@1", "K80"): 1.0,
    }
)
SETTINGS = QueueSettings(grace_s=30, min_run_s=600)


def pools(per_pool: int = 1) -> tuple[PoolView, PoolView]:
    return (
        PoolView("v100", "V100", per_pool, [per_pool]),
        PoolView("k80", "K80", per_pool, [per_pool]),
    )


def work(ident: str, job_class: str = "resnet@1", at: float = 0.0, **kw: object) -> Work:
    return Work(ident, "a", 1, at, job_class=job_class, queued_since=at, **kw)  # type: ignore[arg-type]


def run_on(w: Work, p: PoolView, started: float) -> Work:
    w.pool, w.nodes, w.started = p.name, ((0, 1),), started
    p.free[0] -= 1
    return w


def default() -> QueuePolicy:
    return make_policy("default", SETTINGS, TABLE)


def test_new_work_takes_the_fastest_model_when_both_are_free() -> None:
    plan = decide(QueueView(0, pools(), [], [work("j")]), default())
    assert [(s.work.id, s.pool) for s in plan.starts] == [("j", "v100")]


def test_new_work_runs_now_on_a_free_slow_model_rather_than_push_work_off_a_fast_one() -> None:
    v100, k80 = pools()
    # "old" has been served far more: the newcomer outranks it and could take its V100.
    old = run_on(work("old", attained=LEVELS_S[1] + 1), v100, started=0)
    plan = decide(QueueView(5000, [v100, k80], [old], [work("new", at=4990)]), default())
    assert plan.preempts == []
    assert [(s.work.id, s.pool) for s in plan.starts] == [("new", "k80")]


def test_with_no_free_model_it_still_preempts_on_the_fastest() -> None:
    v100, k80 = pools()
    on_v100 = run_on(work("a", attained=LEVELS_S[1] + 1), v100, started=0)
    on_k80 = run_on(work("b", attained=LEVELS_S[1] + 1), k80, started=0)
    view = QueueView(5000, [v100, k80], [on_v100, on_k80], [work("new", at=4990)])
    plan = decide(view, default())
    assert [p.work.id for p in plan.preempts] == ["a"]  # its V100, after the grace period
    assert plan.waits == {} or plan.waits["new"].code == "queue_awaiting_nodes"


def test_running_work_moves_up_when_a_fast_model_frees() -> None:
    v100, k80 = pools()
    slow = run_on(work("slow"), k80, started=0)
    view = QueueView(1000, [v100, k80], [slow], [])
    plan = decide(view, default(), can_move=True)
    assert [(m.work.id, m.pool, m.nodes) for m in plan.moves] == [("slow", "v100", ((0, 1),))]
    assert plan.preempts == []
    # A driver that cannot carry a move out gets none: the work stays where it runs.
    assert decide(view, default()).moves == []


def test_no_move_when_the_ratio_does_not_pay_for_the_restart() -> None:
    v100, k80 = pools()
    # 1.1x faster on V100: below the gain a move needs.
    slow = run_on(work("slow", job_class="recsys@1"), k80, started=0)
    plan = decide(QueueView(10_000, [v100, k80], [slow], []), default(), can_move=True)
    assert plan.moves == []
    # 4x faster, but it has run only 100 s: expected gain 75 s < 4 grace periods (120 s).
    policy = make_policy("default", QueueSettings(grace_s=30, min_run_s=60), TABLE)
    v100, k80 = pools()
    young = run_on(work("young"), k80, started=0)
    assert decide(QueueView(100, [v100, k80], [young], []), policy, can_move=True).moves == []
    assert decide(QueueView(200, [v100, k80], [young], []), policy, can_move=True).moves != []


def test_outranking_waiting_work_gets_the_free_fast_model_before_a_move() -> None:
    v100, k80 = pools()
    slow = run_on(work("slow", attained=LEVELS_S[0] + 1), k80, started=0)
    new = work("new", at=990)  # level 0: outranks the running work
    plan = decide(QueueView(1000, [v100, k80], [slow], [new]), default(), can_move=True)
    assert [(s.work.id, s.pool) for s in plan.starts] == [("new", "v100")]
    assert plan.moves == []
    assert plan.preempts == []


def test_agnostic_fifo_ignores_the_table_and_the_pool_order() -> None:
    jobs = [work(f"j{i}", at=i) for i in range(40)]

    def chosen(order: list[PoolView], table: ThroughputTable | None) -> dict[str, str]:
        plan = decide(
            QueueView(100, order, [], jobs), make_policy("fifo-agnostic", throughput=table)
        )
        return {s.work.id: s.pool for s in plan.starts}

    v100, k80 = pools(per_pool=40)
    picks = chosen([v100, k80], TABLE)
    assert picks == chosen([k80, v100], None)  # neither the table nor the order matters
    assert 10 <= sum(p == "v100" for p in picks.values()) <= 30  # spread as if at random


def test_a_free_fast_model_goes_to_the_work_it_speeds_up_most() -> None:
    v100, k80 = pools()
    slow = run_on(work("resnet", attained=LEVELS_S[0] + 1), k80, started=0)  # 4x on V100
    new = work("recsys", job_class="recsys@1", at=990)  # outranks it, but 1.1x on V100
    plan = decide(QueueView(1000, [v100, k80], [slow], [new]), default(), can_move=True)
    # A swap: the ResNet moves up, the newcomer takes its K80 once it has stopped.
    assert [(m.work.id, m.pool) for m in plan.moves] == [("resnet", "v100")]
    assert plan.starts == []
    assert plan.waits["recsys"].code == "queue_awaiting_nodes"
    assert plan.preempts == []
    # Without moves the newcomer simply takes the free V100.
    plan = decide(QueueView(1000, [v100, k80], [slow], [new]), default())
    assert [(s.work.id, s.pool) for s in plan.starts] == [("recsys", "v100")]

"""The fair queue's turn decides the same whether it remembers earlier turns or not.

``fair_turn`` keeps, from turn to turn, in the ``KeptTurn`` the driver hands in, each waiting
and running job's ``Work`` (keyed by what they are made of) and the last informed policy
(the Gittins table's rows).
Random sequences of turns (jobs arriving, starting, finishing, being served; the history
of finished jobs growing) are decided warm, one memo carried through the sequence, and
cold, a new ``KeptTurn`` before each turn: admissions, models, borrowing, preemptions
and every explanation must be the same.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.domain.jobs import Job, JobStatus, NodeAssignment, Placement
from suanli.domain.tenants import TenantTerms
from suanli.scheduler.fairqueue import KeptTurn, QueueTurn, attained, fair_turn, speeds
from suanli.scheduler.policies import POLICIES
from suanli.scheduler.queueing import QueueSettings, ServiceHistory, history_of
from suanli.scheduler.snapshot import build_snapshot
from tests.builders import T0, make_fleet, make_job, make_pool, make_spec

FLEET = make_fleet(
    (
        "lab",
        "beijing",
        [
            make_pool("t4", "T4", nodes=2, per_node=4, price="2.00"),
            make_pool("a100", "A100", nodes=1, per_node=4, price="9.00"),
        ],
    )
)
POOLS = {"T4": "t4", "A100": "a100", "either": "t4"}
MODELS = {"either": ["T4", "A100"]}
TENANTS = {
    "alpha": TenantTerms("alpha", quota={"T4": 2, "A100": 1}, cohort="lab", borrow=True),
    "beta": TenantTerms("beta", quota={"T4": 2}, cohort="lab", borrow=True),
    "gamma": TenantTerms("gamma", weight=2.0),
}
# (tenant, model, count, submitted s, attained s); each job's state per turn is drawn.
JOB = st.tuples(
    st.sampled_from(sorted(TENANTS)),
    st.sampled_from([*sorted(POOLS), "either"]),  # either: the plan ranks the two models
    st.sampled_from([1, 2, 4]),
    st.integers(0, 3_600),
    st.sampled_from([0.0, 0.0, 5_000.0, 20_000.0, 200_000.0]),
)
# Per turn: seconds since the last, what happens to each job (most keep their state and
# their object, as a store hands out an unchanged job), and how many finished jobs join
# the history (0: the same history object, as the cycle keeps it).
KEEP, QUEUE, START, BORROW, LEAVE = range(5)
TURN = st.tuples(
    st.integers(0, 20_000),
    st.lists(
        st.sampled_from([KEEP, KEEP, KEEP, KEEP, QUEUE, START, BORROW, LEAVE]),
        min_size=12,
        max_size=12,
    ),
    st.sampled_from([0, 0, 0, 5, 30]),
)


def build(spec: tuple[str, str, int, int, float], i: int) -> Job:
    tenant, model, count, at, served = spec
    return make_job(
        make_spec(
            name=f"j{i}",
            resources={"accelerator": {"model": MODELS.get(model, model), "count": count}},
        ),
        f"j-{i:03d}",
        at=T0 + dt.timedelta(seconds=at),
        tenant=tenant,
        attained=served,
    )


def running(j: Job, model: str, count: int, started: dt.datetime, borrowed: bool) -> Job:
    pool = POOLS[model]
    slots = tuple(range(count))
    pl = Placement(
        "lab",
        pool,
        "T4" if model == "either" else model,
        (NodeAssignment(f"{pool}-n0", slots),),
        j.spec.accelerator_units,
    )
    return dataclasses.replace(
        j, status=JobStatus.RUNNING, placement=pl, started_at=started, borrowed=borrowed
    )


def outcome(t: QueueTurn) -> tuple[Any, ...]:
    return (
        [j.id for j in t.admitted],
        t.models,
        t.borrowed,
        [(j.id, r) for j, r in t.preempts],
        t.waits,
    )


Turns = list[tuple[dt.datetime, list[Job], list[Job], ServiceHistory]]


def decide_all(
    turns: Turns,
    cold: bool,
    terms: list[dict[str, TenantTerms]] | None = None,
) -> list[tuple[Any, ...]]:
    """Each turn's outcome; ``terms``: each turn's tenants (TENANTS when None)."""
    out = []
    kept = KeptTurn()
    for i, (now, queue, holding, history) in enumerate(turns):
        if cold:
            kept = KeptTurn()
        snap = build_snapshot(now, FLEET, holding, queue)
        tenants = TENANTS if terms is None else terms[i]
        out.append(
            outcome(
                fair_turn(
                    snap,
                    holding,
                    POLICIES["default"].rank,
                    tenants,
                    QueueSettings(),
                    history,
                    kept,
                )
            )
        )
        # Each running job's kept work runs on the pool view it runs on this turn, served
        # as of this turn's instant, as a work made anew is.
        for job, _, work, _, _ in kept.running.values():
            assert job.placement is not None
            limited = tenants is not TENANTS and job.placement.pool == "t4"
            assert work.pool == ("T4@lab/t4" if limited else job.placement.accelerator)
            assert work.attained == attained(job, now, speeds(FLEET))
        # It keeps the jobs of this turn that the queue saw, and no others.
        assert {id(e[0]) for e in kept.waiting.values()} <= {id(j) for j in queue}
        assert {id(e[0]) for e in kept.running.values()} <= {id(j) for j in holding}
        assert set(kept.waiting) == {id(e[0]) for e in kept.waiting.values()}
        assert set(kept.running) == {id(e[0]) for e in kept.running.values()}
    return out


def make_turns(
    specs: list[tuple[str, str, int, int, float]], plan: list[tuple[int, list[int], int]]
) -> Turns:
    """The turns ``plan`` draws for the jobs of ``specs``."""
    jobs = [build(s, i) for i, s in enumerate(specs)]
    now = T0 + dt.timedelta(hours=2)
    current: list[Job | None] = [None] * len(jobs)
    finished: list[tuple[str, int, float]] = []
    history = history_of(finished)
    turns = []
    for step, changes, joined in plan:
        now += dt.timedelta(seconds=step)
        for i, change in enumerate(changes):
            if change == QUEUE:
                current[i] = jobs[i]
            elif change in (START, BORROW):
                model, count = specs[i][1], specs[i][2]
                current[i] = running(jobs[i], model, count, now, borrowed=change == BORROW)
            elif change == LEAVE:
                current[i] = None
        queue = [j for j in current if j is not None and j.status is JobStatus.QUEUED]
        holding = [j for j in current if j is not None and j.status is JobStatus.RUNNING]
        if joined:
            finished += [
                (specs[k % len(specs)][0], 1000 * (1 + k % 3), 600.0 * (1 + k % 7))
                for k in range(len(finished), len(finished) + joined)
            ]
            history = history_of(finished)
        turns.append((now, queue, holding, history))
    return turns


@settings(max_examples=30, deadline=None)
@given(st.lists(JOB, min_size=12, max_size=12), st.lists(TURN, min_size=2, max_size=6))
def test_turns_decide_alike_warm_and_cold(
    specs: list[tuple[str, str, int, int, float]],
    plan: list[tuple[int, list[int], int]],
) -> None:
    turns = make_turns(specs, plan)
    assert decide_all(turns, cold=False) == decide_all(turns, cold=True)


# Alpha limited to the t4 pool: the T4 pool's view is named apart (``fairqueue._pools``).
LIMITED = {**TENANTS, "alpha": dataclasses.replace(TENANTS["alpha"], pools=frozenset({"t4"}))}


@settings(max_examples=30, deadline=None)
@given(
    st.lists(JOB, min_size=12, max_size=12),
    st.lists(TURN, min_size=2, max_size=6),
    st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_running_work_kept_follows_the_pools_views_from_turn_to_turn(
    specs: list[tuple[str, str, int, int, float]],
    plan: list[tuple[int, list[int], int]],
    limits: list[bool],
) -> None:
    # The pools' views change between turns (a tenant limited to a pool, then not): a kept
    # running work is kept only while its view is what it was.
    turns = make_turns(specs, plan)
    terms = [LIMITED if limit else TENANTS for limit in limits[: len(turns)]]
    assert decide_all(turns, cold=False, terms=terms) == decide_all(turns, cold=True, terms=terms)


def test_a_kept_waiting_work_whose_attempt_counts_is_served_as_of_each_turn() -> None:
    # A queued job that still holds a started placement: its service moves with the clock.
    # Its kept work carries the service at each turn's instant, as a work made anew does.
    started = running(build(("alpha", "T4", 1, 0, 0.0), 0), "T4", 1, T0, borrowed=False)
    job = dataclasses.replace(started, status=JobStatus.QUEUED)
    kept = KeptTurn()
    served = []
    for hours in (1, 5):
        now = T0 + dt.timedelta(hours=hours)
        snap = build_snapshot(now, FLEET, [], [job])
        fair_turn(snap, [], POLICIES["default"].rank, TENANTS, QueueSettings(), None, kept)
        served.append(kept.waiting[id(job)][2].attained)
        assert served[-1] == attained(job, now, speeds(FLEET))
    assert served[1] > served[0] > 0

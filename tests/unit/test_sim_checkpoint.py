"""The simulated engine resumes a job that checkpoints: its next attempt runs only the work
its earlier attempts kept (fixed clock). Every attempt runs (and is billed) for as long as it
ran, lost work included."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from suanli.domain.clock import FixedClock
from suanli.domain.fleet import Cluster, EngineRef
from suanli.domain.ids import JobId, engine_key
from suanli.domain.jobs import NodeAssignment, Placement
from suanli.domain.throughput import ThroughputTable
from suanli.engines.base import LaunchRequest, RunState
from suanli.engines.simulated import STOP_S_ENV, SimulatedCluster, SimulatedEngine
from tests.builders import make_pool, make_spec

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
WORK_S = 10_000.0  # the trace's run time of the job


def _engine(
    clock: FixedClock, throughput: ThroughputTable | None = None, model: str = "T4"
) -> SimulatedEngine:
    cluster = Cluster(
        "sim-1",
        "sim",
        "beijing",
        EngineRef("simulated", None, ()),
        (make_pool("t4", model, nodes=1, per_node=4),),
    )
    return SimulatedEngine(SimulatedCluster(cluster), clock, {"j": WORK_S}, throughput)


def _attempt(n: int, spec: dict[str, Any] | None = None, model: str = "T4") -> LaunchRequest:
    placement = Placement("sim-1", "t4", model, (NodeAssignment("t4-n0", (0,)),), Decimal("1"))
    request_spec = make_spec(
        resources={"accelerator": {"model": model, "count": 1}}, **(spec or {})
    )
    return LaunchRequest(engine_key(JobId("j"), n), "j", n, request_spec, placement)


def _ran(engine: SimulatedEngine, key: str) -> float:
    status = engine.status(key)
    assert status.state.is_final
    assert status.started_at
    assert status.finished_at
    return (status.finished_at - status.started_at).total_seconds()


def _preempt_after(
    engine: SimulatedEngine, clock: FixedClock, request: LaunchRequest, run_s: float, grace: float
) -> None:
    engine.launch(request)
    clock.advance(run_s)
    engine.cancel(request.key, grace_s=grace)
    clock.advance(grace)
    assert engine.status(request.key).state is RunState.CANCELLED


def _last_run_s(engine: SimulatedEngine, clock: FixedClock, request: LaunchRequest) -> float:
    engine.launch(request)
    clock.advance(WORK_S * 10)
    assert engine.status(request.key).state is RunState.SUCCEEDED
    return _ran(engine, request.key)


def test_a_job_without_checkpoints_restarts_from_zero() -> None:
    clock = FixedClock(T0)
    engine = _engine(clock)
    _preempt_after(engine, clock, _attempt(1), 4_000, grace=30)
    assert _last_run_s(engine, clock, _attempt(2)) == WORK_S


@pytest.mark.parametrize(
    ("every_minutes", "ran_s", "kept_s"),
    [
        (30, 4_000, 3_600),  # two checkpoints at 1,800 s and 3,600 s: 400 s lost
        (30, 1_000, 0),  # stopped before its first checkpoint: all lost
        (60, 7_300, 7_200),
    ],
)
def test_a_checkpointing_job_resumes_from_its_last_checkpoint(
    every_minutes: float, ran_s: float, kept_s: float
) -> None:
    clock = FixedClock(T0)
    engine = _engine(clock)
    checkpoint = {"checkpoint": {"every_minutes": every_minutes}}
    first = _attempt(1, checkpoint)
    _preempt_after(engine, clock, first, ran_s, grace=30)  # its stop takes no time: no save
    assert _ran(engine, first.key) == ran_s  # billed for all it ran, the lost work too
    assert _last_run_s(engine, clock, _attempt(2, checkpoint)) == WORK_S - kept_s


def test_work_kept_adds_up_over_attempts() -> None:
    clock = FixedClock(T0)
    engine = _engine(clock)
    checkpoint = {"checkpoint": {"every_minutes": 10}}
    _preempt_after(engine, clock, _attempt(1, checkpoint), 1_300, grace=0)  # keeps 1,200
    _preempt_after(engine, clock, _attempt(2, checkpoint), 2_500, grace=0)  # keeps 2,400
    assert _last_run_s(engine, clock, _attempt(3, checkpoint)) == WORK_S - 3_600


def test_the_grace_is_the_stops_chance_to_save() -> None:
    clock = FixedClock(T0)
    engine = _engine(clock)
    saves = {"checkpoint": {"every_minutes": 60}, "env": {STOP_S_ENV: "20"}}
    # Its save takes 20 s and the grace gives 30: all 4,000 s of work are kept.
    _preempt_after(engine, clock, _attempt(1, saves), 4_000, grace=30)
    assert _last_run_s(engine, clock, _attempt(2, saves)) == WORK_S - 4_000
    # A grace too short for the save: back to the last periodic checkpoint (3,600 s).
    clock2 = FixedClock(T0)
    short = _engine(clock2)
    _preempt_after(short, clock2, _attempt(1, saves), 4_000, grace=5)
    assert _last_run_s(short, clock2, _attempt(2, saves)) == WORK_S - 3_600
    # A save cut short by a kill (the grace spent) keeps nothing more either.
    clock3 = FixedClock(T0)
    killed = _engine(clock3)
    first = _attempt(1, saves)
    killed.launch(first)
    clock3.advance(4_000)
    killed.cancel(first.key, grace_s=30)
    clock3.advance(10)
    killed.cancel(first.key, grace_s=0)
    assert _last_run_s(killed, clock3, _attempt(2, saves)) == WORK_S - 3_600


def test_resumed_work_runs_at_the_rate_of_the_model_it_lands_on() -> None:
    # Work in V100-seconds; a K80 does a quarter of it per second.
    table = ThroughputTable({("resnet@1", "V100"): 4.0, ("resnet@1", "K80"): 1.0})
    clock = FixedClock(T0)
    engine = _engine(clock, table, model="V100")
    checkpoint = {"checkpoint": {"every_minutes": 10}, "job_class": "resnet@1"}
    _preempt_after(engine, clock, _attempt(1, checkpoint, "V100"), 1_200, grace=0)
    # 1,200 s on a V100 did 4,800 units of work: 5,200 left, 5,200 s on a K80.
    assert _last_run_s(engine, clock, _attempt(2, checkpoint, "K80")) == WORK_S - 4_800

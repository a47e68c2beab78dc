"""The simulated cluster keeps a run whole only until its end is answered; from then on it
keeps its final status alone (in columns), and every read of it answers as before: status,
log, a second launch of the key, inventory, live runs, and a later attempt's resumed work."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from suanli.domain.clock import FixedClock
from suanli.domain.fleet import Cluster, EngineRef
from suanli.domain.ids import JobId, engine_key
from suanli.domain.jobs import NodeAssignment, Placement, Reason
from suanli.engines.base import LaunchRequest, RunState, RunStatus
from suanli.engines.simulated import (
    EXIT_CODE_ENV,
    RUN_S_ENV,
    STOP_S_ENV,
    SimulatedCluster,
    SimulatedEngine,
)
from suanli.engines.simulated_finished import FinishedRuns
from tests.builders import make_pool, make_spec
from tests.unit.test_sim_checkpoint import WORK_S, _attempt

T0 = dt.datetime(2026, 11, 23, 9, 0, 0, 123_456, tzinfo=dt.UTC)


def _engine(clock: FixedClock) -> SimulatedEngine:
    cluster = Cluster(
        "sim-1",
        "sim",
        "beijing",
        EngineRef("simulated", None, ()),
        (make_pool("t4", "T4", nodes=1, per_node=4),),
    )
    return SimulatedEngine(SimulatedCluster(cluster), clock, {"j": WORK_S})


def _request(n: int, env: dict[str, str], hours: int = 1) -> LaunchRequest:
    placement = Placement("sim-1", "t4", "T4", (NodeAssignment("t4-n0", (0,)),), Decimal("1"))
    spec = make_spec(
        resources={"accelerator": {"model": "T4", "count": 1}},
        env=env,
        time_limit_hours=hours,
    )
    return LaunchRequest(engine_key(JobId(f"k{n}"), 1), f"k{n}", 1, spec, placement)


ENDS = [
    ({RUN_S_ENV: "90.5"}, None, RunState.SUCCEEDED),  # ends on its own
    ({RUN_S_ENV: "30", EXIT_CODE_ENV: "7"}, None, RunState.FAILED),  # exit code
    ({RUN_S_ENV: "99999"}, None, RunState.FAILED),  # the hour's time limit, with a reason
    ({RUN_S_ENV: "600", STOP_S_ENV: "20"}, 10.0, RunState.CANCELLED),  # stopped, short grace
]


@pytest.mark.parametrize(("env", "grace", "final"), ENDS)
def test_an_answered_run_is_forgotten_and_reads_back_the_same(
    env: dict[str, str], grace: float | None, final: RunState
) -> None:
    clock = FixedClock(T0)
    engine = _engine(clock)
    request = _request(1, env)
    engine.launch(request)
    clock.advance(5)
    if grace is not None:
        engine.cancel(request.key, grace_s=grace)
    clock.advance(7200)
    log_before = engine.read_log(request.key, 0)
    first = engine.status(request.key)
    assert first.state is final
    assert request.key not in engine.state.runs  # the run itself is gone
    assert request.key in engine.state.finished
    # Read again (a restarted control plane, a save that lost its race): the same answer.
    clock.advance(3600)
    assert engine.status(request.key) == first
    assert engine.status(request.key).state is not RunState.LOST
    assert engine.read_log(request.key, 0) == log_before
    chunk = engine.read_log(request.key, 10)
    assert chunk.data == log_before.data[10:]
    # A known key is never started twice, forgotten or not; a stop changes nothing.
    engine.launch(request)
    engine.cancel(request.key, grace_s=0)
    assert engine.status(request.key) == first
    assert request.key not in engine.state.runs
    assert engine.live_runs() == []
    assert engine.state.next_end(clock.now()) is None
    node = engine.inventory().nodes[0]
    assert node.state == "idle"
    # A new adapter over the same cluster answers the same.
    again = SimulatedEngine(engine.state, clock, {})
    assert again.status(request.key) == first


def test_a_time_limited_run_keeps_its_reason() -> None:
    clock = FixedClock(T0)
    engine = _engine(clock)
    request = _request(1, {RUN_S_ENV: "99999"})
    engine.launch(request)
    clock.advance(7200)
    status = engine.status(request.key)
    assert status.reason == Reason("reason_time_limit", {"limit": "1:00:00"})
    assert engine.status(request.key).reason == status.reason


def test_a_run_not_ended_or_never_asked_stays_whole() -> None:
    clock = FixedClock(T0)
    engine = _engine(clock)
    running, unasked = _request(1, {RUN_S_ENV: "9000"}), _request(2, {RUN_S_ENV: "10"})
    engine.launch(running)
    engine.launch(unasked)
    clock.advance(60)
    assert engine.status(running.key).state is RunState.RUNNING
    assert set(engine.state.runs) == {running.key, unasked.key}
    assert engine.live_runs() == [running.key]
    assert len(engine.state.finished) == 0


def test_a_resumed_attempt_after_a_forgotten_one_keeps_the_same_work() -> None:
    """Two clusters run the same attempts; one answers the first attempt's end before the
    second is launched (forgotten), the other is asked only afterwards: same second run."""
    spec = {"checkpoint": {"every_minutes": 10}, "env": {STOP_S_ENV: "30"}}
    runs = []
    for ask_first in (True, False):
        clock = FixedClock(T0)
        engine = SimulatedEngine(_engine(clock).state, clock, {"j": WORK_S})
        first, second = _attempt(1, spec), _attempt(2, spec)
        engine.launch(first)
        clock.advance(2_500)
        engine.cancel(first.key, grace_s=10)  # no room to save: back to the 40th minute
        clock.advance(10)
        if ask_first:
            assert engine.status(first.key).state is RunState.CANCELLED
            assert first.key not in engine.state.runs
        engine.launch(second)
        clock.advance(WORK_S * 2)
        runs.append((engine.status(first.key), engine.status(second.key)))
    assert runs[0] == runs[1]
    ended = runs[0][1]
    assert ended.finished_at is not None
    assert ended.started_at is not None
    assert (ended.finished_at - ended.started_at).total_seconds() == WORK_S - 2_400


def test_the_columns_refuse_what_they_cannot_read_back() -> None:
    columns = FinishedRuns()
    other_zone = dt.timezone(dt.timedelta(hours=8))
    with pytest.raises(ValueError, match="not a final status"):
        columns.add("k", RunStatus(RunState.RUNNING, started_at=T0))
    with pytest.raises(ValueError, match="not a final status"):
        columns.add("k", RunStatus(RunState.SUCCEEDED, 0, None, T0.astimezone(other_zone), T0))
    assert columns.status("k") is None
    done = RunStatus(RunState.SUCCEEDED, 0, None, T0, T0 + dt.timedelta(microseconds=1))
    columns.add("k", done)
    assert columns.status("k") == done


def test_a_job_that_succeeded_leaves_no_kept_work_behind() -> None:
    clock = FixedClock(T0)
    engine = _engine(clock)
    spec = {"checkpoint": {"every_minutes": 10}}
    first, second = _attempt(1, spec), _attempt(2, spec)
    engine.launch(first)
    clock.advance(1_300)
    engine.cancel(first.key, grace_s=0)
    assert engine.status(first.key).state is RunState.CANCELLED
    assert engine.state.kept_work == {"j": 1_200.0}  # two checkpoints' work, for attempt 2
    engine.launch(second)
    clock.advance(WORK_S)
    assert engine.status(second.key).state is RunState.SUCCEEDED
    assert engine.state.kept_work == {}
    assert engine.state.last_attempt == {}
    assert engine.state.runs == {}

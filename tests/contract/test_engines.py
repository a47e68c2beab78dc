"""One contract for every engine: local, Slurm, Ray and the simulated engine behave alike.

Each test runs on each engine: real ones against the test services (Slurm and Ray skipped
without their env, as scripts/test sets it), the simulated one on a fixed clock it is
moved along. A run is described once (run time, exit code, time to checkpoint) and turned
into a script for real engines or the simulated engine's env.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from suanli.domain.clock import FixedClock, SystemClock
from suanli.domain.errors import EngineFailure
from suanli.domain.fleet import Cluster, EngineRef
from suanli.domain.ids import engine_key, new_job_id
from suanli.domain.jobs import NodeAssignment, Placement
from suanli.engines.base import (
    EngineAdapter,
    LaunchRequest,
    RunChanges,
    RunState,
    RunStatus,
    SteadyRuns,
    inventory_source,
)
from suanli.engines.local import LocalEngine
from suanli.engines.local_inventory import emulated_nodes
from suanli.engines.ray import RayEngine
from suanli.engines.simulated import (
    EXIT_CODE_ENV,
    RUN_S_ENV,
    STOP_S_ENV,
    SimulatedCluster,
    SimulatedEngine,
)
from suanli.engines.slurm import SlurmEngine, SlurmOptions
from tests.builders import make_pool, make_spec
from tests.conftest import wait_until
from tests.rayhead import ray_python, require_ray
from tests.slurm import slurm_cluster

T = TypeVar("T")
TIMEOUT_S = 90.0  # real engines: generous, only a failing test waits this long
T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


@dataclass
class Harness:
    """One engine kind under test: how to make an adapter, describe a run, and wait."""

    kind: str
    factory: Callable[[], EngineAdapter]
    placement: Placement
    resources: dict[str, Any]
    clock: FixedClock | None = None  # the simulated engine's; None: real time
    started: list[tuple[EngineAdapter, str]] = field(default_factory=list)
    made: list[EngineAdapter] = field(default_factory=list)

    def make(self) -> EngineAdapter:
        engine = self.factory()
        self.made.append(engine)
        return engine

    def request(self, run_s: float, exit_code: int = 0, stop_s: float = 0.0) -> LaunchRequest:
        job_id = new_job_id()
        script = (
            f"trap 'echo checkpointing; sleep {stop_s}; echo saved; exit 0' TERM; "
            f"echo started; sleep {run_s} & wait $!; exit {exit_code}"
        )
        env = {RUN_S_ENV: str(run_s), EXIT_CODE_ENV: str(exit_code), STOP_S_ENV: str(stop_s)}
        spec = make_spec(run=script, env=env, resources=self.resources)
        return LaunchRequest(engine_key(job_id, 1), job_id, 1, spec, self.placement)

    def launch(self, engine: EngineAdapter, request: LaunchRequest) -> None:
        engine.launch(request)
        self.started.append((engine, request.key))

    def wait(self, probe: Callable[[], T | None]) -> T:
        if self.clock is None:
            return wait_until(probe, timeout=TIMEOUT_S, every=0.2)
        for _ in range(10_000):
            found = probe()
            if found:
                return found
            self.clock.advance(0.5)
        raise AssertionError("condition not met within 5,000 simulated seconds")

    def final(self, engine: EngineAdapter, key: str) -> RunStatus:
        def probe() -> RunStatus | None:
            status = engine.status(key)
            return status if status.state.is_final else None

        return self.wait(probe)

    def running(self, engine: EngineAdapter, key: str) -> RunStatus:
        def probe() -> RunStatus | None:
            status = engine.status(key)
            return status if status.state is RunState.RUNNING else None

        return self.wait(probe)

    def stop_all(self) -> None:
        for engine, key in self.started:
            try:
                if not engine.status(key).state.is_final:
                    engine.cancel(key, grace_s=0)
            except EngineFailure:  # best effort: the test's own result stands
                continue
        for engine in self.made:
            close = getattr(engine, "close", None)  # engines holding connections (Ray)
            if callable(close):
                close()


def _placement(cluster: str, pool: str, model: str | None, nodes: int = 1) -> Placement:
    assignments = tuple(NodeAssignment(f"{pool}-n{i}", (0,)) for i in range(nodes))
    return Placement(cluster, pool, model, assignments, Decimal("1.00"))


def _simulated(tmp_path: Path) -> Harness:
    clock = FixedClock(T0)
    cluster = Cluster(
        "sim-1",
        "sim",
        "beijing",
        EngineRef("simulated", None, ()),
        (make_pool("t4", "T4", nodes=2, per_node=4),),
    )
    state = SimulatedCluster(cluster)
    accel = {"accelerator": {"model": "T4", "count": 1}}
    return Harness(
        "simulated",
        lambda: SimulatedEngine(state, clock),
        _placement("sim-1", "t4", "T4"),
        accel,
        clock,
    )


def _local(tmp_path: Path) -> Harness:
    root = tmp_path / "runs"
    accel = {"accelerator": {"model": "T4", "count": 1}}
    # The engine reports the pool it was given as emulated nodes (engines/local_inventory.py).
    nodes = emulated_nodes((make_pool("t4", "T4", nodes=1, per_node=4),))
    return Harness(
        "local",
        lambda: LocalEngine(root, SystemClock(), nodes=nodes),
        _placement("tj", "t4", "T4"),
        accel,
    )


def _slurm(tmp_path: Path) -> Harness:
    cluster = slurm_cluster()
    root = tmp_path / "runs"
    accel = {"accelerator": {"model": "H100", "count": 1}}
    return Harness(
        "slurm",
        lambda: SlurmEngine(root, SystemClock(), SlurmOptions(conf=cluster.conf, cache_s=0)),
        _placement("slurm-test", "h100", "H100"),
        accel,
    )


def _ray(tmp_path: Path) -> Harness:
    url = require_ray()
    return Harness(
        "ray",
        lambda: RayEngine(url, SystemClock(), python=ray_python()),
        Placement("ray-1", "h100", "H100", (), Decimal("1.00")),
        {"cpus": 1, "memory_gb": 0, "accelerator": {"model": "H100", "count": 1}},
    )


KINDS = {"simulated": _simulated, "local": _local, "slurm": _slurm, "ray": _ray}


@pytest.fixture(
    params=[
        "simulated",
        "local",
        "slurm",
        pytest.param("ray", marks=pytest.mark.ray),
    ]
)
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    h = KINDS[request.param](tmp_path)
    try:
        yield h
    finally:
        h.stop_all()


def test_a_run_succeeds_and_its_output_pages_by_offset(harness: Harness) -> None:
    engine = harness.make()
    request = harness.request(run_s=1)
    harness.launch(engine, request)
    status = harness.final(engine, request.key)
    assert status.state is RunState.SUCCEEDED
    assert status.exit_code == 0
    assert status.started_at is not None
    assert status.finished_at is not None
    assert status.finished_at >= status.started_at
    whole = harness.wait(lambda: engine.read_log(request.key, 0).data or None)
    head = engine.read_log(request.key, 0, limit=5)
    assert len(head.data) == min(5, len(whole))
    tail = engine.read_log(request.key, head.next_offset)
    assert head.data + tail.data == whole
    assert tail.next_offset == len(whole)


def test_a_failing_run_reports_its_exit_code(harness: Harness) -> None:
    engine = harness.make()
    request = harness.request(run_s=0.5, exit_code=3)
    harness.launch(engine, request)
    status = harness.final(engine, request.key)
    assert (status.state, status.exit_code) == (RunState.FAILED, 3)


def test_a_known_key_is_never_started_twice(harness: Harness) -> None:
    engine = harness.make()
    request = harness.request(run_s=60)
    harness.launch(engine, request)
    first = harness.running(engine, request.key)
    engine.launch(request)
    again = engine.status(request.key)
    assert again.state is RunState.RUNNING
    assert again.started_at == first.started_at


def test_an_unknown_key_is_lost_and_cancelling_it_changes_nothing(harness: Harness) -> None:
    engine = harness.make()
    key = engine_key(new_job_id(), 1)
    assert engine.status(key).state is RunState.LOST
    engine.cancel(key)
    assert engine.status(key).state is RunState.LOST


def test_a_stop_leaves_the_run_its_grace_to_checkpoint(harness: Harness) -> None:
    engine = harness.make()
    request = harness.request(run_s=300, stop_s=2)
    harness.launch(engine, request)
    harness.running(engine, request.key)
    harness.wait(lambda: engine.read_log(request.key, 0).data or None)
    engine.cancel(request.key, grace_s=60)
    status = harness.final(engine, request.key)
    # The run checkpointed and exited 0: Slurm reports the run's own exit (succeeded), the
    # others that it was stopped; the reconciler goes by the stop it asked for, not this.
    assert status.state in (RunState.CANCELLED, RunState.SUCCEEDED)


def test_a_stop_without_grace_ends_the_run(harness: Harness) -> None:
    engine = harness.make()
    request = harness.request(run_s=300, stop_s=200)
    harness.launch(engine, request)
    harness.running(engine, request.key)
    engine.cancel(request.key, grace_s=0)
    status = harness.final(engine, request.key)
    assert status.state is RunState.CANCELLED


def test_a_new_adapter_re_adopts_the_runs_it_finds(harness: Harness) -> None:
    engine = harness.make()
    request = harness.request(run_s=300)
    harness.launch(engine, request)
    first = harness.running(engine, request.key)
    restarted = harness.make()  # as after a control-plane restart
    status = restarted.status(request.key)
    assert status.state is RunState.RUNNING
    assert status.started_at == first.started_at
    restarted.cancel(request.key, grace_s=0)
    assert harness.final(restarted, request.key).state is RunState.CANCELLED


def test_inventory_and_live_runs_follow_the_runs(harness: Harness) -> None:
    engine = harness.make()
    source = inventory_source(engine)
    if source is None:
        pytest.skip(f"the {harness.kind} engine does not report an inventory")
    assert any(n.accelerators for n in source.inventory().nodes)
    request = harness.request(run_s=300)
    harness.launch(engine, request)
    harness.running(engine, request.key)
    assert request.key in source.live_runs()
    engine.cancel(request.key, grace_s=0)
    harness.final(engine, request.key)
    assert harness.wait(lambda: request.key not in source.live_runs())


def test_a_steady_run_is_one_a_poll_would_find_running(harness: Harness) -> None:
    # The reconciler skips the runs an engine calls steady: each must be running, and a run
    # asked to stop, ended or unknown is never steady (engines without the call: polled).
    engine = harness.make()
    if not isinstance(engine, SteadyRuns):
        pytest.skip(f"{harness.kind} is polled for every run")
    request = harness.request(run_s=300, stop_s=200)
    harness.launch(engine, request)
    harness.running(engine, request.key)
    assert engine.steady(request.key)
    assert engine.status(request.key).state is RunState.RUNNING
    assert not engine.steady("no-such-run")
    engine.cancel(request.key, grace_s=100)
    assert not engine.steady(request.key)  # asked to stop: the next poll must see it end
    harness.final(engine, request.key)
    assert not engine.steady(request.key)


def test_a_run_that_stops_being_steady_is_reported_changed(harness: Harness) -> None:
    # The reconciler visits only the runs an engine reports changed (RunChanges): a run
    # asked to stop is reported, and so is its end; a run going on is not reported again.
    engine = harness.make()
    if not isinstance(engine, RunChanges):
        pytest.skip(f"{harness.kind} does not report changed runs")
    request = harness.request(run_s=300, stop_s=200)
    harness.launch(engine, request)
    harness.running(engine, request.key)
    engine.changed_runs()  # whatever its start reported
    assert request.key not in engine.changed_runs()  # steady: nothing new
    engine.cancel(request.key, grace_s=100)
    assert request.key in engine.changed_runs()  # asked to stop
    harness.final(engine, request.key)
    assert request.key in engine.changed_runs()  # and its end, once the clock reached it

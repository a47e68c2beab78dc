"""RayEngine against a real Ray head: run, logs, exit codes, limits, cancel, resources, keys."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from suanli.domain.clock import SystemClock
from suanli.domain.errors import EngineFailure
from suanli.domain.jobs import NodeAssignment, Placement
from suanli.engines.base import Inventory, LaunchRequest, RunState, RunStatus, inventory_source
from suanli.engines.ray import RayEngine
from tests.builders import make_spec
from tests.conftest import wait_until
from tests.rayhead import RayRuns, ray_python, ray_runs

pytestmark = pytest.mark.ray

RUN_TIMEOUT_S = 90.0  # generous: only a failing test waits this long


@pytest.fixture
def ray() -> Iterator[RayRuns]:
    yield from ray_runs()


def _request(key: str, model: str | None = "H100", count: int = 1, **spec: Any) -> LaunchRequest:
    resources: dict[str, Any] = {"cpus": 1, "memory_gb": 0}
    if model:
        resources["accelerator"] = {"model": model, "count": count}
    placement = Placement("ray-1", "h100", model, (), Decimal("1.00"))
    return LaunchRequest(key, "j-ray", 1, make_spec(resources=resources, **spec), placement)


def _final(engine: RayEngine, key: str) -> RunStatus:
    def probe() -> RunStatus | None:
        status = engine.status(key)
        return status if status.state.is_final else None

    return wait_until(probe, timeout=RUN_TIMEOUT_S, every=0.2)


def _total(inventory: Inventory, kind: str) -> int:
    return sum(n.accelerators.get(kind, 0) for n in inventory.nodes if n.available)


def _log(engine: RayEngine, key: str) -> str:
    return engine.read_log(key, 0).data.decode()


def _gated(started: Path, gate: Path, then: str = "echo finished") -> str:
    """A run script that marks its start and waits (60 s at most) for ``gate``."""
    return (
        f"echo started >> '{started}'\n"
        f"for i in $(seq 1 600); do [ -e '{gate}' ] && break; sleep 0.1; done\n{then}\n"
    )


class TestRunsOnRay:
    def test_a_job_runs_and_succeeds_with_its_environment_and_logs(self, ray: RayRuns) -> None:
        key = ray.key("ok")
        request = _request(
            key,
            setup="echo setting up",
            run='echo "hello from $SUANLI_JOB_ID on $SUANLI_ACCELERATOR_MODEL x$SUANLI_ACCELERATORS_PER_NODE"\n'
            'echo "scripts visible: ${SUANLI_RAY_RUN:-no}"\necho "$GREETING"',
            env={"GREETING": "你好"},
        )

        ray.engine.launch(request)
        status = _final(ray.engine, key)

        assert status.state is RunState.SUCCEEDED
        assert status.exit_code == 0
        assert status.started_at is not None
        assert status.finished_at is not None
        assert status.started_at <= status.finished_at
        log = _log(ray.engine, key)
        assert log.index("setting up") < log.index("hello from j-ray on H100 x1")
        assert "scripts visible: no" in log
        assert "你好" in log

    def test_logs_are_read_from_a_byte_offset(self, ray: RayRuns) -> None:
        key = ray.key("log")
        ray.engine.launch(_request(key, model=None, run="echo first-line; echo 第二行"))
        _final(ray.engine, key)

        whole = ray.engine.read_log(key, 0)
        at = whole.data.index("第二行".encode())
        rest = ray.engine.read_log(key, at)
        tail = ray.engine.read_log(key, whole.next_offset)
        two = ray.engine.read_log(key, at, limit=3)

        assert whole.next_offset == len(whole.data)
        assert rest.data.decode().startswith("第二行")
        assert rest.next_offset == whole.next_offset
        assert tail.data == b""
        assert tail.next_offset == whole.next_offset
        assert two.data == "第".encode()
        assert two.next_offset == at + 3

    def test_a_failing_job_reports_its_exit_code(self, ray: RayRuns) -> None:
        key = ray.key("exit3")
        ray.engine.launch(_request(key, run="echo about to fail; exit 3"))

        status = _final(ray.engine, key)

        assert status.state is RunState.FAILED
        assert status.exit_code == 3
        assert status.reason is None  # the job's own failure: retry policy "failed" applies
        assert "about to fail" in _log(ray.engine, key)

    def test_a_failing_setup_stops_before_the_run(self, ray: RayRuns) -> None:
        key = ray.key("setup")
        ray.engine.launch(_request(key, setup="echo broken setup; exit 5", run="echo ran"))

        status = _final(ray.engine, key)

        assert (status.state, status.exit_code) == (RunState.FAILED, 5)
        assert "ran\n" not in _log(ray.engine, key)

    def test_the_hard_time_limit_stops_the_job(self, ray: RayRuns) -> None:
        key = ray.key("limit")
        ray.engine.launch(_request(key, run="echo long job; sleep 120", time_limit_hours=0.0005))

        status = _final(ray.engine, key)

        assert status.state is RunState.FAILED
        assert status.reason is not None
        assert status.reason.code == "reason_time_limit"
        assert status.reason.params == {"limit": "0:00:02"}


class TestCancel:
    def test_a_job_gets_none_of_the_servers_environment_and_writes_private_files(
        self, ray: RayRuns, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("SUANLI_DATABASE_URL", "postgresql://suanli:pg-secret-1f2e@db/suanli")
        key = ray.key("private")
        run = 'env; f=/tmp/suanli-ray-$$-$RANDOM; echo data > $f; stat -c "mode=%a" $f; rm -f $f'
        ray.engine.launch(_request(key, run=run))
        status = _final(ray.engine, key)
        out = _log(ray.engine, key)

        assert status.state is RunState.SUCCEEDED, out
        assert "SUANLI_JOB_ID=j-ray" in out
        assert "pg-secret-1f2e" not in out
        assert "mode=600" in out

    def test_cancel_stops_a_running_job(self, ray: RayRuns, tmp_path: Path) -> None:
        key = ray.key("cancel")
        started = tmp_path / "started"
        ray.engine.launch(_request(key, run=_gated(started, tmp_path / "never")))
        wait_until(started.exists, timeout=RUN_TIMEOUT_S)
        assert ray.engine.status(key).state is RunState.RUNNING

        ray.engine.cancel(key)
        ray.engine.cancel(key)  # idempotent

        status = _final(ray.engine, key)
        assert status.state is RunState.CANCELLED
        assert "finished" not in _log(ray.engine, key)

    def test_a_stop_leaves_the_job_the_grace_it_was_launched_with(self, ray: RayRuns) -> None:
        # The handler needs 6 s: longer than Ray's own stop wait (3 s).
        key = ray.key("grace")
        run = (
            "trap 'echo checkpointing; sleep 6; echo checkpoint saved; exit 0' TERM; "
            "echo job-is-up; while true; do sleep 0.1; done"
        )
        request = dataclasses.replace(_request(key, run=run), stop_grace_s=30)
        ray.engine.launch(request)
        wait_until(lambda: "job-is-up" in _log(ray.engine, key), timeout=RUN_TIMEOUT_S)

        ray.engine.cancel(key, grace_s=30)

        assert _final(ray.engine, key).state is RunState.CANCELLED
        assert "checkpoint saved" in _log(ray.engine, key)

    def test_cancelling_an_unknown_key_is_a_no_op(self, ray: RayRuns) -> None:
        ray.engine.cancel(ray.key("ghost"))


class TestKeysAndResources:
    def test_launching_a_known_key_again_never_starts_a_second_run(
        self, ray: RayRuns, tmp_path: Path
    ) -> None:
        key = ray.key("once")
        started, gate = tmp_path / "started", tmp_path / "gate"
        request = _request(key, run=_gated(started, gate))

        ray.engine.launch(request)
        ray.engine.launch(request)  # e.g. the reconciler while the run is still pending
        wait_until(started.exists, timeout=RUN_TIMEOUT_S)
        ray.engine.launch(request)  # e.g. a restarted control plane
        gate.touch()
        assert _final(ray.engine, key).state is RunState.SUCCEEDED
        ray.engine.launch(request)  # and after the run ended

        assert started.read_text().splitlines() == ["started"]
        assert [j["submission_id"] for j in ray.engine.list_jobs()].count(key) == 1
        assert ray.engine.status(key).state is RunState.SUCCEEDED

    def test_accelerators_are_reserved_as_the_models_custom_resource(
        self, ray: RayRuns, tmp_path: Path
    ) -> None:
        total = _total(ray.engine.inventory(), "H100")
        key = ray.key("h100x3")
        started, gate = tmp_path / "started", tmp_path / "gate"
        ray.engine.launch(_request(key, count=3, run=_gated(started, gate)))
        wait_until(started.exists, timeout=RUN_TIMEOUT_S)

        while_running = wait_until(
            lambda: ray.engine.inventory().free_accelerators()["H100"] <= total - 3 or None,
            timeout=RUN_TIMEOUT_S,
        )
        gate.touch()
        assert _final(ray.engine, key).state is RunState.SUCCEEDED
        assert while_running

    def test_more_accelerators_than_the_cluster_has_never_start(self, ray: RayRuns) -> None:
        most = max(n.accelerators.get("H100", 0) for n in ray.engine.inventory().nodes)
        too_big, fits = ray.key("too-big"), ray.key("fits")

        ray.engine.launch(_request(too_big, count=most + 1, run="echo should not run"))
        ray.engine.launch(_request(fits, count=most, run="echo fits"))

        assert _final(ray.engine, fits).state is RunState.SUCCEEDED
        assert ray.engine.status(too_big).state is RunState.PENDING

    def test_inventory_lists_each_node_with_models_total_and_free(self, ray: RayRuns) -> None:
        inventory = ray.engine.inventory()

        assert inventory_source(ray.engine) is ray.engine  # declared and implemented
        alive = [n for n in inventory.nodes if n.available]
        assert alive
        assert all(n.state == "ALIVE" and n.cpus >= 1 and n.memory_mb > 0 for n in alive)
        assert {"H100", "Ascend910B"} <= set(inventory.free_accelerators())
        for node in alive:
            assert set(node.accelerators) == set(node.free_accelerators)
            assert "CPU" not in node.accelerators
            assert all(0 <= node.free_accelerators[k] <= v for k, v in node.accelerators.items())

    def test_live_runs_lists_the_suanli_runs_ray_still_has(
        self, ray: RayRuns, tmp_path: Path
    ) -> None:
        key = ray.key("live")
        started, gate = tmp_path / "started", tmp_path / "gate"
        ray.engine.launch(_request(key, run=_gated(started, gate)))
        wait_until(started.exists, timeout=RUN_TIMEOUT_S)

        while_running = ray.engine.live_runs()
        gate.touch()
        _final(ray.engine, key)

        assert key in while_running
        assert key not in ray.engine.live_runs()

    def test_an_unknown_key_is_lost(self, ray: RayRuns) -> None:
        status = ray.engine.status(ray.key("unknown"))

        assert status.state is RunState.LOST
        assert status.reason is not None
        assert status.reason.code == "reason_lost"
        assert ray.engine.read_log(ray.key("unknown"), 0).data == b""


class TestGangs:
    """A gang is one Ray job whose driver reserves a placement group, one bundle per node.

    The test head is one Ray node, so the gang uses PACK (both bundles on it, each a separate
    reservation of that node's share of H100s); real clusters use STRICT_SPREAD (one Ray node
    per bundle, as Slurm gives one node per rank).
    """

    @pytest.fixture
    def gangs(self, ray: RayRuns) -> RayRuns:
        ray.engine = RayEngine(
            ray.engine.endpoint,
            SystemClock(),
            reserve_cpus=False,  # the head has 2 CPUs: the bundles hold H100s only
            gang_strategy="PACK",
            python=ray_python(),
        )
        return ray

    @staticmethod
    def _gang(key: str, run: str, per_node: int = 4) -> LaunchRequest:
        spec = make_spec(
            resources={
                "nodes": 2,
                "cpus": 1,
                "memory_gb": 0,
                "accelerator": {"model": "H100", "count": per_node},
            },
            setup='echo "setup on rank $SUANLI_NODE_RANK"',
            run=run,
        )
        slots = tuple(range(per_node))
        nodes = (NodeAssignment("ray-a", slots), NodeAssignment("ray-b", slots))
        placement = Placement("ray-1", "h100", "H100", nodes, Decimal("8.00"))
        return LaunchRequest(key, "j-gang", 1, spec, placement)

    def test_a_two_node_gang_runs_every_rank_once_on_its_own_bundle(self, gangs: RayRuns) -> None:
        key = gangs.key("gang")
        run = 'echo "rank $SUANLI_NODE_RANK of $WORLD_SIZE master=$MASTER_ADDR job=$SUANLI_JOB_ID"'

        gangs.engine.launch(self._gang(key, run))
        status = _final(gangs.engine, key)

        log = _log(gangs.engine, key)
        assert status.state is RunState.SUCCEEDED, log
        # Each rank's line, headed by its rank (Ray puts its worker before that).
        ranks = sorted(
            line.split("] rank ", 1)[1] for line in log.splitlines() if " of 2 " in line
        )
        assert [r.split(" master")[0] for r in ranks] == ["0 of 2", "1 of 2"]
        assert "[rank 0] rank 0 of 2" in log
        assert "[rank 1] rank 1 of 2" in log
        assert "[rank 0] setup on rank 0" in log
        assert "[rank 1] setup on rank 1" in log
        assert "suanli: waiting for 2 bundles {'H100': 4}" in log
        told = [r.split("master=")[1] for r in ranks]
        assert len(told) == 2
        assert len(set(told)) == 1
        assert all(r.endswith("job=j-gang") for r in told)
        # Ray's own accounting: one Ray job for the whole gang, under the suanli key.
        assert [j["submission_id"] for j in gangs.engine.list_jobs()].count(key) == 1

    def test_the_first_rank_to_fail_ends_the_gang_with_its_exit_code(self, gangs: RayRuns) -> None:
        key = gangs.key("gangfail")
        run = 'if [ "$SUANLI_NODE_RANK" = 1 ]; then exit 3; fi; sleep 60'

        gangs.engine.launch(self._gang(key, run, per_node=2))
        status = _final(gangs.engine, key)

        assert status.state is RunState.FAILED
        assert status.exit_code == 3


class TestUnreachable:
    def test_a_cluster_that_does_not_answer_is_down_not_lost(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # closed again before use: nothing listens there
        engine = RayEngine(f"http://127.0.0.1:{port}", SystemClock(), timeout_s=2)

        assert engine.ping() is False
        # A run on a cluster that does not answer is not known lost: no retry elsewhere yet.
        with pytest.raises(EngineFailure, match="did not answer"):
            engine.status("suanli-j-x-a1")
        with pytest.raises(EngineFailure, match="did not answer"):
            engine.launch(_request("suanli-j-x-a1"))

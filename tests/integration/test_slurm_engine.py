"""SlurmEngine against the real two-node Slurm that scripts/slurm-up.sh starts."""

from __future__ import annotations

import dataclasses
import os
import pwd
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from suanli.domain.clock import SystemClock
from suanli.domain.ids import engine_key, new_job_id
from suanli.domain.jobs import NodeAssignment, Placement
from suanli.engines.base import LaunchRequest, RunState, RunStatus, inventory_source
from suanli.engines.sandbox import account_name
from suanli.engines.slurm import SlurmEngine, SlurmOptions
from tests.builders import make_spec
from tests.conftest import wait_until
from tests.slurm import SlurmCluster, slurm_cluster

RUN_TIMEOUT_S = 60.0  # generous: only a failing test waits this long
# Slurm counts time limits in whole minutes and checks them every ~30 s.
TIME_LIMIT_TIMEOUT_S = 150.0


# A job that takes ``handler_s`` seconds to checkpoint when it gets SIGTERM.
CHECKPOINTING = (
    "trap 'echo checkpointing; sleep {handler_s}; echo checkpoint saved; exit 0' TERM; "
    "echo job-is-up; while true; do sleep 0.1; done"
)


@pytest.fixture(scope="module")
def cluster() -> SlurmCluster:
    return slurm_cluster()


@pytest.fixture
def engine(cluster: SlurmCluster, tmp_path: Path) -> Iterator[SlurmEngine]:
    eng = SlurmEngine(tmp_path / "runs", SystemClock(), SlurmOptions(conf=cluster.conf, cache_s=0))
    yield eng
    for key in eng.live_runs():
        if (eng.root / key).exists():  # this test's runs only
            eng.cancel(key)


def _request(nodes: int = 1, gpus: int = 1, **spec: Any) -> LaunchRequest:
    job_id = new_job_id()
    resources = {"accelerator": {"model": "H100", "count": gpus}, "nodes": nodes}
    return LaunchRequest(
        engine_key(job_id, 1),
        job_id,
        1,
        make_spec(resources=resources, **spec),
        Placement(
            "slurm-test",
            "h100",
            "H100",
            tuple(NodeAssignment(f"h100-n{i}", tuple(range(gpus))) for i in range(nodes)),
            Decimal("10"),
        ),
    )


def _final(engine: SlurmEngine, key: str, timeout: float = RUN_TIMEOUT_S) -> RunStatus:
    def probe() -> RunStatus | None:
        status = engine.status(key)
        return status if status.state.is_final else None

    return wait_until(probe, timeout=timeout, every=0.3)


def _log(engine: SlurmEngine, key: str) -> str:
    return engine.read_log(key, 0).data.decode()


class TestRuns:
    def test_a_job_runs_with_its_gpus_and_environment(self, engine: SlurmEngine) -> None:
        req = _request(gpus=2, run='echo "id=$SUANLI_JOB_ID gpus=$CUDA_VISIBLE_DEVICES"')
        engine.launch(req)
        status = _final(engine, req.key)
        assert (status.state, status.exit_code) == (RunState.SUCCEEDED, 0)
        assert status.started_at is not None
        assert status.finished_at is not None
        line = next(x for x in _log(engine, req.key).splitlines() if x.startswith("id="))
        ident, gpus = line.split()
        assert ident == f"id={req.job_id}"
        assert len(set(gpus.removeprefix("gpus=").split(","))) == 2  # two of the node's GPUs

    def test_a_known_key_is_never_submitted_twice(
        self, engine: SlurmEngine, cluster: SlurmCluster
    ) -> None:
        req = _request(run="sleep 2")
        engine.launch(req)
        engine.launch(req)
        fresh = SlurmEngine(engine.root, SystemClock(), engine.options)  # a restarted server
        fresh.launch(req)
        assert len(cluster.jobs_named(req.key)) == 1
        assert _final(engine, req.key).state is RunState.SUCCEEDED
        fresh.launch(req)  # finished runs too
        assert len(cluster.jobs_named(req.key)) == 1

    def test_exit_code_of_a_failed_job(self, engine: SlurmEngine) -> None:
        req = _request(run="echo bad; exit 3")
        engine.launch(req)
        status = _final(engine, req.key)
        assert (status.state, status.exit_code) == (RunState.FAILED, 3)
        assert "bad" in _log(engine, req.key)

    def test_a_job_gets_none_of_the_servers_environment_and_writes_private_files(
        self, engine: SlurmEngine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # sbatch hands the job its own environment: the server's must not be it.
        monkeypatch.setenv("SUANLI_DATABASE_URL", "postgresql://suanli:pg-secret-1f2e@db/suanli")
        monkeypatch.setenv("SUANLI_PROBE_SECRET", "server-secret-9a8b")
        req = _request(run='env; echo data > made.txt; stat -c "mode=%a" made.txt')
        engine.launch(req)
        status = _final(engine, req.key)
        out = _log(engine, req.key)

        assert status.state is RunState.SUCCEEDED, out
        assert f"SUANLI_JOB_ID={req.job_id}" in out
        assert "pg-secret-1f2e" not in out
        assert "server-secret-9a8b" not in out
        assert "mode=600" in out
        assert (engine.root / req.key / "job.sbatch").stat().st_mode & 0o777 == 0o600

    def test_with_tenant_users_each_tenant_runs_as_its_own_user_in_private_dirs(
        self, cluster: SlurmCluster, exchange: Path
    ) -> None:
        if os.geteuid() != 0:
            pytest.skip("sbatch --uid needs root")
        runs = exchange / "runs"
        options = SlurmOptions(conf=cluster.conf, cache_s=0, run_dir=str(runs), tenant_users=True)
        engine = SlurmEngine(runs, SystemClock(), options)
        victim = dataclasses.replace(
            _request(run="echo beta-secret > secret.txt; sleep 60"), tenant="beta"
        )
        engine.launch(victim)
        secret = runs / victim.key / "work" / "secret.txt"
        try:
            wait_until(secret.exists, timeout=RUN_TIMEOUT_S)
            probe = dataclasses.replace(
                _request(run=f"id -un; cat {secret}; echo read=$?; ls {runs}; echo list=$?"),
                tenant="alpha",
            )
            engine.launch(probe)
            status = _final(engine, probe.key)
            out = _log(engine, probe.key)
        finally:
            engine.cancel(victim.key)

        assert status.state is RunState.SUCCEEDED, out
        assert out.splitlines()[0] == account_name("alpha")
        assert "beta-secret" not in out
        assert "read=1" in out
        assert "list=2" in out  # the runs directory is passable, not listable
        work = (runs / probe.key / "work").stat()
        assert (pwd.getpwuid(work.st_uid).pw_name, work.st_mode & 0o777) == (
            account_name("alpha"),
            0o700,
        )
        assert (runs / victim.key).stat().st_mode & 0o777 == 0o700

    def test_a_two_node_gang_runs_one_rank_on_each_node(self, engine: SlurmEngine) -> None:
        run = 'echo "rank=$SUANLI_NODE_RANK node=$SLURMD_NODENAME world=$WORLD_SIZE"'
        req = _request(nodes=2, gpus=2, run=run)
        engine.launch(req)
        assert _final(engine, req.key).state is RunState.SUCCEEDED
        lines = sorted(line for line in _log(engine, req.key).splitlines() if "rank=" in line)
        assert lines == [
            "[rank 0] rank=0 node=node0 world=2",
            "[rank 1] rank=1 node=node1 world=2",
        ]

    def test_setup_runs_before_the_job(self, engine: SlurmEngine) -> None:
        req = _request(setup="echo prepared > ready.txt", run="cat ready.txt")
        engine.launch(req)
        assert _final(engine, req.key).state is RunState.SUCCEEDED
        assert "prepared" in _log(engine, req.key)


class TestControl:
    def test_cancel_stops_a_running_job(self, engine: SlurmEngine) -> None:
        req = _request(run="echo started; sleep 300")
        engine.launch(req)
        wait_until(lambda: "started" in _log(engine, req.key), timeout=RUN_TIMEOUT_S)
        assert engine.status(req.key).state is RunState.RUNNING
        engine.cancel(req.key)
        engine.cancel(req.key)  # idempotent
        assert _final(engine, req.key).state is RunState.CANCELLED

    def test_a_stop_with_a_grace_lets_the_job_checkpoint(self, engine: SlurmEngine) -> None:
        # The handler needs 8 s: longer than this cluster's KillWait (5 s), a plain
        # scancel's grace.
        req = _request(run=CHECKPOINTING.format(handler_s=8))
        engine.launch(req)
        wait_until(lambda: "job-is-up" in _log(engine, req.key), timeout=RUN_TIMEOUT_S)
        engine.cancel(req.key, grace_s=60)
        _final(engine, req.key)
        assert "checkpoint saved" in _log(engine, req.key)

    def test_a_stop_with_no_grace_left_kills_at_once(self, engine: SlurmEngine) -> None:
        req = _request(run=CHECKPOINTING.format(handler_s=3600))
        engine.launch(req)
        wait_until(lambda: "job-is-up" in _log(engine, req.key), timeout=RUN_TIMEOUT_S)
        engine.cancel(req.key, grace_s=3600)
        wait_until(lambda: "checkpointing" in _log(engine, req.key), timeout=RUN_TIMEOUT_S)
        engine.cancel(req.key, grace_s=0)  # the grace is over
        status = _final(engine, req.key)
        assert status.state is not RunState.SUCCEEDED
        assert "checkpoint saved" not in _log(engine, req.key)

    def test_a_stop_with_a_grace_before_the_start_just_cancels(self, engine: SlurmEngine) -> None:
        req = _request(gpus=4, nodes=2, run="echo ran")
        blocker = _request(gpus=4, nodes=2, run="sleep 300")
        engine.launch(blocker)  # holds every GPU: the next job stays PENDING
        wait_until(lambda: engine.status(blocker.key).state is RunState.RUNNING, timeout=60)
        engine.launch(req)
        engine.cancel(req.key, grace_s=60)
        assert _final(engine, req.key).state is RunState.CANCELLED
        engine.cancel(blocker.key)
        assert "ran" not in _log(engine, req.key)

    def test_logs_stream_while_the_job_runs(self, engine: SlurmEngine) -> None:
        req = _request(run="echo first; sleep 300")
        engine.launch(req)
        wait_until(lambda: "first" in _log(engine, req.key), timeout=RUN_TIMEOUT_S)
        chunk = engine.read_log(req.key, 0)
        assert engine.read_log(req.key, chunk.next_offset).data == b""
        engine.cancel(req.key)

    def test_the_time_limit_stops_the_job(self, engine: SlurmEngine) -> None:
        req = _request(run="sleep 600", time_limit_hours=0.001)
        engine.launch(req)
        status = _final(engine, req.key, timeout=TIME_LIMIT_TIMEOUT_S)
        assert status.state is RunState.FAILED
        assert status.reason is not None
        assert status.reason.code == "reason_time_limit"

    def test_a_key_slurm_never_saw_is_lost(self, engine: SlurmEngine) -> None:
        status = engine.status(engine_key(new_job_id(), 1))
        assert status.state is RunState.LOST

    def test_a_refused_job_raises_with_slurms_words(self, engine: SlurmEngine) -> None:
        req = _request(gpus=16)  # more GPUs per node than any node has
        with pytest.raises(Exception, match="sbatch"):
            engine.launch(req)


class TestInventory:
    def test_nodes_gres_and_free_capacity_come_from_the_cluster(
        self, engine: SlurmEngine, cluster: SlurmCluster
    ) -> None:
        source = inventory_source(engine)
        assert source is not None
        before = source.inventory()
        assert [n.name for n in before.nodes] == [f"node{i}" for i in range(cluster.nodes)]
        assert all(
            n.accelerators == {cluster.gpu_type: cluster.gpus_per_node} for n in before.nodes
        )
        req = _request(gpus=3, run="echo job-is-up; sleep 300")
        engine.launch(req)
        wait_until(lambda: "job-is-up" in _log(engine, req.key), timeout=RUN_TIMEOUT_S)
        free = source.inventory().free_accelerators()[cluster.gpu_type]
        assert free == before.free_accelerators()[cluster.gpu_type] - 3
        assert source.live_runs().count(req.key) == 1
        engine.cancel(req.key)

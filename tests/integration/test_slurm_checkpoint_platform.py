"""A resumable job's checkpoint through the platform's own control loop, on the real test
Slurm and the local engine: its attempt on Slurm saves in Slurm's directory and the job
records that cluster; slurmctld dies, the next attempt can only start on the local cluster,
whose directory is empty, and the history says the checkpoint was left behind; when the job
ends for good, both clusters' directories go (the reconciler's hook)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from suanli.domain.jobs import JobStatus
from suanli.domain.spec import JobSpec
from suanli.engines.local import CHECKPOINTS, LocalEngine
from suanli.engines.slurm import SlurmEngine
from suanli.service.deps import Platform
from suanli.service.jobs import job_history, submit_job
from suanli.workers.control_loop import tick
from tests.conftest import wait_until
from tests.integration.test_slurm_failover import (
    TIMEOUT_S,
    cluster,
    drive,
    platform_factory,
)
from tests.slurm import SlurmCluster

__all__ = ["cluster", "platform_factory"]  # the fixtures this file shares
S = JobStatus


def _spec(flag: Path) -> JobSpec:
    # Prints what earlier attempts left, saves its own start; on Slurm it then waits for a
    # flag the test never makes (the run dies with slurmctld's answers).
    run = (
        'cat "$SUANLI_CHECKPOINT_DIR"/progress 2>/dev/null | sed "s/^/found /"; '
        'echo "started $SUANLI_ATTEMPT on $SUANLI_CLUSTER" >> "$SUANLI_CHECKPOINT_DIR/progress"; '
        f'if [ "$SUANLI_CLUSTER" = slurm-bj ]; then while [ ! -e {flag} ]; do sleep 0.5; done; fi'
    )
    return JobSpec.model_validate(
        {
            "name": "resumable",
            "resources": {"accelerator": {"model": "H100", "count": 2}},
            "run": run,
            "checkpoint": {},
        }
    )


def test_a_checkpoint_left_on_a_dead_cluster_is_said_and_dropped_at_the_end(
    platform_factory: Callable[..., Platform], cluster: SlurmCluster, tmp_path: Path
) -> None:
    p = platform_factory(2)
    slurm, local = p.engines["slurm-bj"], p.engines["fallback-tj"]
    assert isinstance(slurm, SlurmEngine)
    assert isinstance(local, LocalEngine)
    job = submit_job(p, _spec(tmp_path / "never"))
    on_slurm = slurm.checkpoints.path(job.id)
    on_local = local.root.resolve() / CHECKPOINTS / job.id
    first = drive(p, job.id, lambda j: j.status is S.RUNNING)
    assert first.checkpoint_cluster == "slurm-bj"  # its attempt started there
    wait_until((on_slurm / "progress").exists, timeout=TIMEOUT_S)
    cluster.kill_controller(saved_after=first.started_at)
    try:
        done = drive(p, job.id, lambda j: j.status.is_terminal)
    finally:
        cluster.start_controller()
    assert done.status is S.SUCCEEDED
    assert done.placement is not None
    assert done.placement.cluster == "fallback-tj"
    assert done.checkpoint_cluster == "fallback-tj"
    notes = [
        (e.reason.code, e.reason.params, e.attempt)
        for e in job_history(p, job.id)
        if e.reason.code.startswith("reason_checkpoint")
    ]
    assert notes == [
        ("reason_checkpoint_left_behind", {"cluster": "slurm-bj", "placed": "fallback-tj"}, 1)
    ]
    assert done.engine_key is not None
    second = local.read_log(done.engine_key, 0).data.decode()
    assert "found" not in second  # the local cluster's directory started empty
    # The job ended for good: the directories on both clusters are gone.
    assert not on_slurm.exists()
    assert not on_local.exists()
    # Slurm is back: the run it kept was replaced, so suanli cancels it.
    slurm_key = first.engine_key
    assert slurm_key is not None

    def stray_cancelled() -> bool:
        tick(p)
        return all(state != "RUNNING" for _, state in cluster.jobs_named(slurm_key))

    wait_until(stray_cancelled, timeout=TIMEOUT_S)

"""Cluster health with a real Slurm: slurmctld dies mid-run, the job moves on, Slurm comes back.

The platform's control loop is driven tick by tick (the same tick the server runs), over a
fleet of the test Slurm (cheap, preferred) and a dearer fallback: the local engine, or the
test Ray head (scripts/ray-up.sh).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from suanli.domain.jobs import Job, JobStatus
from suanli.domain.spec import JobSpec
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform
from suanli.service.jobs import cancel_job, get_job, job_history, submit_job
from suanli.workers.control_loop import tick
from tests.conftest import wait_until
from tests.e2e.server import kill_leftover_runs
from tests.rayhead import require_ray
from tests.slurm import SlurmCluster, fleet_yaml, slurm_cluster

S = JobStatus
TIMEOUT_S = 90.0  # generous: only a failing test waits this long
GRACE_S = 2.0


@pytest.fixture(scope="module")
def cluster() -> Iterator[SlurmCluster]:
    found = slurm_cluster()
    yield found
    found.start_controller()  # whatever a failed test left behind


def make_platform(
    tmp_path: Path, cluster: SlurmCluster, local_nodes: int = 2, ray_url: str | None = None
) -> Platform:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(fleet_yaml(cluster, local_nodes, ray_url))
    return open_platform(tmp_path / "data", fleet, detect_gpus=False, cluster_grace_s=GRACE_S)


@pytest.fixture
def platform_factory(tmp_path: Path, cluster: SlurmCluster) -> Iterator[Callable[..., Platform]]:
    made: list[Platform] = []

    def make(local_nodes: int = 2, ray_url: str | None = None) -> Platform:
        p = make_platform(tmp_path, cluster, local_nodes, ray_url)
        made.append(p)
        return p

    yield make
    cluster.start_controller()
    for p in made:
        for job in p.jobs.list([S.STARTING, S.RUNNING], limit=1000):
            cancel_job(p, job.id)
        p.close()
    kill_leftover_runs(tmp_path / "data")


def drive(p: Platform, job_id: str, want: Callable[[Job], bool]) -> Job:
    """Run the control loop until the job is as wanted."""

    def probe() -> Job | None:
        tick(p)
        job = get_job(p, job_id)
        return job if want(job) else None

    return wait_until(probe, timeout=TIMEOUT_S, every=0.2)


def spec(flag: Path, nodes: int = 1) -> JobSpec:
    # On Slurm it waits for the flag file (which the test never creates for a dead run).
    run = (
        'echo "attempt $SUANLI_ATTEMPT on $SUANLI_CLUSTER rank $SUANLI_NODE_RANK"; '
        f'if [ "$SUANLI_CLUSTER" = slurm-bj ]; then while [ ! -e {flag} ]; do sleep 0.5; done; fi'
    )
    return JobSpec.model_validate(
        {
            "name": "failover",
            "resources": {"accelerator": {"model": "H100", "count": 2}, "nodes": nodes},
            "run": run,
        }
    )


@pytest.mark.parametrize("fallback", ["local", "ray"])
def test_slurmctld_dies_mid_run_and_the_job_finishes_elsewhere_once(
    platform_factory: Callable[..., Platform],
    cluster: SlurmCluster,
    tmp_path: Path,
    fallback: str,
) -> None:
    p = platform_factory(2, require_ray() if fallback == "ray" else None)
    job = submit_job(p, spec(tmp_path / "never"))
    first = drive(p, job.id, lambda j: j.status is S.RUNNING)
    assert first.placement is not None
    assert first.placement.cluster == "slurm-bj"
    slurm_key = first.engine_key
    assert slurm_key is not None
    cluster.kill_controller(saved_after=first.started_at)

    done = drive(p, job.id, lambda j: j.status.is_terminal)
    assert done.status is S.SUCCEEDED
    assert done.placement is not None
    assert done.placement.cluster == "fallback-tj"
    assert done.attempt == 2

    # Slurm comes back: the run it still has was replaced, so suanli cancels it.
    cluster.start_controller()

    def stray_cancelled() -> bool:
        tick(p)
        return all(s != "RUNNING" for _, s in cluster.jobs_named(slurm_key))

    wait_until(stray_cancelled, timeout=TIMEOUT_S)
    history = [(e.to_status.value, e.reason.code, e.attempt) for e in job_history(p, job.id)]
    assert ("recovering", "reason_cluster_down", 1) in history
    assert ("succeeded", "reason_exit_ok", 2) in history
    assert history[-1][1] == "reason_stray_run_cancelled"
    placed = [
        e.reason.params["cluster"] for e in job_history(p, job.id) if e.to_status is S.PLACED
    ]
    assert placed == ["slurm-bj", "fallback-tj"]


def test_a_gang_job_not_yet_placed_again_is_readopted_when_slurm_returns(
    platform_factory: Callable[..., Platform], cluster: SlurmCluster, tmp_path: Path
) -> None:
    p = platform_factory(1)  # the local pool has one node: a 2-node gang fits only on Slurm
    flag = tmp_path / "finish"
    job = submit_job(p, spec(flag, nodes=2))
    running = drive(p, job.id, lambda j: j.status is S.RUNNING)
    key = running.engine_key
    assert key is not None
    cluster.kill_controller(saved_after=running.started_at)
    drive(p, job.id, lambda j: j.status is S.QUEUED)  # given up; nowhere else to go

    cluster.start_controller()
    back = drive(p, job.id, lambda j: j.status is S.RUNNING)
    assert (back.engine_key, back.attempt) == (key, 1)
    flag.touch()
    done = drive(p, job.id, lambda j: j.status.is_terminal)
    assert done.status is S.SUCCEEDED
    assert len(cluster.jobs_named(key)) == 1
    codes = [e.reason.code for e in job_history(p, job.id)]
    assert "reason_cluster_back_readopted" in codes
    # Billed once, for the run as it really ran: from its start to its real end, not only
    # up to when it was given up (that reading was held unsettled, then replaced).
    assert p.billing is not None
    lines = [s.line for s in p.billing.store.settlements() if s.line.usage.job_id == job.id]
    assert [line.key for line in lines] == [f"{job.id}/a1"]
    assert lines[0].usage.started_at == running.started_at
    assert lines[0].usage.ended_at == done.finished_at
    log = p.engines["slurm-bj"].read_log(key, 0).data.decode()
    assert sorted(line for line in log.splitlines() if "rank" in line) == [
        "[rank 0] attempt 1 on slurm-bj rank 0",
        "[rank 1] attempt 1 on slurm-bj rank 1",
    ]

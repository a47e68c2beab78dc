"""Slurm runs jobs in images (podman under the batch step) on the real two-node Slurm."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from suanli.domain.clock import SystemClock
from suanli.domain.ids import JobId, engine_key, new_job_id
from suanli.engines import userns
from suanli.engines.base import LaunchRequest, RunState
from suanli.engines.checkpoints import CHECKPOINT_ENV, CHECKPOINT_MOUNT, drop_checkpoints
from suanli.engines.slurm import SlurmEngine, SlurmOptions
from suanli.engines.slurm_checkpoints import CHECKPOINTS
from tests.checkpointing import TRAINING, resumes_across_two_attempts
from tests.integration.test_slurm_engine import _final, _log, _request
from tests.slurm import SlurmCluster, slurm_cluster

REGISTRY = os.environ.get("SUANLI_REGISTRY", "")
pytestmark = pytest.mark.skipif(
    # CI (scripts/test) always has both: there a missing one fails instead
    (not REGISTRY or shutil.which("podman") is None) and not os.environ.get("CI"),
    reason="needs podman and SUANLI_REGISTRY (scripts/registry-up.sh, scripts/images-build.sh)",
)
TIMEOUT_S = 180.0


@pytest.fixture(scope="module")
def cluster() -> SlurmCluster:
    return slurm_cluster()


@pytest.fixture
def engine(cluster: SlurmCluster, tmp_path: Path) -> Iterator[SlurmEngine]:
    options = SlurmOptions(conf=cluster.conf, cache_s=0, registry=REGISTRY)
    eng = SlurmEngine(tmp_path / "runs", SystemClock(), options)
    yield eng
    for key in eng.live_runs():
        if (eng.root / key).exists():
            eng.cancel(key)


def test_a_job_runs_in_its_image_under_slurm_with_the_digest(engine: SlurmEngine) -> None:
    run = (
        'echo "in $(cat /etc/debian_version) rank=$SUANLI_NODE_RANK id=$SUANLI_JOB_ID"; '
        "echo map=$(cat /proc/self/uid_map); echo out > o.txt"
    )
    req = _request(gpus=1, run=run, image="suanli/debian:bookworm", setup="echo setup-ran")
    engine.launch(req)
    status = _final(engine, req.key, timeout=TIMEOUT_S)
    log = _log(engine, req.key)
    assert status.state is RunState.SUCCEEDED, log
    assert "in 12." in log
    assert f"rank=0 id={req.job_id}" in log
    assert "setup-ran" in log
    if os.geteuid() == 0:  # podman as root under srun: the tenant's own user namespace
        mapped_root = userns.for_tenant(req.tenant).host(0)
        assert f"map= 0 {mapped_root} 65536" in log
        assert (engine.root / req.key / "work" / "o.txt").stat().st_uid == mapped_root
    assert status.image_digest
    assert status.image_digest.startswith("sha256:")


def test_an_unknown_image_fails_with_the_reason_under_slurm(engine: SlurmEngine) -> None:
    req = _request(gpus=1, run="echo never", image="suanli/no-such-image:1")
    engine.launch(req)
    status = _final(engine, req.key, timeout=TIMEOUT_S)
    assert status.state is RunState.FAILED
    assert status.reason is not None
    assert status.reason.code == "reason_image_failed"


def test_an_image_attempt_resumes_from_its_checkpoint_under_slurm(engine: SlurmEngine) -> None:
    """The job's checkpoint directory on the cluster's file system is bound at /checkpoint
    in every attempt's container; a spec's env cannot point it elsewhere."""
    job_id = new_job_id()

    def attempt(n: int) -> LaunchRequest:
        req = _request(
            gpus=1,
            run=TRAINING,
            image="suanli/debian:bookworm",
            checkpoint={"every_minutes": 30},
            env={CHECKPOINT_ENV: "/tmp"},
        )
        return LaunchRequest(engine_key(JobId(job_id), n), job_id, n, req.spec, req.placement)

    resumes_across_two_attempts(engine, attempt, CHECKPOINT_MOUNT)  # new Slurm jobs, containers
    where = engine.root.resolve() / CHECKPOINTS / job_id
    assert (where / "progress").read_text() == "started 1\nstarted 2\n"  # on the cluster
    drop_checkpoints([engine], job_id)
    assert not where.exists()

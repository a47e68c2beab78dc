"""A job that checkpoints keeps its work across attempts on a real Slurm cluster (the test
cluster of scripts/slurm-up.sh). Attempt 1 writes in ``SUANLI_CHECKPOINT_DIR`` and is stopped
with a grace; attempt 2 (a new Slurm job, a new run directory) reads what it left. With
``tenant_users``, another tenant's job can neither list, read nor write it. The directory
goes when the job ends for good."""

from __future__ import annotations

import os
import pwd
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from suanli.domain.clock import SystemClock
from suanli.domain.errors import EngineFailure
from suanli.domain.ids import JobId, engine_key, new_job_id
from suanli.domain.jobs import NodeAssignment, Placement
from suanli.engines.base import LaunchRequest, RunState
from suanli.engines.checkpoints import CHECKPOINT_ENV, drop_checkpoints
from suanli.engines.sandbox import account_name
from suanli.engines.slurm import SlurmEngine, SlurmOptions
from suanli.engines.slurm_checkpoints import CHECKPOINTS
from tests.builders import make_spec
from tests.checkpointing import TRAINING, final, log, stopped_after_up
from tests.slurm import SlurmCluster, slurm_cluster

PLACEMENT = Placement(
    "slurm-test", "h100", "H100", (NodeAssignment("h100-n0", (0,)),), Decimal("10")
)


@pytest.fixture(scope="module")
def cluster() -> SlurmCluster:
    return slurm_cluster()


@pytest.fixture
def engine(cluster: SlurmCluster, exchange: Path) -> Iterator[SlurmEngine]:
    """Tenants' jobs as their own users (needs root, as ``sbatch --uid`` does)."""
    if os.geteuid() != 0:
        pytest.skip("sbatch --uid needs root")
    runs = exchange / "runs"
    options = SlurmOptions(conf=cluster.conf, cache_s=0, run_dir=str(runs), tenant_users=True)
    eng = SlurmEngine(runs, SystemClock(), options)
    yield eng
    _stop_all(eng)


def _stop_all(engine: SlurmEngine) -> None:
    for key in engine.live_runs():
        if (engine.root / key).exists():  # this test's runs only
            engine.cancel(key)


def _request(
    job_id: str, attempt: int, run: str, tenant: str = "acme", **spec: object
) -> LaunchRequest:
    resources = {"accelerator": {"model": "H100", "count": 1}}
    checkpoint = {} if "checkpoint" in spec else {"checkpoint": {"every_minutes": 30}}
    made = make_spec(run=run, resources=resources, **checkpoint, **spec)
    key = engine_key(JobId(job_id), attempt)
    return LaunchRequest(key, job_id, attempt, made, PLACEMENT, tenant=tenant)


def test_a_preempted_attempt_leaves_its_checkpoint_to_the_next(engine: SlurmEngine) -> None:
    job_id = new_job_id()
    first = stopped_after_up(engine, _request(job_id, 1, TRAINING))
    where = engine.root.resolve() / CHECKPOINTS / job_id
    assert f"attempt=1 dir={where}" in first
    assert "found" not in first  # nothing to resume from yet
    # The second attempt's spec tries to point the directory elsewhere: it cannot.
    second = stopped_after_up(engine, _request(job_id, 2, TRAINING, env={CHECKPOINT_ENV: "/tmp"}))
    assert f"attempt=2 dir={where}" in second  # the same directory, a new Slurm job
    assert "found started 1" in second  # what attempt 1 wrote while it ran
    assert "found saved-on-stop" in second  # and what it saved in its grace
    assert (where / "progress").read_text() == "started 1\nstarted 2\n"
    stat = where.stat()
    assert (pwd.getpwuid(stat.st_uid).pw_name, stat.st_mode & 0o777) == (
        account_name("acme"),
        0o700,
    )
    assert where.parent.stat().st_mode & 0o777 == 0o711  # passable, not listable
    # The job ended for good: its checkpoints go (runs and their logs stay).
    drop_checkpoints([engine], job_id)
    assert not where.exists()
    assert "attempt=2" in log(engine, engine_key(JobId(job_id), 2))


def test_another_tenants_job_cannot_reach_a_checkpoint(engine: SlurmEngine) -> None:
    victim = new_job_id()
    stopped_after_up(engine, _request(victim, 1, TRAINING, tenant="victim"))
    where = engine.root.resolve() / CHECKPOINTS / victim
    assert (where / "progress").read_text() == "started 1\n"
    probe = (  # errors are dropped: they would name the path it was refused
        f'ls -a {where.parent} 2>/dev/null | sed "s/^/listed /"; '
        f'cat {where}/progress 2>/dev/null | sed "s/^/read /"; '
        f"(echo planted > {where}/planted) 2>/dev/null && echo WROTE || echo refused; "
        f"(ln -s /etc {where.parent}/{victim}-x) 2>/dev/null && echo LINKED || echo no-link"
    )
    request = _request(new_job_id(), 1, probe, tenant="mallory")
    engine.launch(request)
    assert final(engine, request.key).state is RunState.SUCCEEDED
    seen = log(engine, request.key)
    assert "started 1" not in seen  # not read
    assert victim not in seen  # not even listed
    assert "WROTE" not in seen
    assert "refused" in seen
    assert "LINKED" not in seen
    assert "no-link" in seen
    assert not (where / "planted").exists()
    drop_checkpoints([engine], victim)
    assert not where.exists()


def test_a_job_that_does_not_checkpoint_gets_no_directory(engine: SlurmEngine) -> None:
    job_id = new_job_id()
    run = f'echo "dir=${{{CHECKPOINT_ENV}:-none}}"'
    request = _request(job_id, 1, run, checkpoint=None)
    engine.launch(request)
    assert final(engine, request.key).state is RunState.SUCCEEDED
    assert "dir=none" in log(engine, request.key)
    assert not (engine.root / CHECKPOINTS / job_id).exists()


def test_a_configured_checkpoint_dir_holds_them(cluster: SlurmCluster, exchange: Path) -> None:
    """The cluster's ``checkpoint_dir`` (e.g. a bigger shared file system); a job runs as
    the submitting user here (no ``tenant_users``): 0700 keeps other users out, not another
    suanli job (the documented boundary)."""
    keep = exchange / "scratch" / "ckpt"
    options = SlurmOptions(conf=cluster.conf, cache_s=0, checkpoint_dir=str(keep))
    engine = SlurmEngine(exchange / "runs2", SystemClock(), options)
    try:
        job_id = new_job_id()
        first = stopped_after_up(engine, _request(job_id, 1, TRAINING))
        assert f"dir={keep.resolve() / job_id}" in first
        assert (keep / job_id / "on-stop").read_text() == "saved-on-stop\n"
        assert (keep / job_id).stat().st_mode & 0o777 == 0o700
        engine.drop_checkpoint(job_id)
        assert not (keep / job_id).exists()
    finally:
        _stop_all(engine)


@pytest.mark.parametrize("job_id", ["", "../x", ".checkpoints", "a/b", "-rf", "x\x00y"])
def test_a_job_id_that_is_not_a_plain_name_is_refused(tmp_path: Path, job_id: str) -> None:
    engine = SlurmEngine(tmp_path / "runs", SystemClock(), SlurmOptions())
    with pytest.raises(EngineFailure):
        engine.drop_checkpoint(job_id)
    assert (tmp_path / "runs").is_dir()


def test_a_relative_checkpoint_dir_is_refused_when_the_fleet_loads() -> None:
    with pytest.raises(EngineFailure, match="checkpoint_dir must be an absolute path"):
        SlurmOptions.parse({"checkpoint_dir": "ckpt"})
    assert SlurmOptions.parse({"checkpoint_dir": "/shared/ckpt"}).checkpoint_dir == "/shared/ckpt"

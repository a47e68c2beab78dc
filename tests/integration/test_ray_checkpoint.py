"""A job that checkpoints keeps its work across attempts on a real Ray head (its runtime env
names a directory on the cluster's configured storage): attempt 1 writes and is stopped with
a grace, attempt 2 reads what it left; the directory goes when the job ends for good (a Ray
job of ours removes it). Ray runs every job as one user: another tenant's job can reach the
directory, the documented boundary (ray_checkpoints, README)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from suanli.domain.clock import SystemClock
from suanli.domain.errors import EngineFailure
from suanli.domain.ids import new_job_id
from suanli.domain.jobs import NodeAssignment, Placement
from suanli.engines.base import LaunchRequest, RunState
from suanli.engines.checkpoints import CHECKPOINT_ENV, drop_checkpoints
from suanli.engines.ray import RayEngine
from suanli.engines.ray_checkpoints import DROP_PREFIX
from tests.builders import make_spec
from tests.checkpointing import TIMEOUT_S, TRAINING, final, log, stopped_after_up
from tests.conftest import wait_until
from tests.rayhead import require_ray, unique_key

pytestmark = pytest.mark.ray

LABEL = "suanli-test-ckpt-"  # unique_key("ckpt")


@pytest.fixture
def storage(exchange: Path) -> Path:
    return exchange / "ray-checkpoints"  # the cluster's storage: this host is its only node


@pytest.fixture
def engine(storage: Path) -> Iterator[RayEngine]:
    eng = RayEngine(require_ray(), SystemClock(), checkpoint_dir=str(storage))
    yield eng
    for key in eng.live_runs():
        if key.startswith(LABEL):  # this file's runs only
            eng.cancel(key)
    eng.close()


def _request(
    job_id: str, attempt: int, run: str, tenant: str = "acme", **spec: object
) -> LaunchRequest:
    resources = {"cpus": 1, "memory_gb": 0, "accelerator": {"model": "H100", "count": 1}}
    checkpoint = {} if "checkpoint" in spec else {"checkpoint": {"every_minutes": 30}}
    made = make_spec(run=run, resources=resources, **checkpoint, **spec)
    placement = Placement("ray-1", "h100", "H100", (NodeAssignment("n", ()),), Decimal("1"))
    request = LaunchRequest(unique_key("ckpt"), job_id, attempt, made, placement, tenant=tenant)
    return dataclasses.replace(request, stop_grace_s=30)


def test_a_preempted_attempt_leaves_its_checkpoint_to_the_next(
    engine: RayEngine, storage: Path
) -> None:
    job_id = new_job_id()
    where = storage / job_id
    first = stopped_after_up(engine, _request(job_id, 1, TRAINING))
    assert f"attempt=1 dir={where}" in first
    assert "found" not in first
    assert where.stat().st_mode & 0o777 == 0o700
    # The second attempt's spec tries to point the directory elsewhere: it cannot.
    second = stopped_after_up(engine, _request(job_id, 2, TRAINING, env={CHECKPOINT_ENV: "/tmp"}))
    assert f"attempt=2 dir={where}" in second
    assert "found started 1" in second
    assert "found saved-on-stop" in second
    assert (where / "progress").read_text() == "started 1\nstarted 2\n"
    # The job ended for good: a Ray job of ours removes the directory (asking twice is fine).
    drop_checkpoints([engine], job_id)
    drop_checkpoints([engine], job_id)
    wait_until(lambda: not where.exists(), timeout=TIMEOUT_S)
    assert final(engine, f"{DROP_PREFIX}{job_id}").state is RunState.SUCCEEDED
    assert f"{DROP_PREFIX}{job_id}" not in engine.live_runs()


def test_ray_gives_no_isolation_between_tenants_the_documented_boundary(
    engine: RayEngine, storage: Path
) -> None:
    victim = new_job_id()
    stopped_after_up(engine, _request(victim, 1, TRAINING, tenant="victim"))
    probe = f'cat {storage / victim}/progress | sed "s/^/read /"'
    request = _request(new_job_id(), 1, probe, tenant="mallory", checkpoint=None)
    engine.launch(request)
    assert final(engine, request.key).state is RunState.SUCCEEDED
    # Every Ray job runs as the workers' one user: another tenant's job that names the path
    # reads it. This is the boundary ray_checkpoints and the README state; a tenant who
    # needs more gets a cluster of its own, or Slurm/local with tenant users.
    assert "read started 1" in log(engine, request.key)
    drop_checkpoints([engine], victim)
    wait_until(lambda: not (storage / victim).exists(), timeout=TIMEOUT_S)


def test_no_directory_without_a_checkpoint_or_a_configured_root(engine: RayEngine) -> None:
    plain = _request(new_job_id(), 1, "echo plain", checkpoint=None)
    assert CHECKPOINT_ENV not in engine.submission(plain)["runtime_env"]["env_vars"]
    unconfigured = RayEngine("http://127.0.0.1:9", SystemClock())
    resumes = _request(new_job_id(), 1, "echo hi")
    assert CHECKPOINT_ENV not in unconfigured.submission(resumes)["runtime_env"]["env_vars"]
    unconfigured.drop_checkpoint("j-any")  # keeps none: nothing to ask Ray
    unconfigured.close()


@pytest.mark.parametrize("root", ["ckpt", "/", "//"])
def test_a_checkpoint_root_must_be_an_absolute_path_below_the_root(root: str) -> None:
    with pytest.raises(EngineFailure, match="checkpoint_dir must be an absolute path"):
        RayEngine("http://127.0.0.1:9", SystemClock(), checkpoint_dir=root)


@pytest.mark.parametrize("job_id", ["", "../x", ".checkpoints", "a/b", "-rf", "x y"])
def test_a_job_id_that_is_not_a_plain_name_is_refused(job_id: str) -> None:
    engine = RayEngine("http://127.0.0.1:9", SystemClock(), checkpoint_dir="/shared/ckpt")
    with pytest.raises(EngineFailure):
        engine.drop_checkpoint(job_id)
    engine.close()


def test_a_gang_gets_the_directory_on_every_rank_and_makes_it_first() -> None:
    engine = RayEngine("http://127.0.0.1:9", SystemClock(), checkpoint_dir="/shared/ckpt")
    job_id = new_job_id()
    request = _request(job_id, 1, "echo hi", env={CHECKPOINT_ENV: "/etc"})
    nodes = tuple(NodeAssignment(f"n{i}", ()) for i in range(2))
    spec = request.spec.model_copy(
        update={"resources": request.spec.resources.model_copy(update={"nodes": 2})}
    )
    gang = dataclasses.replace(
        request, spec=spec, placement=dataclasses.replace(request.placement, nodes=nodes)
    )
    body = engine.submission(gang)
    ranks_env = json.loads(body["runtime_env"]["env_vars"]["SUANLI_RAY_GANG"])["env"]
    assert ranks_env[CHECKPOINT_ENV] == f"/shared/ckpt/{job_id}"  # not the spec's /etc
    assert body["entrypoint"].startswith(f"umask 077; mkdir -p -- /shared/ckpt/{job_id} && ")
    one = engine.submission(request)
    assert one["runtime_env"]["env_vars"][CHECKPOINT_ENV] == f"/shared/ckpt/{job_id}"
    plain = _request(job_id, 1, "echo hi")
    image = dataclasses.replace(plain, spec=plain.spec.model_copy(update={"image": "x:1"}))
    assert CHECKPOINT_ENV not in engine.submission(image)["runtime_env"]["env_vars"]
    engine.close()

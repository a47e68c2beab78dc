"""A job in an image that checkpoints keeps its work across attempts on the local engine:
real podman, the platform's registry. The job's host directory is bound at ``/checkpoint``
(``SUANLI_CHECKPOINT_DIR``) in every attempt's container; attempt 1 writes there and is
stopped with a grace, attempt 2 (a new container, a new work dir) reads what it left.

Needs podman and a registry holding the base image (scripts/registry-up.sh,
scripts/images-build.sh; scripts/test starts both and sets SUANLI_REGISTRY).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from suanli.domain.clock import SystemClock
from suanli.domain.ids import JobId, engine_key
from suanli.domain.jobs import NodeAssignment, Placement
from suanli.engines.base import LaunchRequest, RunState
from suanli.engines.checkpoints import CHECKPOINT_ENV, CHECKPOINT_MOUNT, drop_checkpoints
from suanli.engines.local import CHECKPOINTS, LocalEngine
from suanli.engines.sandbox import tenant_account
from tests.builders import make_spec
from tests.checkpointing import TRAINING, final, log, resumes_across_two_attempts

REGISTRY = os.environ.get("SUANLI_REGISTRY", "")
BASE = "suanli/debian:bookworm"
PLACEMENT = Placement("c", "cpu", None, (NodeAssignment("n0", ()),), Decimal("0"))

pytestmark = pytest.mark.skipif(
    # CI (scripts/test) always has both: there a missing one fails instead
    (not REGISTRY or shutil.which("podman") is None) and not os.environ.get("CI"),
    reason="needs podman and SUANLI_REGISTRY (scripts/registry-up.sh, scripts/images-build.sh)",
)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[LocalEngine]:
    eng = LocalEngine(tmp_path / "runs", SystemClock(), registry=REGISTRY)
    yield eng
    for run in eng.live_runs():
        eng.cancel(run, grace_s=0)
        final(eng, run)
    for run_dir in (tmp_path / "runs").iterdir():  # what a failing test left behind
        subprocess.run(
            ["podman", "rm", "-f", "--ignore", run_dir.name], capture_output=True, check=False
        )


def _request(
    job_id: str, attempt: int, run: str, every: float | None = 30, **spec: object
) -> LaunchRequest:
    checkpoint = {"checkpoint": {"every_minutes": every}} if every != 0 else {}
    made = make_spec(
        run=run, image=BASE, resources={"cpus": 1, "memory_gb": 1}, **checkpoint, **spec
    )
    key = engine_key(JobId(job_id), attempt)
    return LaunchRequest(key, job_id, attempt, made, PLACEMENT, tenant="acme")


def test_an_image_attempt_resumes_from_what_the_last_one_saved(engine: LocalEngine) -> None:
    resumes_across_two_attempts(
        engine, lambda n: _request("j-imgresume", n, TRAINING), CHECKPOINT_MOUNT
    )
    where = engine.root.resolve() / CHECKPOINTS / "j-imgresume"
    assert (where / "progress").read_text() == "started 1\nstarted 2\n"  # kept on the host
    account = tenant_account("acme") if engine.isolation.users else None
    if account is not None:  # the tenant's own user owns it, never the server's
        assert where.stat().st_uid == account.uid
    assert where.stat().st_mode & 0o007 == 0  # nobody else's
    # The job ended for good: its checkpoints go.
    drop_checkpoints([engine], "j-imgresume")
    assert not where.exists()


def test_the_job_env_cannot_point_the_directory_elsewhere(engine: LocalEngine) -> None:
    request = _request(
        "j-imgenv", 1, f'echo "dir=${CHECKPOINT_ENV}"', env={CHECKPOINT_ENV: "/etc"}
    )
    engine.launch(request)
    assert final(engine, request.key).state is RunState.SUCCEEDED
    assert f"dir={CHECKPOINT_MOUNT}" in log(engine, request.key)


def test_an_image_job_that_does_not_checkpoint_gets_no_directory(engine: LocalEngine) -> None:
    run = f'echo "dir=${{{CHECKPOINT_ENV}:-none}}"; ls -d {CHECKPOINT_MOUNT} || echo absent'
    request = _request("j-imgplain", 1, run, every=0)
    engine.launch(request)
    assert final(engine, request.key).state is RunState.SUCCEEDED
    seen = log(engine, request.key)
    assert "dir=none" in seen
    assert "absent" in seen
    assert not (engine.root / CHECKPOINTS / "j-imgplain").exists()

"""A job that checkpoints keeps its work across attempts on the local engine: real runner
processes, the real sandbox. Attempt 1 writes in ``SUANLI_CHECKPOINT_DIR`` and is stopped
with a grace; attempt 2 (a new run, a new work dir) reads what it left. Another tenant's job
sees none of it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from suanli.domain.clock import SystemClock
from suanli.domain.errors import EngineFailure
from suanli.domain.ids import JobId, engine_key
from suanli.domain.jobs import NodeAssignment, Placement
from suanli.engines.base import LaunchRequest, RunState, RunStatus
from suanli.engines.checkpoints import CHECKPOINT_ENV, drop_checkpoints
from suanli.engines.local import CHECKPOINTS, LocalEngine
from suanli.engines.sandbox import tenant_account
from suanli.schemas.specfile import parse_spec_text
from tests.builders import make_spec
from tests.conftest import wait_until

TIMEOUT_S = 60.0  # generous: only a failing test waits this long
PLACEMENT = Placement("c", "cpu", None, (NodeAssignment("n0", ()),), Decimal("0"))
# Saves its attempt number at start and a marker on SIGTERM; prints what earlier attempts left.
TRAINING = (
    'echo "attempt=$SUANLI_ATTEMPT dir=${SUANLI_CHECKPOINT_DIR:-none}"; '
    'cat "$SUANLI_CHECKPOINT_DIR"/* 2>/dev/null | sed "s/^/found /"; '
    'echo "started $SUANLI_ATTEMPT" >> "$SUANLI_CHECKPOINT_DIR/progress"; '
    "trap 'echo saved-on-stop > \"$SUANLI_CHECKPOINT_DIR/on-stop\"; exit 0' TERM; "
    "echo up; while true; do sleep 0.1; done"
)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[LocalEngine]:
    eng = LocalEngine(tmp_path / "runs", SystemClock())
    yield eng
    for run in eng.live_runs():
        eng.cancel(run, grace_s=0)
        _final(eng, run)


def _request(
    job_id: str, attempt: int, run: str, tenant: str = "acme", every: float | None = 30
) -> LaunchRequest:
    checkpoint = {"checkpoint": {"every_minutes": every}} if every != 0 else {}
    spec = make_spec(run=run, resources={"cpus": 1, "memory_gb": 1}, **checkpoint)
    key = engine_key(JobId(job_id), attempt)
    return LaunchRequest(key, job_id, attempt, spec, PLACEMENT, tenant=tenant)


def _final(engine: LocalEngine, key: str) -> RunStatus:
    def probe() -> RunStatus | None:
        status = engine.status(key)
        return status if status.state.is_final else None

    return wait_until(probe, timeout=TIMEOUT_S)


def _log(engine: LocalEngine, key: str) -> str:
    return engine.read_log(key, 0).data.decode()


def _stopped_after_up(engine: LocalEngine, request: LaunchRequest) -> str:
    engine.launch(request)
    wait_until(lambda: "up" in _log(engine, request.key), timeout=TIMEOUT_S)
    engine.cancel(request.key, grace_s=10)  # a preemption: SIGTERM, then the grace
    assert _final(engine, request.key).state is RunState.CANCELLED
    return _log(engine, request.key)


def test_a_preempted_attempt_leaves_its_checkpoint_to_the_next(engine: LocalEngine) -> None:
    first = _stopped_after_up(engine, _request("j-resume", 1, TRAINING))
    where = engine.root.resolve() / CHECKPOINTS / "j-resume"
    assert f"attempt=1 dir={where}" in first
    assert "found" not in first  # nothing to resume from yet
    second = _stopped_after_up(engine, _request("j-resume", 2, TRAINING))
    assert f"attempt=2 dir={where}" in second  # the same directory, a new attempt
    assert "found started 1" in second  # what attempt 1 wrote while it ran
    assert "found saved-on-stop" in second  # and what it saved in its grace
    assert (where / "progress").read_text() == "started 1\nstarted 2\n"
    assert engine.root.joinpath(engine_key(JobId("j-resume"), 2), "work").is_dir()
    # The job ended for good: its checkpoints go (runs and their logs stay).
    drop_checkpoints([engine], "j-resume")
    assert not where.exists()
    assert "attempt=2" in _log(engine, engine_key(JobId("j-resume"), 2))


def test_a_job_that_does_not_checkpoint_gets_no_directory(engine: LocalEngine) -> None:
    request = _request("j-plain", 1, f'echo "dir=${{{CHECKPOINT_ENV}:-none}}"', every=0)
    engine.launch(request)
    assert _final(engine, request.key).state is RunState.SUCCEEDED
    assert "dir=none" in _log(engine, request.key)
    assert not (engine.root / CHECKPOINTS / "j-plain").exists()


def test_the_job_env_cannot_point_the_directory_elsewhere(engine: LocalEngine) -> None:
    run = f'echo "dir=${CHECKPOINT_ENV}"'
    spec = make_spec(
        run=run,
        resources={"cpus": 1, "memory_gb": 1},
        checkpoint={},
        env={CHECKPOINT_ENV: "/etc"},
    )
    key = engine_key(JobId("j-env"), 1)
    engine.launch(LaunchRequest(key, "j-env", 1, spec, PLACEMENT, tenant="acme"))
    assert _final(engine, key).state is RunState.SUCCEEDED
    assert f"dir={engine.root.resolve() / CHECKPOINTS / 'j-env'}" in _log(engine, key)


def test_another_tenants_job_cannot_reach_a_checkpoint(engine: LocalEngine) -> None:
    _stopped_after_up(engine, _request("j-victim", 1, TRAINING, tenant="victim"))
    where = engine.root.resolve() / CHECKPOINTS / "j-victim"
    assert (where / "progress").read_text() == "started 1\n"
    assert where.stat().st_mode & 0o777 == 0o700
    account = tenant_account("victim") if engine.isolation.users else None
    if account is not None:  # the tenant's own user owns it, never the server's
        assert where.stat().st_uid == account.uid
    probe = (  # errors are dropped: they would name the path it was refused
        'ls -a "$(dirname "$SUANLI_CHECKPOINT_DIR")" 2>/dev/null | sed "s/^/listed /"; '
        f'cat {where}/progress 2>/dev/null | sed "s/^/read /"; '
        f"(echo planted > {where}/planted) 2>/dev/null && echo WROTE || echo refused; "
        f'ls -a {engine.root.resolve()} {where} 2>/dev/null | sed "s/^/root /"'
    )
    request = _request("j-mallory", 1, probe, tenant="mallory")
    engine.launch(request)
    assert _final(engine, request.key).state is RunState.SUCCEEDED
    seen = _log(engine, request.key)
    assert "started 1" not in seen  # not read
    assert "j-victim" not in seen  # not even listed
    assert "WROTE" not in seen
    assert "refused" in seen
    assert not (where / "planted").exists()


@pytest.mark.parametrize("job_id", ["", "../x", ".checkpoints", "a/b"])
def test_a_job_id_that_is_not_a_plain_name_is_refused(engine: LocalEngine, job_id: str) -> None:
    with pytest.raises(EngineFailure):
        engine.drop_checkpoint(job_id)
    assert os.path.isdir(engine.root)


def test_the_resume_example_goes_on_from_its_saved_step(engine: LocalEngine) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "resume.yaml"
    spec = parse_spec_text(example.read_text(), "resume.yaml")
    spec = spec.model_copy(update={"resources": make_spec(resources={"cpus": 1}).resources})
    first = LaunchRequest(engine_key(JobId("j-example"), 1), "j-example", 1, spec, PLACEMENT)
    engine.launch(first)
    wait_until((engine.root / CHECKPOINTS / "j-example" / "step").exists, timeout=60)
    engine.cancel(first.key, grace_s=10)
    assert _final(engine, first.key).state is RunState.CANCELLED
    saved = int(_log(engine, first.key).split("saved step ")[1].split()[0])
    assert 1 <= saved < 20
    second = LaunchRequest(engine_key(JobId("j-example"), 2), "j-example", 2, spec, PLACEMENT)
    engine.launch(second)
    assert _final(engine, second.key).state is RunState.SUCCEEDED
    log = _log(engine, second.key)
    assert f"attempt 2 starts at step {saved}" in log
    assert "done at step 20" in log

"""What the checkpoint tests of the cluster engines (Slurm, Ray) share: a job that saves in
``SUANLI_CHECKPOINT_DIR`` and on SIGTERM, and a preemption of it with a grace."""

from __future__ import annotations

from collections.abc import Callable

from suanli.engines.base import EngineAdapter, LaunchRequest, RunStatus
from tests.conftest import wait_until

TIMEOUT_S = 90.0  # generous: only a failing test waits this long
# Saves its attempt number at start and a marker on SIGTERM; prints what earlier attempts left.
TRAINING = (
    'echo "attempt=$SUANLI_ATTEMPT dir=${SUANLI_CHECKPOINT_DIR:-none}"; '
    'cat "$SUANLI_CHECKPOINT_DIR"/* 2>/dev/null | sed "s/^/found /"; '
    'echo "started $SUANLI_ATTEMPT" >> "$SUANLI_CHECKPOINT_DIR/progress"; '
    "trap 'echo saved-on-stop > \"$SUANLI_CHECKPOINT_DIR/on-stop\"; echo saved; exit 0' TERM; "
    "echo up; while true; do sleep 0.1; done"
)


def final(engine: EngineAdapter, key: str) -> RunStatus:
    def probe() -> RunStatus | None:
        status = engine.status(key)
        return status if status.state.is_final else None

    return wait_until(probe, timeout=TIMEOUT_S, every=0.2)


def log(engine: EngineAdapter, key: str) -> str:
    return engine.read_log(key, 0).data.decode()


def stopped_after_up(engine: EngineAdapter, request: LaunchRequest) -> str:
    """Launch, wait until it runs, stop it as a preemption does (SIGTERM, 30 s of grace);
    its log, which says it saved."""
    engine.launch(request)
    wait_until(lambda: "up" in log(engine, request.key).split(), timeout=TIMEOUT_S)
    engine.cancel(request.key, grace_s=30)
    final(engine, request.key)
    seen = log(engine, request.key)
    assert "saved" in seen.split(), seen
    return seen


def resumes_across_two_attempts(
    engine: EngineAdapter, attempt: Callable[[int], LaunchRequest], shown: str
) -> None:
    """Attempt 1 of a ``TRAINING`` job is stopped as a preemption stops it; attempt 2 sees the
    same directory (``shown`` in ``SUANLI_CHECKPOINT_DIR``) and finds what attempt 1 wrote
    while it ran and in its grace."""
    first = stopped_after_up(engine, attempt(1))
    assert f"attempt=1 dir={shown}" in first
    assert "found" not in first  # nothing to resume from yet
    second = stopped_after_up(engine, attempt(2))
    assert f"attempt=2 dir={shown}" in second  # the same directory, a new run
    assert "found started 1" in second  # what attempt 1 wrote while it ran
    assert "found saved-on-stop" in second  # and what it saved in its grace

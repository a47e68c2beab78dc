"""Ray's job info mapped onto run states: the cases a single-machine Ray cannot stage."""

from __future__ import annotations

from typing import Any

import pytest

from suanli.engines.base import RunState
from suanli.engines.ray import run_status

T0 = 1_795_438_545_000  # ms


def _info(status: str, **fields: Any) -> dict[str, Any]:
    return {
        "status": status,
        "start_time": T0,
        "end_time": T0 + 5_000,
        "metadata": {"suanli_time_limit_s": "4"},
        **fields,
    }


CASES = {
    "pending waits": (_info("PENDING", end_time=None), RunState.PENDING, None, None),
    "running": (_info("RUNNING", end_time=None), RunState.RUNNING, None, None),
    "succeeded": (_info("SUCCEEDED", driver_exit_code=0), RunState.SUCCEEDED, 0, None),
    "stopped is cancelled": (_info("STOPPED"), RunState.CANCELLED, None, None),
    "the job's own failure keeps its exit code and no reason (retry 'failed' applies)": (
        _info("FAILED", error_type="JOB_ENTRYPOINT_COMMAND_ERROR", driver_exit_code=3),
        RunState.FAILED,
        3,
        None,
    ),
    "exit 124 after the whole limit is the hard time limit": (
        _info("FAILED", error_type="JOB_ENTRYPOINT_COMMAND_ERROR", driver_exit_code=124),
        RunState.FAILED,
        124,
        "reason_time_limit",
    ),
    "exit 124 before the limit is the job's own exit code": (
        _info(
            "FAILED",
            error_type="JOB_ENTRYPOINT_COMMAND_ERROR",
            driver_exit_code=124,
            end_time=T0 + 1_000,
        ),
        RunState.FAILED,
        124,
        None,
    ),
    "resources never free in time: the engine refused the run": (
        _info(
            "FAILED",
            error_type="JOB_SUPERVISOR_ACTOR_START_TIMEOUT",
            message="Job supervisor actor failed to start within 60.0 seconds.",
        ),
        RunState.FAILED,
        None,
        "reason_dispatch_failed",
    ),
    "runtime env failed: refused": (
        _info("FAILED", error_type="RUNTIME_ENV_SETUP_FAILURE", message="pip failed"),
        RunState.FAILED,
        None,
        "reason_dispatch_failed",
    ),
    "supervisor died with its node: lost (retry 'lost' applies)": (
        _info(
            "FAILED",
            error_type="JOB_SUPERVISOR_ACTOR_DIED",
            message="Traceback ...\nThe actor died because its node has died.",
        ),
        RunState.LOST,
        None,
        "reason_lost",
    ),
    "a status this suanli does not know: lost": (
        _info("EXPLODED"),
        RunState.LOST,
        None,
        "reason_lost",
    ),
}


@pytest.mark.parametrize(
    ("info", "want_state", "want_exit", "want_reason"), CASES.values(), ids=CASES.keys()
)
def test_ray_job_info_maps_to_run_status(
    info: dict[str, Any], want_state: RunState, want_exit: int | None, want_reason: str | None
) -> None:
    status = run_status(info)

    assert status.state is want_state
    assert status.exit_code == want_exit
    assert (status.reason.code if status.reason else None) == want_reason


def test_a_lost_run_says_why_in_rays_words() -> None:
    info = _info(
        "FAILED",
        error_type="JOB_SUPERVISOR_ACTOR_DIED",
        message="Traceback ...\nThe actor died because its node has died.",
    )

    status = run_status(info)

    assert status.reason is not None
    assert status.reason.params == {"detail": "The actor died because its node has died."}


def test_a_finished_run_carries_rays_times_and_a_running_one_none() -> None:
    done = run_status(_info("SUCCEEDED", driver_exit_code=0))
    running = run_status(_info("RUNNING", end_time=None))

    assert done.started_at is not None
    assert done.finished_at is not None
    assert (done.finished_at - done.started_at).total_seconds() == 5
    # Ray's start time includes the wait for resources: the reconciler stamps the start.
    assert running.started_at is None

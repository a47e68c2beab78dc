"""The control loop on memory stores, simulated engines and a fixed clock: no processes.

Submission to bill in simulated time: what the service layer does is checked here without
waiting for real runs (real engines keep their own tests, tests/integration).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from suanli.billing.ledger import tenant_cash
from suanli.domain.clock import FixedClock
from suanli.domain.jobs import JobStatus
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform
from suanli.service.jobs import cancel_job, get_job, job_history, read_logs, submit_job
from suanli.store.stores import MEMORY_URL
from suanli.workers.control_loop import tick
from tests.builders import make_spec

S = JobStatus
T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def simulated(tmp_path: Path) -> tuple[Platform, FixedClock]:
    clock = FixedClock(T0)
    p = open_platform(
        tmp_path / "data",
        clock=clock,
        database_url=MEMORY_URL,
        detect_gpus=False,
        simulated_engines=True,
    )
    return p, clock


def run_for(p: Platform, clock: FixedClock, seconds: float, step: float = 1.0) -> None:
    for _ in range(round(seconds / step)):
        tick(p)
        clock.advance(step)
    tick(p)


def test_a_job_runs_its_simulated_time_and_is_billed_for_it(tmp_path: Path) -> None:
    p, clock = simulated(tmp_path)
    job = submit_job(p, make_spec(env={"SUANLI_SIM_RUN_S": "3600"}))
    run_for(p, clock, 10)
    running = get_job(p, job.id)
    assert running.status is S.RUNNING
    run_for(p, clock, 3600, step=60)
    done = get_job(p, job.id)
    assert done.status is S.SUCCEEDED
    assert done.started_at is not None
    assert done.finished_at is not None
    assert done.finished_at - done.started_at == dt.timedelta(hours=1)
    codes = [e.reason.code for e in job_history(p, job.id)]
    assert codes[-1] == "reason_exit_ok"
    assert b"started" in read_logs(p, job.id).data
    assert p.billing is not None
    (line,) = p.billing.store.settlements()
    assert line.line.usage.job_id == job.id
    assert line.deduction.gross > 0
    assert p.billing.ledger.balance(tenant_cash(job.tenant)) == -line.deduction.net
    assert p.billing.ledger.verify().ok


def test_a_failing_run_is_retried_and_a_cancel_stops_it(tmp_path: Path) -> None:
    p, clock = simulated(tmp_path)
    failing = submit_job(p, make_spec(env={"SUANLI_SIM_RUN_S": "5", "SUANLI_SIM_EXIT_CODE": "2"}))
    run_for(p, clock, 120)
    done = get_job(p, failing.id)
    assert done.status is S.FAILED
    assert done.exit_code == 2
    long = submit_job(p, make_spec(env={"SUANLI_SIM_RUN_S": "86000"}))
    run_for(p, clock, 10)
    cancel_job(p, long.id)
    run_for(p, clock, 30)
    assert get_job(p, long.id).status is S.CANCELLED

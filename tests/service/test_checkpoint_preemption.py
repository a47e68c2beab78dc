"""Checkpoint-aware preemption through the live cycle (memory stores, simulated engines,
the server's own tick): a job that checkpoints is preempted for a better-ranked one and
resumes its kept work; one that does not is never stopped for a rank (it would start
again from zero); every attempt is billed, the work lost since the last checkpoint too."""

from __future__ import annotations

from suanli.domain.jobs import Job, JobStatus
from suanli.domain.spec import Checkpoint
from suanli.domain.tenants import TenantTerms
from suanli.scheduler.queueing import QueueSettings
from suanli.sim.live import EPOCH, LiveReplay
from suanli.sim.live_report import FAR
from suanli.sim.traces import TraceJob
from tests.builders import make_fleet, make_pool

FLEET = make_fleet(("c", "beijing", [make_pool("a100", "A100", nodes=1, per_node=1)]))
TERMS = {"acme": TenantTerms("acme")}
LONG_S = 36_000.0
# A long job holds the only accelerator; a short one arrives behind it.
JOBS = [TraceJob("long", "acme", 0.0, 1, LONG_S), TraceJob("short", "acme", 60.0, 1, 600.0)]


def _replay(checkpoint: Checkpoint | None) -> LiveReplay:
    return LiveReplay(
        FLEET, TERMS, QueueSettings(policy="las-plain"), tick_s=60, checkpoint=checkpoint
    )


def _attempt_seconds(replay: LiveReplay) -> dict[str, list[float]]:
    store = replay.platform.billing.store  # type: ignore[union-attr]
    out: dict[str, list[float]] = {}
    for u in sorted(store.usage_between(EPOCH, EPOCH + FAR), key=lambda u: u.attempt):
        out.setdefault(u.job_id, []).append((u.ended_at - u.started_at).total_seconds())
    return out


def test_a_job_that_checkpoints_is_preempted_and_resumes_its_kept_work() -> None:
    replay = _replay(Checkpoint(every_minutes=10))
    report = replay.run(JOBS)
    assert (report.finished, report.preemptions) == (2, 1)
    done = replay.platform.jobs.list([JobStatus.SUCCEEDED], limit=10)
    assert all(j.spec.resumes for j in done)
    by_id: dict[str, Job] = {j.id: j for j in done}
    attempts = _attempt_seconds(replay)
    long_id = next(i for i, runs in attempts.items() if len(runs) == 2)
    first, second = attempts[long_id]
    kept = (first // 600) * 600  # its checkpoints every 10 minutes
    assert kept >= 600
    # The second attempt ran only what the first did not keep; both are billed.
    assert second == LONG_S - kept
    assert sum(attempts[long_id]) == LONG_S + (first - kept)
    assert by_id[long_id].attempt == 2


def test_a_job_that_does_not_checkpoint_is_not_stopped_for_a_rank() -> None:
    report = _replay(None).run(JOBS)
    assert (report.finished, report.preemptions) == (2, 0)
    # The short job waits for the long one (no work thrown away), as under FIFO.
    fifo = LiveReplay(FLEET, TERMS, QueueSettings(policy="fifo"), tick_s=60).run(JOBS)
    assert report.avg_jct_s == fifo.avg_jct_s


def test_resuming_beats_waiting_and_restarting() -> None:
    resumed = _replay(Checkpoint(every_minutes=10)).run(JOBS)
    waited = _replay(None).run(JOBS)
    assert resumed.avg_jct_s < waited.avg_jct_s

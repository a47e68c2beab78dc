"""The live cycle ranks with the queue policy its settings name (``queue: {policy: ...}``)."""

from __future__ import annotations

from suanli.domain.spec import Checkpoint
from suanli.domain.tenants import TenantTerms
from suanli.scheduler.queueing import QueueSettings
from suanli.sim.live import LiveReplay
from suanli.sim.traces import TraceJob
from tests.builders import make_fleet, make_pool

FLEET = make_fleet(("c", "beijing", [make_pool("a100", "A100", nodes=1, per_node=1)]))
TERMS = {"acme": TenantTerms("acme")}
# A long job holds the only accelerator; a short one arrives behind it.
JOBS = [TraceJob("long", "acme", 0.0, 1, 36_000.0), TraceJob("short", "acme", 60.0, 1, 600.0)]


def test_fifo_lets_the_first_job_finish_and_plain_las_preempts_it_for_the_newcomer() -> None:
    fifo = LiveReplay(FLEET, TERMS, QueueSettings(policy="fifo"), tick_s=60).run(JOBS)
    las = LiveReplay(  # jobs that checkpoint: LAS may stop them for a rank
        FLEET, TERMS, QueueSettings(policy="las-plain"), tick_s=60, checkpoint=Checkpoint()
    ).run(JOBS)
    assert (fifo.finished, las.finished) == (2, 2)
    assert fifo.preemptions == 0
    assert las.preemptions >= 1  # the long job gave the accelerator back (after min_run_s)
    # FIFO: the short job waits the whole 10 h; plain LAS starts it ~10 min after arrival.
    assert las.avg_jct_s < fifo.avg_jct_s

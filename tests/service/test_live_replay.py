"""The live cycle's replay: trace jobs through the server's own tick on simulated engines."""

from __future__ import annotations

from decimal import Decimal

from suanli.domain.tenants import TenantTerms
from suanli.scheduler.queueing import QueueSettings
from suanli.sim.live import LiveReplay
from suanli.sim.traces import TraceJob
from tests.builders import make_fleet, make_pool

FLEET = make_fleet(
    ("c", "beijing", [make_pool("a100", "A100", nodes=1, per_node=2, price="10.00")])
)


def test_jobs_wait_for_room_run_their_trace_time_and_are_billed_per_attempt() -> None:
    jobs = [
        TraceJob("t1", "acme", 0.0, 1, 3600.0),
        TraceJob("t2", "acme", 10.0, 1, 7200.0),
        TraceJob("t3", "acme", 20.0, 2, 1800.0),  # needs both: waits for t1 and t2
    ]
    terms = {"acme": TenantTerms("acme")}
    report = LiveReplay(FLEET, terms, QueueSettings(), tick_s=60).run(jobs)
    assert (report.jobs, report.finished, report.rejected) == (3, 3, 0)
    # t1 and t2 start at once (ticks land on arrivals); t3 starts when t2 ends at 7,210 s.
    assert report.makespan_s >= 7210 + 1800
    assert report.makespan_s <= 7210 + 1800 + 60
    # 1 h + 2 h + 2 x 0.5 h of A100 at 10.00 per accelerator-hour.
    assert Decimal(report.billed_yuan) == Decimal("40.00")

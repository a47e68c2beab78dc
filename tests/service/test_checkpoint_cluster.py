"""Where a resumable job's checkpoint is, through the live cycle (memory stores, simulated
engines, the server's own tick): its attempt's start records the cluster, and the next
attempt's placement says in its history that it resumes there."""

from __future__ import annotations

from suanli.domain.i18n import render
from suanli.domain.jobs import JobStatus
from suanli.domain.spec import Checkpoint
from suanli.domain.tenants import TenantTerms
from suanli.scheduler.queueing import QueueSettings
from suanli.sim.live import LiveReplay
from suanli.sim.traces import TraceJob
from tests.builders import make_fleet, make_pool

FLEET = make_fleet(("c", "beijing", [make_pool("a100", "A100", nodes=1, per_node=1)]))
TERMS = {"acme": TenantTerms("acme")}
# A long job holds the only accelerator; a short one arrives behind it and preempts it.
JOBS = [TraceJob("long", "acme", 0.0, 1, 36_000.0), TraceJob("short", "acme", 60.0, 1, 600.0)]


def test_a_resumed_attempt_is_placed_where_its_checkpoint_is_and_says_so() -> None:
    replay = LiveReplay(
        FLEET,
        TERMS,
        QueueSettings(policy="las-plain"),
        tick_s=60,
        checkpoint=Checkpoint(every_minutes=10),
    )
    report = replay.run(JOBS)
    assert (report.finished, report.preemptions) == (2, 1)
    jobs = replay.platform.jobs
    done = jobs.list([JobStatus.SUCCEEDED], limit=10)
    long = next(j for j in done if j.attempt == 2)
    short = next(j for j in done if j.attempt == 1)
    assert long.checkpoint_cluster == "c"  # its attempts ran on "c": its engine holds it
    notes = [
        e.reason for e in jobs.events(long.id) if e.reason.code.startswith("reason_checkpoint")
    ]
    assert [(r.code, r.params) for r in notes] == [("reason_checkpoint_resumed", {"cluster": "c"})]
    assert render(notes[0].code, "en", **notes[0].params) == "resumes from its checkpoint on c"
    assert not [e for e in jobs.events(short.id) if e.reason.code.startswith("reason_checkpoint")]

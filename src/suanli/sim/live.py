"""Trace replay through the live control loop: the server's own tick, nothing re-implemented.

Each trace job is submitted as the server submits one (``service.jobs.submit_job``: the
spec checked, the quota checked, stored PENDING) into memory stores; every tick is the
control loop's (``workers.control_loop.tick``: cluster health, ``run_scheduling_cycle``
with admission, fair queueing, placement, reservations and preemption, dispatch to the
engines, reconciliation, metering and billing per attempt). The engines are simulated
(``engines.simulated``): a run takes the trace's time on the simulated clock.

Event-driven: the clock moves to the next arrival, the next end of a run or the next stop
a preemption asked for, and at least every ``tick_s`` simulated seconds (the fair queue's
levels and aging change with time alone), and 0.5 s after a tick at which a run ended
while jobs wait (the server's interval: that tick's scheduling ran before its reconcile
freed the accelerators). The server ticks every 0.5 s of real time; the replay ticks where
something can change and at ``tick_s`` otherwise: what it skips are ticks in which nothing
arrives, ends or stops, i.e. only ticks where a decision could change by the passing of
time alone (that is what ``tick_s`` bounds).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import itertools
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from suanli.domain.clock import FixedClock
from suanli.domain.errors import SuanliError
from suanli.domain.fleet import Fleet
from suanli.domain.ids import JobId
from suanli.domain.jobs import JobStatus
from suanli.domain.spec import Checkpoint, JobSpec
from suanli.domain.tenants import Attribute, Tenant, TenantTerms
from suanli.domain.throughput import ThroughputTable
from suanli.engines.registry import EngineContext, engine_for
from suanli.engines.simulated import SimulatedEngine
from suanli.scheduler.policies import POLICIES
from suanli.scheduler.queueing import QueueSettings
from suanli.service.bootstrap import shipped_policies
from suanli.service.deps import Billing, Platform
from suanli.service.fleet import on_simulated_engines
from suanli.service.jobs import submit_job
from suanli.sim.live_report import LiveReport as LiveReport  # re-exported: drivers import it here
from suanli.sim.live_report import live_report
from suanli.sim.progress import ReplayProgress
from suanli.sim.replay_args import check_replay_args
from suanli.sim.traces import TraceJob
from suanli.store.stores import memory_stores
from suanli.store.tenants import StaticTenantDirectory
from suanli.workers.control_loop import tick

EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)  # trace second 0 unless a start is given
WAITING = (JobStatus.PENDING, JobStatus.QUEUED, JobStatus.PLACED, JobStatus.STARTING)
HOLDING = tuple(s for s in JobStatus if s.holds_capacity)
FREEZE_EVERY = 1024  # ticks
FOREVER_S = 10 * 365 * 86400.0  # no timer: the next arrival or end comes first
SERVER_TICK_S = 0.5  # the server's control loop interval (``workers.ControlLoop``)


class LiveReplay:
    """One replay of trace jobs through the live tick; ``run`` returns the report."""

    def __init__(
        self,
        fleet: Fleet,
        tenants: Mapping[str, TenantTerms],
        settings: QueueSettings,
        tick_s: float = 60.0,
        estimates: str = "none",
        attributes: Mapping[str, Mapping[str, Attribute]] | None = None,
        throughput: ThroughputTable | None = None,
        checkpoint: Checkpoint | None = None,
        start: dt.datetime = EPOCH,
        on_tick: Callable[[ReplayProgress], None] | None = None,
    ) -> None:
        check_replay_args(settings.policy, estimates)
        self.estimates = estimates
        # The trace's first submission happens at ``start`` (billing prices each attempt
        # at its date: a scenario's ``billing_start``); ``on_tick`` hears after each tick.
        self.start = start
        self.on_tick = on_tick
        self.clock = FixedClock(start)
        self.tick_s = tick_s
        self.run_times: dict[str, float] = {}
        self._specs: dict[tuple[int, frozenset[str] | None, int, str | None], JobSpec] = {}
        # A matrix (Gavel's, the truth): the engines run a job's trace work at its class's
        # rate on the model placed; placement ranks pools by the fleet's own table if it
        # has one (a driver may tell it another), else by this one.
        self.throughput = throughput
        self.checkpoint = checkpoint  # every trace job's spec (None: they restart from zero)
        if throughput is not None and fleet.throughput is None:
            fleet = dataclasses.replace(fleet, throughput=throughput)
        self._models = {pool.accelerator for _, pool in fleet.pools() if pool.accelerator}
        fleet = on_simulated_engines(fleet)
        ctx = EngineContext(Path("."), self.clock, run_times=self.run_times, throughput=throughput)
        engines = {c.name: engine_for(c, ctx) for c in fleet.clusters()}
        self.engines = [e for e in engines.values() if isinstance(e, SimulatedEngine)]
        stores = memory_stores()
        attributes = attributes or {}
        directory = StaticTenantDirectory(
            Tenant(name, terms=t, attributes=dict(attributes.get(name, {})))
            for name, t in tenants.items()
        )
        self.platform = Platform(
            self.clock,
            stores.jobs,
            fleet,
            dict(engines),
            POLICIES["default"],
            Path("."),
            billing=Billing(stores.billing, stores.ledger, directory, shipped_policies()),
            health=stores.health,
            tenant_terms=dict(tenants),
            queue_settings=settings,
            job_ids=_numbered(),
        )

    def _spec(self, job: TraceJob, per_node: int) -> JobSpec:
        """The spec a trace job is submitted with; jobs of one shape share one (specs are
        immutable), so each shape is validated once. With exact estimates the trace's run
        time is handed over as the job's ``estimated_hours`` (what sjf and srtf rank by)."""
        shape = (
            job.accelerators,
            job.models,
            per_node,
            job.job_class if self.throughput else None,
        )
        spec = self._specs.get(shape)
        if spec is None:
            spec = self._specs[shape] = self._new_spec(job, per_node)
        if self.estimates == "exact":
            # Work on the fastest model: with a matrix the trace's work is in its units.
            fastest = (
                max(
                    (self.throughput.rate(job.job_class, m) for m in self._models),
                    default=1.0,
                )
                if self.throughput is not None
                else 1.0
            )
            hours = min(max(job.work / fastest / 3600.0, 1e-6), 8760.0)
            return spec.model_copy(update={"estimated_hours": hours})
        return spec

    def _new_spec(self, job: TraceJob, per_node: int) -> JobSpec:
        nodes = max(1, -(-job.accelerators // per_node))
        count = job.accelerators // nodes if job.accelerators % nodes == 0 else per_node
        accelerator: dict[str, Any] = {"count": count}
        if job.models:
            accelerator["model"] = sorted(job.models)
        known: dict[str, Any] = (
            {"job_class": job.job_class} if self.throughput is not None and job.job_class else {}
        )
        if self.checkpoint is not None:  # the scenario says trace jobs checkpoint
            known["checkpoint"] = self.checkpoint.model_dump()
        return JobSpec.model_validate(
            known
            | {
                "name": "trace-job",
                "resources": {"accelerator": accelerator, "nodes": nodes},
                "run": "simulated",
                "time_limit_hours": 8760,
                "retry": {"max_attempts": 20},
            }
        )

    def _next_end(self) -> dt.datetime | None:
        now = self.clock.now()
        ends = [end for e in self.engines if (end := e.state.next_end(now)) is not None]
        return min(ends) if ends else None

    def run(self, trace_jobs: Iterable[TraceJob]) -> LiveReport:
        try:
            return self._run(trace_jobs)
        finally:
            gc.unfreeze()  # what the replay froze is the collector's again

    def _run(self, trace_jobs: Iterable[TraceJob]) -> LiveReport:
        p = self.platform
        jobs = sorted(trace_jobs, key=lambda j: j.submit)
        per_node = max(pool.accelerators_per_node for _, pool in p.fleet.pools()) or 1
        start = jobs[0].submit if jobs else 0.0
        submitted: dict[str, float] = {}
        rejected = ticks = idle = 0
        i = 0
        at_end = False  # whether this tick is at the end of a run
        while True:
            now = self.clock.now()
            while (
                i < len(jobs) and self.start + dt.timedelta(seconds=jobs[i].submit - start) <= now
            ):
                tj = jobs[i]
                i += 1
                try:
                    job = submit_job(p, self._spec(tj, per_node), tenant=tj.tenant)
                except SuanliError:
                    rejected += 1
                    continue
                self.run_times[job.id] = tj.work
                submitted[job.id] = tj.submit - start
            tick(p)
            ticks += 1
            if ticks % FREEZE_EVERY == 0:
                # What the replay holds (jobs, events, usage) lives on: the cycle collector
                # would walk it again in every full collection, more each tick.
                gc.freeze()
            holding = sum(p.jobs.status_counts(HOLDING).values())
            idle = idle + 1 if i >= len(jobs) and not holding else 0
            if idle >= 2:
                break  # all arrived, nothing runs after a tick more: what waits never can
            if self.on_tick is not None:  # (not the closing tick: its clock jumped ahead)
                self.on_tick(self._progress(now, i, len(jobs), rejected, ticks))
            # The timer: only a job waiting for its turn changes with time alone (levels,
            # aging, guards); with none waiting, a tick without an arrival or an end
            # decides nothing, so the clock jumps to the next of those.
            waiting = p.jobs.count(WAITING)
            # A run that ended at this tick was reconciled after this tick's scheduling
            # cycle (the step order of ``tick``): the server uses what it freed at its next
            # tick, SERVER_TICK_S later, and so does the replay.
            after = SERVER_TICK_S if waiting and at_end else self.tick_s if waiting else FOREVER_S
            wake = now + dt.timedelta(seconds=after)
            if i < len(jobs):
                wake = min(wake, self.start + dt.timedelta(seconds=jobs[i].submit - start))
            end = self._next_end()
            if end is not None:
                wake = min(wake, end)
            at_end = end is not None and end == wake
            self.clock.advance(max((wake - now).total_seconds(), 0.001))
        return self._report(submitted, rejected, ticks)

    def _progress(
        self, now: dt.datetime, arrived: int, total: int, rejected: int, ticks: int
    ) -> ReplayProgress:
        counts = self.platform.jobs.status_counts(tuple(JobStatus))
        return ReplayProgress.of(
            (now - self.start).total_seconds(), arrived, total, rejected, ticks, counts
        )

    def _report(self, submitted: dict[str, float], rejected: int, ticks: int) -> LiveReport:
        return live_report(self.platform, self.start, submitted, rejected, ticks)


def _numbered() -> Callable[[], JobId]:
    """Job ids in submission order (``j-0000000000``, ...): random ids break the queue's ties
    and draw fifo-agnostic's models, so two runs of one replay would differ by them alone."""
    count = itertools.count()
    return lambda: JobId(f"j-{next(count):010d}")

"""From a scenario file (and a trace's own throughput matrix) to a replay set-up."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from suanli.billing.policy import VoucherPolicy
from suanli.domain.fleet import Fleet
from suanli.domain.spec import Checkpoint
from suanli.domain.tenants import Attribute, TenantTerms
from suanli.domain.throughput import ThroughputTable
from suanli.scheduler.queueing import QueueSettings
from suanli.schemas.simfile import Scenario, load_scenario_file
from suanli.service.bootstrap import queue_settings_of, shipped_policies
from suanli.service.fleet import builtin_catalog
from suanli.sim.live import LiveReplay
from suanli.sim.progress import ReplayProgress
from suanli.sim.traces import Trace, TraceJob


@dataclass(frozen=True)
class ReplaySetup:
    """What a scenario file (and a trace) give a replay."""

    fleet: Fleet
    tenants: Mapping[str, TenantTerms]
    settings: QueueSettings = field(default_factory=QueueSettings)
    throughput: ThroughputTable | None = None  # the trace's or the scenario's matrix
    attributes: Mapping[str, Mapping[str, Attribute]] = field(default_factory=dict)
    vouchers: Sequence[VoucherPolicy] = ()
    billing_start: dt.date = dt.date(2025, 1, 1)
    checkpoint: Checkpoint | None = None  # every trace job's spec says this (None: no job does)

    def replay(
        self,
        policy: str = "default",
        estimates: str = "none",
        on_tick: Callable[[ReplayProgress], None] | None = None,
    ) -> LiveReplay:
        """A replay of this set-up through the live cycle under queue ``policy``; the
        trace's first job is submitted at midnight (UTC) of the scenario's billing start,
        so each attempt is billed at that month's prices and vouchers."""
        return LiveReplay(
            self.fleet,
            self.tenants,
            dataclasses.replace(self.settings, policy=policy),
            estimates=estimates,
            attributes=self.attributes,
            throughput=self.throughput,
            checkpoint=self.checkpoint,
            start=dt.datetime.combine(self.billing_start, dt.time(), tzinfo=dt.UTC),
            on_tick=on_tick,
        )


def load_scenario(path: Path) -> Scenario:
    return load_scenario_file(path, builtin_catalog())


def setup_for(scenario: Scenario, trace: Trace) -> ReplaySetup:
    q = scenario.queue
    return ReplaySetup(
        fleet=scenario.fleet,
        # A scenario that names no tenants limits none: each of the trace's tenants is
        # admitted with no quota (the fleet is its only bound), as the server admits them.
        tenants=scenario.tenants
        or {t: TenantTerms(t) for t in sorted({j.tenant for j in trace.jobs})},
        settings=queue_settings_of(q, reserve=bool(q.reserve)),
        throughput=scenario.throughput or trace.throughput,
        attributes=scenario.attributes,
        vouchers=shipped_policies(),
        billing_start=scenario.billing_start,
        checkpoint=scenario.checkpoint,
    )


def windowed(scenario: Scenario, jobs: list[TraceJob]) -> list[TraceJob]:
    """The jobs submitted inside the scenario's window (both ends included)."""
    lo = scenario.since if scenario.since is not None else float("-inf")
    hi = scenario.until if scenario.until is not None else float("inf")
    return [j for j in jobs if lo <= j.submit <= hi]


def repeated(jobs: list[TraceJob], times: int) -> list[TraceJob]:
    """``jobs`` ``times`` over, each copy shifted by the trace's span (for scale runs)."""
    if times <= 1 or not jobs:
        return jobs
    span = jobs[-1].submit - jobs[0].submit + 1.0
    out = list(jobs)
    for n in range(1, times):
        shift = n * span
        out.extend(dataclasses.replace(j, id=f"{j.id}~{n}", submit=j.submit + shift) for j in jobs)
    return out

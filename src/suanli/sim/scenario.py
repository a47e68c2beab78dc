"""From a scenario file (and a trace's own throughput matrix) to a replay set-up."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from suanli.schemas.simfile import Scenario, load_scenario_file
from suanli.service.bootstrap import queue_settings_of, shipped_policies
from suanli.service.fleet import builtin_catalog
from suanli.sim.replay import ReplaySetup
from suanli.sim.traces import Trace, TraceJob


def load_scenario(path: Path) -> Scenario:
    return load_scenario_file(path, builtin_catalog())


def setup_for(scenario: Scenario, trace: Trace) -> ReplaySetup:
    q = scenario.queue
    return ReplaySetup(
        fleet=scenario.fleet,
        tenants=scenario.tenants,
        settings=queue_settings_of(q, reserve=bool(q.reserve)),
        throughput=scenario.throughput or trace.throughput,
        attributes=scenario.attributes,
        vouchers=shipped_policies(),
        billing_start=scenario.billing_start,
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

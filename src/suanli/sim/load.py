"""Offered load: how much work a trace asks of a fleet, and the trace at a chosen load.

A trace replayed on a fleet of another size than the one it was recorded on may leave the
fleet idle (no queue: no policy can do better than another) or swamp it. Gavel (OSDI'20)
loads its simulated cluster by raising the jobs' arrival rate; ``at_load`` does the same to
any trace: arrivals are squeezed (or stretched) in time, keeping their order, their gaps'
proportions and every job's size and work, until the offered load is the one asked for.

Offered load = accelerator-seconds of work / (fleet accelerators x arrival span), where a
job's accelerator-seconds are its accelerators x its run time averaged over the fleet's
accelerators (the run time a placement that ignores the models gets on average); with no
throughput table the run time is the trace's duration.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from suanli.domain.errors import FieldError, InvalidInput
from suanli.domain.fleet import Fleet
from suanli.domain.throughput import UNIFORM, ThroughputTable
from suanli.sim.traces import TraceJob

MAX_LOAD = 1000.0


def _models(fleet: Fleet) -> list[tuple[str, int]]:
    """(model, accelerators) of each pool of the fleet that has accelerators."""
    return [
        (p.accelerator, p.nodes * p.accelerators_per_node)
        for _, p in fleet.pools()
        if p.accelerator is not None and p.nodes * p.accelerators_per_node > 0
    ]


def offered_load(
    jobs: Sequence[TraceJob], fleet: Fleet, table: ThroughputTable | None = None
) -> float:
    """The load ``jobs`` offer ``fleet`` (see the module); 0 when it cannot be told."""
    models = _models(fleet)
    capacity = sum(n for _, n in models)
    if len(jobs) < 2 or not capacity:
        return 0.0
    span = jobs[-1].submit - jobs[0].submit
    if span <= 0:
        return 0.0
    rate = (table or UNIFORM).rate
    work = 0.0
    for j in jobs:
        mean_s = sum(n * j.work / rate(j.job_class, m) for m, n in models) / capacity
        work += j.accelerators * mean_s
    return work / (capacity * span)


def at_load(
    jobs: Sequence[TraceJob], load: float, fleet: Fleet, table: ThroughputTable | None = None
) -> tuple[list[TraceJob], float, float]:
    """``jobs`` with arrivals rescaled so that they offer ``load``; also the load they
    offered as given and the factor applied to the times since the first arrival
    (< 1: squeezed, a higher arrival rate)."""
    if not 0 < load <= MAX_LOAD:
        raise InvalidInput(
            "invalid_sim_args",
            errors=[FieldError("load", "out_of_range", str(load), f"> 0 and <= {MAX_LOAD:g}")],
            source="suanli sim replay",
        )
    ordered = sorted(jobs, key=lambda j: j.submit)
    offered = offered_load(ordered, fleet, table)
    if offered <= 0:
        raise InvalidInput(
            "invalid_sim_args",
            errors=[
                FieldError(
                    "load",
                    "not_allowed",
                    str(load),
                    "a trace whose jobs arrive at two or more instants, on a fleet with "
                    "accelerators",
                )
            ],
            source="suanli sim replay",
        )
    factor = offered / load
    t0 = ordered[0].submit
    scaled = [dataclasses.replace(j, submit=t0 + (j.submit - t0) * factor) for j in ordered]
    return scaled, offered, factor

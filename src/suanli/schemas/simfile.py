"""Simulation scenario files: a fleet, its tenants' queue terms, and the queue's knobs.

::

    format: suanli/sim-scenario/v1
    description: "..."
    fleet: {...}                 # a fleet file, inline (same schema as `suanli up --fleet`)
    tenants:                     # optional; when given, trace jobs of other tenants are dropped
      - name: 6214e9
        weight: 1
        quota: {V100: 512}       # accelerators per model ("*": any model); none = unlimited
        cohort: philly           # tenants of a cohort lend each other idle quota ...
        borrow: true             # ... when they may borrow
        pools: [vc-6214e9]       # pools its jobs may use; none = any
        attributes: {...}        # what voucher programmes check (as in a tenants file)
    queue: {grace_s: 30, min_run_s: 600, backfill: true, aging_s: 14400}
    window: {since: "2017-10-01T00:00:00", until: "2017-11-30T23:59:00"}  # or seconds
    throughput: gavel.json       # relative to this file; a throughput table (ours or Gavel's)
    billing_start: 2025-01-01    # the replay is billed as if it began on this date
    jobs: {checkpoint: {every_minutes: 30}}  # every trace job checkpoints (default: none do;
                                 # a preempted attempt then restarts from zero)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from suanli.domain.accelerators import Catalog
from suanli.domain.errors import FieldError, InvalidInput
from suanli.domain.fleet import Fleet
from suanli.domain.spec import Checkpoint
from suanli.domain.tenants import TENANT_PATTERN, Attribute, TenantTerms
from suanli.domain.throughput import ThroughputTable
from suanli.schemas.fleetfile import parse_fleet_text
from suanli.schemas.queuefile import QueueEntry
from suanli.schemas.tenantfile import PoolRef, pool_errors, pool_places
from suanli.schemas.throughputfile import load_throughput_file
from suanli.schemas.validation import load_yaml_mapping, read_bounded, validate_model

MAX_SCENARIO_BYTES = 8 * 1024 * 1024
_CODE = "invalid_scenario"

Name = Annotated[str, Field(pattern=TENANT_PATTERN)]
AttributeValue = Annotated[str, Field(min_length=1, max_length=100)] | bool
TimePoint = Annotated[float, Field(ge=0)] | dt.datetime


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TenantQueueEntry(_Strict):
    name: Name
    weight: float = Field(default=1.0, gt=0, le=1e6)
    quota: dict[
        Annotated[str, Field(max_length=64)], Annotated[int, Field(ge=0, le=10_000_000)]
    ] = Field(default_factory=dict, max_length=100)
    cohort: Name | None = None
    borrow: bool = False
    pools: list[PoolRef] | None = Field(default=None, min_length=1, max_length=1000)
    attributes: dict[str, AttributeValue] = Field(default_factory=dict, max_length=100)


class WindowEntry(_Strict):
    since: TimePoint | None = None
    until: TimePoint | None = None


class JobsEntry(_Strict):
    """What every trace job's spec says beyond its shape (a modelling choice of the scenario)."""

    checkpoint: Checkpoint | None = None  # as a job spec's ``checkpoint``


class ScenarioFile(_Strict):
    format: Literal["suanli/sim-scenario/v1"]
    description: str = Field(default="", max_length=4000)
    fleet: dict[str, Any]
    tenants: list[TenantQueueEntry] = Field(default_factory=list, max_length=100_000)
    queue: QueueEntry = QueueEntry()
    window: WindowEntry = WindowEntry()
    throughput: str | None = Field(default=None, max_length=1000)
    # Bounded: a trace runs for years after it (datetime ends at 9999).
    billing_start: dt.date = Field(
        default=dt.date(2025, 1, 1), ge=dt.date(2000, 1, 1), le=dt.date(2100, 12, 31)
    )
    jobs: JobsEntry = JobsEntry()


@dataclass(frozen=True)
class Scenario:
    fleet: Fleet
    tenants: dict[str, TenantTerms]
    attributes: dict[str, dict[str, Attribute]]
    queue: QueueEntry
    since: float | None
    until: float | None
    throughput: ThroughputTable | None
    billing_start: dt.date
    description: str = ""
    checkpoint: Checkpoint | None = None  # every trace job's (None: they restart from zero)


def load_scenario_file(path: Path, catalog: Catalog) -> Scenario:
    """Read and check a scenario; InvalidInput names the file and each bad field."""
    raw = read_bounded(path, MAX_SCENARIO_BYTES, "scenario file", _CODE)
    data = load_yaml_mapping(raw, str(path), MAX_SCENARIO_BYTES, "scenario file")
    parsed = validate_model(ScenarioFile, data, str(path), _CODE)
    fleet = parse_fleet_text(yaml.safe_dump(parsed.fleet), catalog, f"{path} (fleet)")
    places = pool_places(fleet)
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, t in enumerate(parsed.tenants):
        if t.name in seen:
            errors.append(FieldError(f"tenants[{i}].name", "duplicate_name", t.name))
        seen.add(t.name)
        errors.extend(pool_errors(f"tenants[{i}].pools", t.pools, places))
    if errors:
        raise InvalidInput(_CODE, errors=errors, source=str(path))
    table = None
    if parsed.throughput is not None:
        table = load_throughput_file(path.parent / parsed.throughput)
    return Scenario(
        fleet=fleet,
        tenants={
            t.name: TenantTerms(
                t.name,
                t.weight,
                dict(t.quota),
                t.cohort,
                t.borrow,
                frozenset(t.pools) if t.pools is not None else None,
            )
            for t in parsed.tenants
        },
        attributes={t.name: dict(t.attributes) for t in parsed.tenants},
        queue=parsed.queue,
        since=_seconds(parsed.window.since),
        until=_seconds(parsed.window.until),
        throughput=table,
        billing_start=parsed.billing_start,
        description=parsed.description,
        checkpoint=parsed.jobs.checkpoint,
    )


def _seconds(point: float | dt.datetime | None) -> float | None:
    """Seconds as given, or a date-time as seconds since the Unix epoch (UTC if naive)."""
    if point is None or isinstance(point, float | int):
        return point
    if point.tzinfo is None:
        point = point.replace(tzinfo=dt.UTC)
    return point.timestamp()

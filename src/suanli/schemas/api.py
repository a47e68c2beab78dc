"""Wire models of the REST API, shared by the server and the typed client."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_BODY_BYTES = 1024 * 1024


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubmitJobRequest(_Wire):
    """Exactly one of ``spec`` (decoded) or ``spec_yaml`` (the file's text)."""

    spec: dict[str, Any] | None = None
    spec_yaml: str | None = Field(default=None, max_length=MAX_BODY_BYTES)
    cluster: str | None = Field(default=None, max_length=64)
    source: str | None = Field(default=None, max_length=512, description="file name, for messages")


class ReasonResponse(_Wire):
    code: str
    params: dict[str, Any]
    message: str


class EventResponse(_Wire):
    at: dt.datetime
    from_status: str | None
    to_status: str
    attempt: int
    reason: ReasonResponse


class NodeAssignmentResponse(_Wire):
    node: str
    slots: list[int]


class PlacementResponse(_Wire):
    cluster: str
    pool: str
    region: str | None
    accelerator: str | None
    nodes: list[NodeAssignmentResponse]
    price_per_hour_yuan: str


class VerdictResponse(_Wire):
    cluster: str
    pool: str
    feasible: bool
    price_per_hour_yuan: str | None
    reason: ReasonResponse | None


class DecisionResponse(_Wire):
    summary: ReasonResponse
    chosen: list[str] | None
    verdicts: list[VerdictResponse]


class JobSummary(_Wire):
    id: str
    name: str
    status: str
    attempt: int
    accelerator: str | None
    cluster: str | None
    pool: str | None
    submitted_at: dt.datetime
    updated_at: dt.datetime


class JobResponse(JobSummary):
    spec: dict[str, Any]
    pinned_cluster: str | None
    cancel_requested: bool
    exit_code: int | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    engine_key: str | None
    placement: PlacementResponse | None
    decision: DecisionResponse | None
    history: list[EventResponse]


class JobListResponse(_Wire):
    jobs: list[JobSummary]
    total: int
    limit: int
    offset: int


class TotalsResponse(_Wire):
    accelerators: int
    domestic_accelerators: int
    domestic_share: float
    pflops_fp16: float
    unrated_accelerators: int


class PoolResponse(_Wire):
    name: str
    accelerator: str | None
    domestic: bool | None
    nodes: int
    accelerators_per_node: int
    cpus_per_node: int
    memory_gb_per_node: int
    price_per_accelerator_hour_yuan: str
    green_share: str
    free_accelerators: int


class ClusterResponse(_Wire):
    name: str
    provider: str
    region: str
    engine: str
    available: bool
    pools: list[PoolResponse]


class FleetResponse(_Wire):
    providers: dict[str, str]
    clusters: list[ClusterResponse]
    total: TotalsResponse
    by_region: dict[str, TotalsResponse]
    by_provider: dict[str, TotalsResponse]


class FigureResponse(_Wire):
    value: float | str | None
    source: str | None


class AcceleratorResponse(_Wire):
    model: str
    name: str
    vendor: str
    domestic: bool
    china_market_variant: bool
    stack: str
    frameworks: list[str]
    fp16_tflops: FigureResponse
    memory_gb: FigureResponse
    memory_bandwidth_gbps: FigureResponse
    interconnect: FigureResponse
    notes: str


class FieldErrorResponse(_Wire):
    field: str
    value: Any = None
    allowed: str | None = None
    code: str
    message: str


class ErrorBody(_Wire):
    code: str
    message: str
    source: str | None = None
    errors: list[FieldErrorResponse] = Field(default_factory=list)


class ErrorResponse(_Wire):
    error: ErrorBody

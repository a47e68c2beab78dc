"""Wire models of /api/v1/eval: start a run, follow it, read the report."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from suanli.domain.tenants import TENANT_PATTERN

NAME = r"^[a-z0-9][a-z0-9._-]{0,62}$"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EvalRunRequest(_Wire):
    suite: Literal["micro", "models", "conformance", "all"] = "all"
    cluster: str | None = Field(default=None, pattern=NAME, max_length=63)
    pool: str | None = Field(default=None, pattern=NAME, max_length=63)
    tenant: str | None = Field(default=None, pattern=TENANT_PATTERN, description="billed tenant")


class EvalItemResponse(_Wire):
    name: str
    kind: str
    framework: str
    status: str
    value: float | None = None
    unit: str | None = None
    detail: str = ""
    cv: float | None = None
    job_class: str | None = None
    op: str | None = None
    dtype: str | None = None
    tolerance: float | None = None
    steady: bool | None = Field(default=None, description="None: not judged (older result)")
    error: float | None = Field(
        default=None, description="the median's standard error, a fraction"
    )
    steal: float | None = Field(default=None, description="the hypervisor's stolen share")


class EvalRecordResponse(_Wire):
    job_id: str
    run_id: str
    suites: list[str]
    cluster: str
    pool: str
    model: str | None
    state: str
    job_status: str | None = None
    created_at: dt.datetime
    measured_at: dt.datetime | None = None
    backend: str | None = None
    device: str | None = None
    driver: str | None = None
    hardware_is_model: bool = False
    software: dict[str, str | None] = Field(default_factory=dict)
    error: str = ""
    seconds: float | None = None
    items: list[EvalItemResponse] = Field(default_factory=list)


class EvalRunResponse(_Wire):
    run_id: str
    records: list[EvalRecordResponse]


class MatrixFailure(_Wire):
    item: str
    status: str
    detail: str


class MatrixRowResponse(_Wire):
    """One (accelerator model, stack, framework, version) and its conformance verdict."""

    model: str  # the pool's model, or CPU
    stack: str
    framework: str
    version: str | None
    hardware: str  # what the suite found (device and backend)
    hardware_is_model: bool
    pools: list[str]
    passed: int
    failed: int
    skipped: int
    verdict: Literal["compatible", "incompatible", "partial", "unavailable"]
    failures: list[MatrixFailure]


class ThroughputRowResponse(_Wire):
    cluster: str
    pool: str
    model: str | None
    hardware: str
    hardware_is_model: bool
    item: str
    kind: str
    framework: str
    status: str
    value: float | None
    unit: str | None
    cv: float | None
    dtype: str | None
    job_class: str | None
    detail: str
    measured_at: dt.datetime | None
    job_id: str
    steady: bool | None = None
    error: float | None = None
    steal: float | None = None
    unsteady_why: str = Field(default="", description="why the figure was flagged (en)")
    unsteady_why_zh: str = ""


class SetAsideResponse(_Wire):
    """A pool's newest figure, flagged unsteady, and what placement uses in its place."""

    cluster: str
    pool: str
    framework: str
    item: str
    job_class: str | None
    value: float | None
    why: str
    why_zh: str
    job_id: str
    measured_at: dt.datetime
    used: float | None = Field(description="the previous steady figure; None: the fallback table")
    used_job_id: str | None


class DatasheetRowResponse(_Wire):
    cluster: str
    pool: str
    model: str
    hardware: str
    hardware_is_model: bool
    datasheet_tflops: float | None
    datasheet_source: str | None
    measured_fp16_tflops: float | None
    measured_bf16_tflops: float | None
    ratio_fp16: float | None
    ratio_bf16: float | None
    note: str


class RegressionResponse(_Wire):
    cluster: str
    pool: str
    framework: str
    item: str
    before: float | None
    after: float | None
    before_status: str
    after_status: str
    change: float | None
    unit: str | None
    job_id: str


class EvalReportResponse(_Wire):
    regression_drop: float
    running: int
    matrix: list[MatrixRowResponse]
    throughput: list[ThroughputRowResponse]
    datasheet: list[DatasheetRowResponse]
    regressions: list[RegressionResponse]
    placement_rates: int = Field(description="(job class, model) rates placement uses")
    excluded_pools: list[str] = Field(description="pools with a measured incompatibility")
    set_aside: list[SetAsideResponse] = Field(
        default_factory=list, description="unsteady figures placement and regressions do not use"
    )

"""Wire models for the operations read models: queue, utilisation, settlements, job cost."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from suanli.schemas.api import BillLineResponse, ReasonResponse, Yuan


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProviderResponse(_Wire):
    name: str
    display_name: str
    clusters: list[str]
    regions: list[str]


class WaitingReasonResponse(_Wire):
    code: str
    jobs: int
    message: str  # the reason of the longest-waiting job with this code, in the reader's language
    example: ReasonResponse


class QueueResponse(_Wire):
    depth: dict[str, int]
    waiting: int
    reasons: list[WaitingReasonResponse]
    oldest_waiting_since: dt.datetime | None


class QuotaUseResponse(_Wire):
    model: str  # an accelerator model, or "*" for any model
    used: float  # accelerators held now (a share counts as its fraction)
    quota: int | None  # nominal quota; null: no quota (bound by the fleet alone)
    borrowed: float  # of used, held on quota borrowed in the cohort


class WaitingJobResponse(_Wire):
    job_id: str
    name: str
    status: str
    accelerators: float
    priority: int
    since: dt.datetime
    attained_hours: float  # service so far in reference-card (A100) accelerator-hours
    reason: ReasonResponse


class TenantQueueResponse(_Wire):
    tenant: str
    weight: float
    cohort: str | None
    borrow: bool
    running: int
    stopping: int  # asked to stop for a preemption, not stopped yet
    share: float  # weighted compute in use: accelerators × dense TFLOPS ratio / weight
    usage: list[QuotaUseResponse]
    waiting: list[WaitingJobResponse]


class TenantQueuesResponse(_Wire):
    tenants: list[TenantQueueResponse]


class UtilisationPointResponse(_Wire):
    at: dt.datetime
    busy_accelerators: float  # the interval's average
    utilisation: float
    peak_accelerators: int = 0  # the most in use at once within the interval


class UtilisationResponse(_Wire):
    provider: str | None
    capacity: int
    start: dt.datetime
    step_s: int
    points: list[UtilisationPointResponse]


class SettlementPageResponse(_Wire):
    provider: str
    month: str
    lines: list[BillLineResponse]
    total: int
    limit: int
    offset: int


class JobCostResponse(_Wire):
    job_id: str
    lines: list[BillLineResponse]
    gross: Yuan
    deduction: Yuan
    net: Yuan
    # The attempt running now: its price per hour times the hours so far, before vouchers
    # (settled, with any voucher, when it ends).
    running_gross: Yuan | None = None
    running_hours: float | None = None

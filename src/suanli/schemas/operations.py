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


class UtilisationPointResponse(_Wire):
    at: dt.datetime
    busy_accelerators: float
    utilisation: float


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

"""Wire models of the REST API, shared by the server and the typed client."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, WithJsonSchema

from suanli.domain.tenants import DEMO_TENANT, TENANT_PATTERN

MAX_BODY_BYTES = 1024 * 1024


class Wire(BaseModel):
    """Every wire model: unknown fields refused."""

    model_config = ConfigDict(extra="forbid")


class SubmitJobRequest(Wire):
    """Exactly one of ``spec`` (decoded) or ``spec_yaml`` (the file's text)."""

    spec: dict[str, Any] | None = None
    spec_yaml: str | None = Field(default=None, max_length=MAX_BODY_BYTES)
    cluster: str | None = Field(default=None, max_length=64)
    tenant: str | None = Field(
        default=None,
        pattern=TENANT_PATTERN,
        description=f"billed tenant (default: the caller's; the operator's: {DEMO_TENANT})",
    )
    source: str | None = Field(default=None, max_length=512, description="file name, for messages")


# What the submission route takes, said in the OpenAPI document (the route reads the body
# itself, to parse it once with bounds): exactly one of spec or spec_yaml, a string.
SUBMIT_JOB_SCHEMA: dict[str, Any] = {
    **SubmitJobRequest.model_json_schema(),
    "oneOf": [
        {"required": ["spec"], "properties": {"spec": {"type": "object"}}},
        {"required": ["spec_yaml"], "properties": {"spec_yaml": {"type": "string"}}},
    ],
}


class ReasonResponse(Wire):
    code: str
    params: dict[str, Any]
    message: str


class EventResponse(Wire):
    at: dt.datetime
    from_status: str | None
    to_status: str
    attempt: int
    reason: ReasonResponse


class NodeAssignmentResponse(Wire):
    node: str
    slots: list[int]


class PlacementResponse(Wire):
    cluster: str
    pool: str
    region: str | None
    accelerator: str | None
    nodes: list[NodeAssignmentResponse]
    price_per_hour_yuan: str


class EstimateResponse(Wire):
    hours: float
    relative_throughput: float
    gross_yuan: str
    voucher_yuan: str
    data_cost_yuan: str
    transfer_hours: float
    net_yuan: str
    finish_at: dt.datetime


class VerdictResponse(Wire):
    cluster: str
    pool: str
    feasible: bool
    price_per_hour_yuan: str | None
    reason: ReasonResponse | None
    estimate: EstimateResponse | None = None


class DecisionResponse(Wire):
    summary: ReasonResponse
    chosen: list[str] | None
    verdicts: list[VerdictResponse]


class JobSummary(Wire):
    id: str
    name: str
    tenant: str
    status: str
    attempt: int
    accelerator: str | None
    cluster: str | None
    pool: str | None
    submitted_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None = None  # of the latest attempt
    finished_at: dt.datetime | None = None


class JobResponse(JobSummary):
    spec: dict[str, Any]
    pinned_cluster: str | None
    cancel_requested: bool
    exit_code: int | None
    engine_key: str | None
    placement: PlacementResponse | None
    decision: DecisionResponse | None
    history: list[EventResponse]
    # Fair queues: attempts ended by a preemption, asked to stop for one now, on quota
    # borrowed in the cohort, service so far in reference-card (A100) accelerator-hours.
    preemptions: int = 0
    preempting: bool = False
    borrowed: bool = False
    attained_hours: float = 0.0
    image_digest: str | None = None  # what the current attempt's image resolved to
    checkpoint_cluster: str | None = None  # whose engine holds a resumable job's checkpoint


class JobListResponse(Wire):
    jobs: list[JobSummary]
    total: int
    limit: int
    offset: int


class TotalsResponse(Wire):
    accelerators: int
    domestic_accelerators: int
    domestic_share: float
    pflops_fp16: float
    unrated_accelerators: int
    free_accelerators: int = 0
    free_pflops_fp16: float = 0.0


class PoolResponse(Wire):
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


class ClusterResponse(Wire):
    name: str
    provider: str
    region: str
    engine: str
    available: bool
    pools: list[PoolResponse]


class FleetResponse(Wire):
    providers: dict[str, str]
    clusters: list[ClusterResponse]
    total: TotalsResponse
    by_region: dict[str, TotalsResponse]
    by_provider: dict[str, TotalsResponse]


class NodeInventoryResponse(Wire):
    """One node as its engine reports it; accelerators by the engine's name for the kind."""

    name: str
    state: str
    available: bool
    cpus: int
    free_cpus: int
    memory_mb: int
    free_memory_mb: int
    accelerators: dict[str, int]
    free_accelerators: dict[str, int]


class ClusterInventoryResponse(Wire):
    """A cluster's capacity read from its engine now (state read), or why it could not be."""

    cluster: str
    provider: str
    region: str
    engine: str
    state: Literal["read", "not_reported", "unavailable"]
    detail: str | None = None
    read_at: dt.datetime | None = None
    nodes: list[NodeInventoryResponse] = Field(default_factory=list)
    free_accelerators: dict[str, int] = Field(default_factory=dict)


class FigureResponse(Wire):
    value: float | str | None
    source: str | None


class AcceleratorResponse(Wire):
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


class FieldErrorResponse(Wire):
    field: str
    value: Any = None
    allowed: str | None = None
    code: str
    message: str


class ErrorBody(Wire):
    code: str
    message: str
    source: str | None = None
    errors: list[FieldErrorResponse] = Field(default_factory=list)


class ErrorResponse(Wire):
    error: ErrorBody


# --- billing: money is a string with two decimals, never a JSON number -------------------

Yuan = Annotated[str, Field(pattern=r"^-?\d+\.\d{2}$", examples=["1000.00"])]


class TenantResponse(Wire):
    name: str
    display_name: str
    attributes: dict[str, str | bool]


class ConsiderationResponse(Wire):
    programme: str
    version: int
    outcome: str
    offer: Yuan
    why: str
    issuer: str = ""
    order: int | None = None  # 1, 2, ...: the place in which an applied programme applied


class AppliedResponse(Wire):
    """One programme that deducts, in the order programmes applied (stacked: several)."""

    order: int
    programme: str
    issuer: str
    rate: str
    deduction: Yuan
    limit: str | None
    claim: str | None


class DeductionResponse(Wire):
    """How vouchers treat one charge: the programme applied (at most one) and why the others not."""

    gross: Yuan
    programme: str | None
    version: int | None
    rate: str | None
    cap_left: Yuan | None
    pool_left: Yuan | None
    deduction: Yuan
    net: Yuan
    explanation: list[str]
    considered: list[ConsiderationResponse]
    applied: list[AppliedResponse] = Field(default_factory=list)


class BillLineResponse(DeductionResponse):
    key: str
    job_id: str
    attempt: int
    provider: str
    cluster: str
    pool: str
    region: str
    accelerator: str
    domestic: bool
    accelerators: int
    started_at: dt.datetime
    ended_at: dt.datetime
    seconds: int
    accelerator_hours: str
    price_per_accelerator_hour: str
    settled_at: dt.datetime
    posted: bool


class BillTotals(Wire):
    lines: int
    gross: Yuan
    deduction: Yuan
    net: Yuan
    model_voucher: Yuan = "0.00"  # 模型券 paid to the tenant for this month's contract periods


class ModelRedemptionResponse(DeductionResponse):
    """One period of a model contract: completed, the 模型券 paid, and why."""

    contract_id: str
    tenant: str
    vendor: str
    model: str
    kind: str
    period: str
    completed: Yuan
    contract_amount: Yuan
    settled_at: dt.datetime
    posted: bool


class BillResponse(Wire):
    tenant: str
    display_name: str
    month: str
    lines: list[BillLineResponse]
    totals: BillTotals
    model_vouchers: list[ModelRedemptionResponse] = Field(default_factory=list)


class EligibilityResponse(Wire):
    attribute: str
    allowed: list[str | bool]
    cite: str
    of: str = "company"  # company: the company's attribute; charge: a fact of what is bought


class VoucherPolicyResponse(Wire):
    programme: str
    version: int
    kind: str
    title: str
    cite: str
    illustrative: bool
    annual_pool: Yuan | None
    rate_domestic: str
    rate_non_domestic: str
    tenant_cap: Yuan | None
    tenant_cap_scope: str
    project_cap: Yuan | None
    valid_from: dt.date
    valid_to: dt.date
    eligibility: list[EligibilityResponse]
    issuer: str = ""
    stacking_order: int | None = None  # None: stacks with nothing (从优不重复)
    combined_cap: str | None = None
    claim_required: bool = False
    rate_by_class: dict[str, str] = Field(default_factory=dict)  # "attribute=value" -> rate


# Yuan in: a number or a decimal string with at most two places. Said so in the OpenAPI
# document (pydantic's own Decimal schema lets generators send "" or "1e5" as valid).
YUAN_IN = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": 10**12, "multipleOf": 0.01},
        {"type": "string", "pattern": r"^\d{1,13}(\.\d{1,2})?$"},
    ]
}


class QuoteRequest(Wire):
    amount: Annotated[
        Decimal,
        Field(ge=0, le=10**12, decimal_places=2, allow_inf_nan=False),
        WithJsonSchema(YUAN_IN),
    ]
    domestic: StrictBool  # JSON true/false only: 0 or "no" is refused, as the schema says
    tenant: str | None = Field(default=None, pattern=TENANT_PATTERN)


class QuoteResponse(DeductionResponse):
    tenant: str | None
    on: dt.date
    domestic: bool


class LedgerVerifyResponse(Wire):
    ok: bool
    entries: int
    postings: int
    accounts: int
    problems: list[str]


class SpendResponse(Wire):
    lines: int
    accelerator_hours: str
    gross: Yuan
    deduction: Yuan


class ProgrammeSpendResponse(SpendResponse):
    programme: str
    month: str
    tenant: str


class RegionSpendResponse(Wire):
    region: str
    domestic: SpendResponse
    non_domestic: SpendResponse


class PoolUseResponse(Wire):
    programme: str
    year: int
    annual_pool: Yuan | None
    used: Yuan
    left: Yuan | None


class ComputeShareResponse(Wire):
    domestic: SpendResponse
    non_domestic: SpendResponse
    domestic_share_hours: str
    domestic_share_yuan: str


class VoucherReportResponse(Wire):
    voucher_spend: list[ProgrammeSpendResponse]
    pools: list[PoolUseResponse]
    compute: ComputeShareResponse
    by_region: list[RegionSpendResponse]

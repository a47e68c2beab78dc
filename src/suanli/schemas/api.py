"""Wire models of the REST API, shared by the server and the typed client."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from suanli.domain.tenants import DEMO_TENANT, TENANT_PATTERN

MAX_BODY_BYTES = 1024 * 1024


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubmitJobRequest(_Wire):
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


class EstimateResponse(_Wire):
    hours: float
    relative_throughput: float
    gross_yuan: str
    voucher_yuan: str
    data_cost_yuan: str
    transfer_hours: float
    net_yuan: str
    finish_at: dt.datetime


class VerdictResponse(_Wire):
    cluster: str
    pool: str
    feasible: bool
    price_per_hour_yuan: str | None
    reason: ReasonResponse | None
    estimate: EstimateResponse | None = None


class DecisionResponse(_Wire):
    summary: ReasonResponse
    chosen: list[str] | None
    verdicts: list[VerdictResponse]


class JobSummary(_Wire):
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
    free_accelerators: int = 0
    free_pflops_fp16: float = 0.0


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


class NodeInventoryResponse(_Wire):
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


class ClusterInventoryResponse(_Wire):
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


# --- billing: money is a string with two decimals, never a JSON number -------------------

Yuan = Annotated[str, Field(pattern=r"^-?\d+\.\d{2}$", examples=["1000.00"])]


class TenantResponse(_Wire):
    name: str
    display_name: str
    attributes: dict[str, str | bool]


class ConsiderationResponse(_Wire):
    programme: str
    version: int
    outcome: str
    offer: Yuan
    why: str
    issuer: str = ""
    order: int | None = None  # 1, 2, ...: the place in which an applied programme applied


class AppliedResponse(_Wire):
    """One programme that deducts, in the order programmes applied (stacked: several)."""

    order: int
    programme: str
    issuer: str
    rate: str
    deduction: Yuan
    limit: str | None
    claim: str | None


class DeductionResponse(_Wire):
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


class BillTotals(_Wire):
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


class BillResponse(_Wire):
    tenant: str
    display_name: str
    month: str
    lines: list[BillLineResponse]
    totals: BillTotals
    model_vouchers: list[ModelRedemptionResponse] = Field(default_factory=list)


class EligibilityResponse(_Wire):
    attribute: str
    allowed: list[str | bool]
    cite: str
    of: str = "company"  # company: the company's attribute; charge: a fact of what is bought


class VoucherPolicyResponse(_Wire):
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


class QuoteRequest(_Wire):
    amount: Annotated[
        Decimal,
        Field(ge=0, le=10**12, decimal_places=2, allow_inf_nan=False),
        WithJsonSchema(_YUAN_IN),
    ]
    domestic: bool
    tenant: str | None = Field(default=None, pattern=TENANT_PATTERN)


class QuoteResponse(DeductionResponse):
    tenant: str | None
    on: dt.date
    domestic: bool


class LedgerVerifyResponse(_Wire):
    ok: bool
    entries: int
    postings: int
    accounts: int
    problems: list[str]


class SpendResponse(_Wire):
    lines: int
    accelerator_hours: str
    gross: Yuan
    deduction: Yuan


class ProgrammeSpendResponse(SpendResponse):
    programme: str
    month: str
    tenant: str


class RegionSpendResponse(_Wire):
    region: str
    domestic: SpendResponse
    non_domestic: SpendResponse


class PoolUseResponse(_Wire):
    programme: str
    year: int
    annual_pool: Yuan | None
    used: Yuan
    left: Yuan | None


class ComputeShareResponse(_Wire):
    domestic: SpendResponse
    non_domestic: SpendResponse
    domestic_share_hours: str
    domestic_share_yuan: str


class VoucherReportResponse(_Wire):
    voucher_spend: list[ProgrammeSpendResponse]
    pools: list[PoolUseResponse]
    compute: ComputeShareResponse
    by_region: list[RegionSpendResponse]


ContractKind = Literal[
    "private_deployment", "cloud_deployment", "api_calls", "all_in_one", "all_in_one_model_part"
]
# Yuan in: a number or a decimal string with at most two places. Said so in the OpenAPI
# document (pydantic's own Decimal schema lets generators send "" or "1e5" as valid).
_YUAN_IN = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": 10**12, "multipleOf": 0.01},
        {"type": "string", "pattern": r"^\d{1,13}(\.\d{1,2})?$"},
    ]
}
Amount = Annotated[
    Decimal,
    Field(gt=0, le=10**12, decimal_places=2, allow_inf_nan=False),
    WithJsonSchema({**_YUAN_IN, "description": "yuan, more than 0"}),
]


class ContractRequest(_Wire):
    """A model contract to record; only domestic (技术自主可控) base models qualify."""

    tenant: str = Field(pattern=TENANT_PATTERN)
    vendor: str = Field(min_length=1, max_length=200)
    model: str = Field(min_length=1, max_length=200)
    kind: ContractKind = Field(description="all_in_one: the model part of an all-in-one machine")
    domestic: bool = Field(
        default=False,
        description="the model is a domestic (技术自主可控) base model; evidence must show it",
    )
    amount: Amount
    evidence: str = Field(min_length=1, max_length=2000)
    signed: dt.date | None = None
    # facts of the model that programmes ask about, e.g. {"model_registered": true} (网信办备案)
    facts: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")], str | bool] = Field(
        default_factory=dict, max_length=20
    )


class ContractResponse(_Wire):
    contract_id: str
    tenant: str
    vendor: str
    model: str
    kind: str
    domestic: bool
    amount: Yuan
    signed: dt.date
    evidence: str
    completed: Yuan
    left: Yuan
    model_voucher: Yuan


class RedeemRequest(_Wire):
    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-11"])
    completed: Amount


class ProgrammeStandingResponse(_Wire):
    """A tenant under one programme today: eligible or why not, claim, cap and pool left."""

    programme: str
    version: int
    kind: str
    title: str
    eligible: bool
    why_not: str | None
    claim_required: bool
    claimed_at: dt.datetime | None
    tenant_cap: Yuan | None
    cap_scope: str
    cap_period: str
    used: Yuan
    cap_left: Yuan | None
    year: int
    annual_pool: Yuan | None
    pool_used: Yuan
    pool_left: Yuan | None


class VoucherStandingResponse(_Wire):
    tenant: str
    display_name: str
    on: dt.date
    programmes: list[ProgrammeStandingResponse]


class ClaimRequest(_Wire):
    tenant: str = Field(pattern=TENANT_PATTERN)
    programme: str = Field(min_length=1, max_length=64)


class ClaimResponse(_Wire):
    tenant: str
    programme: str
    claimed_at: dt.datetime
    recorded_by: str
    new: bool
    claim_required: bool


class ProgrammeClaimRequest(_Wire):
    """A claim of a programme with a claim step, against a contract (申领)."""

    tenant: str = Field(pattern=TENANT_PATTERN)
    programme: str = Field(min_length=1, max_length=64)
    contract: str = Field(min_length=1, max_length=200, description="the contract number")
    amount: Decimal = Field(gt=0, le=10**12, decimal_places=2, allow_inf_nan=False)
    starts: dt.date
    ends: dt.date
    signed: dt.date | None = None
    evidence: list[Literal["contract", "invoice", "delivery_proof"]] = Field(max_length=3)


class ClaimDecisionRequest(_Wire):
    approve: bool


class ProgrammeClaimResponse(_Wire):
    claim_id: str
    programme: str
    tenant: str
    contract: str
    contract_amount: Yuan
    starts: dt.date
    ends: dt.date
    evidence: list[str]
    claimed_on: dt.date
    status: str
    status_text: str
    approved_amount: Yuan
    decided_on: dt.date | None
    expires_on: dt.date | None


class PurchaseRequest(_Wire):
    """A provider's purchase of domestic AI-chip servers (provider subsidy, seed 004 §2)."""

    provider: str = Field(min_length=1, max_length=64, description="a provider of the fleet")
    project: str = Field(min_length=1, max_length=200, description="the subsidised project")
    accelerator: str = Field(
        min_length=1, max_length=64, description="a domestic accelerator model of the catalog"
    )
    servers: int = Field(ge=1, le=1_000_000)
    amount: Amount = Field(description="yuan: the domestic AI-chip server part of the contract")
    evidence: str = Field(min_length=1, max_length=2000)
    listed_cluster: str | None = Field(
        default=None,
        max_length=64,
        description="the provider's cluster the servers are listed on; omitted: not listed",
    )
    signed: dt.date | None = None


class PurchaseResponse(_Wire):
    purchase_id: str
    provider: str
    project: str
    accelerator: str
    servers: int
    amount: Yuan
    listed_cluster: str | None
    listed: bool
    signed: dt.date
    evidence: str
    subsidised: bool
    subsidy: Yuan


class SubsidyResponse(DeductionResponse):
    """The provider subsidy of one purchase: amount, subsidy, project cap left, and why."""

    purchase_id: str
    provider: str
    project: str
    accelerator: str
    servers: int
    listed_cluster: str | None
    project_cap_left: Yuan | None
    settled_at: dt.datetime
    posted: bool

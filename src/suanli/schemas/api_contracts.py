"""Wire models of model contracts, voucher claims and standing, purchases and subsidies
(the REST API's and the typed client's; split from ``schemas.api``, whose shapes they use)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StrictBool, WithJsonSchema

from suanli.domain.tenants import TENANT_PATTERN
from suanli.schemas.api import YUAN_IN, DeductionResponse, Wire, Yuan

ContractKind = Literal[
    "private_deployment", "cloud_deployment", "api_calls", "all_in_one", "all_in_one_model_part"
]
Amount = Annotated[
    Decimal,
    Field(gt=0, le=10**12, decimal_places=2, allow_inf_nan=False),
    WithJsonSchema({**YUAN_IN, "description": "yuan, more than 0"}),
]


class ContractRequest(Wire):
    """A model contract to record; only domestic (技术自主可控) base models qualify."""

    tenant: str = Field(pattern=TENANT_PATTERN)
    vendor: str = Field(min_length=1, max_length=200)
    model: str = Field(min_length=1, max_length=200)
    kind: ContractKind = Field(description="all_in_one: the model part of an all-in-one machine")
    domestic: StrictBool = Field(
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


class ContractResponse(Wire):
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


class RedeemRequest(Wire):
    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-11"])
    completed: Amount


class ProgrammeStandingResponse(Wire):
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


class VoucherStandingResponse(Wire):
    tenant: str
    display_name: str
    on: dt.date
    programmes: list[ProgrammeStandingResponse]


class ClaimRequest(Wire):
    tenant: str = Field(pattern=TENANT_PATTERN)
    programme: str = Field(min_length=1, max_length=64)


class ClaimResponse(Wire):
    tenant: str
    programme: str
    claimed_at: dt.datetime
    recorded_by: str
    new: bool
    claim_required: bool


class ProgrammeClaimRequest(Wire):
    """A claim of a programme with a claim step, against a contract (申领)."""

    tenant: str = Field(pattern=TENANT_PATTERN)
    programme: str = Field(min_length=1, max_length=64)
    contract: str = Field(min_length=1, max_length=200, description="the contract number")
    amount: Decimal = Field(gt=0, le=10**12, decimal_places=2, allow_inf_nan=False)
    starts: dt.date
    ends: dt.date
    signed: dt.date | None = None
    evidence: list[Literal["contract", "invoice", "delivery_proof"]] = Field(max_length=3)


class ClaimDecisionRequest(Wire):
    approve: bool


class ProgrammeClaimResponse(Wire):
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


class PurchaseRequest(Wire):
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


class PurchaseResponse(Wire):
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

"""Model contracts, redemptions, voucher standings and claims to wire models."""

from __future__ import annotations

import datetime as dt

from suanli.api.convert_billing import opt_yuan, redemption_to_response, yuan
from suanli.billing.claims import Claim
from suanli.billing.model_contracts import ModelContract, ModelUse
from suanli.billing.money import ZERO
from suanli.domain.i18n import Lang, render
from suanli.domain.tenants import Tenant
from suanli.schemas.api_contracts import (
    ClaimResponse,
    ContractResponse,
    ProgrammeClaimResponse,
    ProgrammeStandingResponse,
    VoucherStandingResponse,
)
from suanli.service.contracts import ContractView, Standing

__all__ = ["redemption_to_response"]
from suanli.store.base import VoucherClaim

# The CLI's short name for "the model part of an all-in-one machine" (seed 004 §7).
KIND_ALIASES = {"all_in_one": ModelUse.ALL_IN_ONE_MODEL_PART}


def model_use(kind: str) -> ModelUse:
    return KIND_ALIASES.get(kind) or ModelUse(kind)


def contract_to_response(c: ModelContract, view: ContractView | None = None) -> ContractResponse:
    completed = view.completed if view else ZERO
    return ContractResponse(
        contract_id=c.contract_id,
        tenant=c.tenant,
        vendor=c.vendor,
        model=c.model,
        kind=c.use.value,
        domestic=c.domestic_base_model,
        amount=yuan(c.amount),
        signed=c.signed_on,
        evidence=c.evidence,
        completed=yuan(completed),
        left=yuan(c.amount - completed),
        model_voucher=yuan(view.voucher if view else ZERO),
    )


def standing_to_response(
    tenant: Tenant, on: dt.date, standings: list[Standing], lang: Lang
) -> VoucherStandingResponse:
    return VoucherStandingResponse(
        tenant=tenant.name,
        display_name=tenant.display_name,
        on=on,
        programmes=[_standing(s, lang) for s in standings],
    )


def _standing(s: Standing, lang: Lang) -> ProgrammeStandingResponse:
    p = s.policy
    return ProgrammeStandingResponse(
        programme=p.programme,
        version=p.version,
        kind=p.kind.value,
        title=p.title,
        eligible=s.eligible,
        why_not=s.why(lang),
        claim_required=p.claim_required,
        claimed_at=s.claimed_at,
        tenant_cap=opt_yuan(p.tenant_cap),
        cap_scope=p.tenant_cap_scope.value,
        cap_period=s.cap_period,
        used=yuan(s.used),
        cap_left=opt_yuan(s.cap_left),
        year=s.on.year,
        annual_pool=opt_yuan(p.annual_pool),
        pool_used=yuan(s.pool_used),
        pool_left=opt_yuan(s.pool_left),
    )


def claim_to_response(c: VoucherClaim, new: bool, claim_required: bool) -> ClaimResponse:
    return ClaimResponse(
        tenant=c.tenant,
        programme=c.programme,
        claimed_at=c.claimed_at,
        recorded_by=c.recorded_by,
        new=new,
        claim_required=claim_required,
    )


def programme_claim_to_response(c: Claim, lang: Lang) -> ProgrammeClaimResponse:
    k = c.contract
    return ProgrammeClaimResponse(
        claim_id=c.claim_id,
        programme=c.programme,
        tenant=c.company,
        contract=k.reference,
        contract_amount=f"{k.amount:.2f}",
        starts=k.starts_on,
        ends=k.ends_on,
        evidence=sorted(e.value for e in c.evidence),
        claimed_on=c.claimed_on,
        status=c.status.value,
        status_text=render(f"claim.status.{c.status.value}", lang),
        approved_amount=f"{c.approved_amount:.2f}",
        decided_on=c.decided_on,
        expires_on=c.expires_on,
    )

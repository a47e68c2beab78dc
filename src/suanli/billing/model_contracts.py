"""模型券: a share of what a company actually completed on a domestic base-model contract.

The shipped programme (seed 004 §7) pays 50 % of the completed contract amount for
技术自主可控 base models (private deployment, cloud deployment, API calls, the model
part of all-in-one machines); other programmes' rates, caps and model facts (e.g. a
registered model) are their files'. Seed 002 §6.3: model vouchers are redeemed per
period (定期兑付). Each period's charge is the contract amount *completed*
in that period, so a contract can never be subsidised on more than its own amount.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from suanli.billing.claims import Claim
from suanli.billing.money import exact, is_fen
from suanli.billing.policy import Attribute, Evidence, VoucherKind, VoucherPolicy
from suanli.billing.vouchers import Charge, Deduction, VoucherUsage, decide


class ModelUse(StrEnum):
    """The four contract kinds §7 names."""

    PRIVATE_DEPLOYMENT = "private_deployment"
    CLOUD_DEPLOYMENT = "cloud_deployment"
    API_CALLS = "api_calls"
    ALL_IN_ONE_MODEL_PART = "all_in_one_model_part"


@dataclass(frozen=True)
class ModelContract:
    """A company's contract for a base model, as recorded with its evidence."""

    contract_id: str
    tenant: str
    vendor: str
    model: str
    use: ModelUse
    domestic_base_model: bool  # 技术自主可控: decides the rate (0 for non-domestic)
    amount: Decimal  # the contract's total, yuan
    signed_on: dt.date
    evidence: str = ""  # a document reference (contract number, file hash)
    # Facts of the model bought that programmes may ask about (eligibility ``of: charge``),
    # e.g. ``model_registered`` (网信办备案) or ``third_party_model``.
    facts: Mapping[str, Attribute] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not is_fen(exact(self.amount)) or self.amount <= 0:
            raise ValueError(f"{self.contract_id}: amount must be a positive fen amount")


def model_charge(
    contract: ModelContract,
    period: str,
    completed_to_date: Decimal,
    completed_before: Decimal,
    on: dt.date,
) -> Charge:
    """The charge for one redemption period: completed this period, within the contract.

    ``completed_to_date`` is the cumulative amount actually completed (paid and
    delivered) at the end of ``period``; ``completed_before`` what earlier periods
    already counted. Both are capped at the contract amount.
    """
    upto = min(exact(completed_to_date), contract.amount)
    before = min(exact(completed_before), contract.amount)
    if upto < before:
        raise ValueError(f"{contract.contract_id}: completion went backwards in {period}")
    return Charge(
        key=f"model:{contract.contract_id}:{period}",
        kind=VoucherKind.MODEL,
        company=contract.tenant,
        gross=upto - before,
        domestic=contract.domestic_base_model,
        on=on,
        attributes={**contract.facts, "model_use": contract.use.value},
        # a completed amount is paid and delivered: invoiced, with proof of delivery
        evidence=frozenset({Evidence.INVOICE, Evidence.DELIVERY_PROOF}),
    )


def redeem_model_contract(
    contract: ModelContract,
    period: str,
    completed_to_date: Decimal,
    completed_before: Decimal,
    on: dt.date,
    company_attributes: Mapping[str, Attribute],
    policies: Iterable[VoucherPolicy],
    usage: VoucherUsage,
    claimed: Collection[str] = (),
    claims: Sequence[Claim] = (),
) -> Deduction:
    """How much the model voucher pays for ``period`` of ``contract``, with the reasons."""
    charge = model_charge(contract, period, completed_to_date, completed_before, on)
    return decide(charge, company_attributes, policies, usage, claimed, claims)

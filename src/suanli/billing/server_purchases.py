"""Provider subsidy: a share of a provider's purchase of domestic AI-chip servers.

Seed 004 §2: a cloud provider that buys domestic AI-chip servers and lists them on the
zone's scheduling platform earns up to 10 % of the domestic-server part of the purchase
contract, at most 10,000,000 yuan per project. Only that part is passed in, so the
charge is domestic by construction; whether the servers are listed is a fact of the
purchase that the policy's eligibility rule ``listed_on_platform`` checks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from suanli.billing.money import exact, is_fen
from suanli.billing.policy import Attribute, VoucherKind, VoucherPolicy
from suanli.billing.vouchers import Charge, Deduction, VoucherUsage, decide


@dataclass(frozen=True)
class ServerPurchase:
    """One purchase contract's domestic AI-chip server part, for one project."""

    purchase_id: str
    provider: str
    project: str
    domestic_server_amount: Decimal  # yuan: only the 国产智算芯片服务器 part of the contract
    listed_on_platform: bool
    contract_on: dt.date
    evidence: str = ""

    def __post_init__(self) -> None:
        if not is_fen(exact(self.domestic_server_amount)) or self.domestic_server_amount < 0:
            raise ValueError(f"{self.purchase_id}: amount must be a non-negative fen amount")


def purchase_charge(purchase: ServerPurchase) -> Charge:
    return Charge(
        key=f"purchase:{purchase.purchase_id}",
        kind=VoucherKind.PROVIDER_SUBSIDY,
        company=purchase.provider,
        gross=purchase.domestic_server_amount,
        domestic=True,
        on=purchase.contract_on,
        project=purchase.project,
        attributes={"listed_on_platform": purchase.listed_on_platform},
    )


def subsidise_purchase(
    purchase: ServerPurchase,
    provider_attributes: Mapping[str, Attribute],
    policies: Iterable[VoucherPolicy],
    usage: VoucherUsage,
) -> Deduction:
    """The provider subsidy for ``purchase``; ``amount`` is what the provider earns."""
    return decide(purchase_charge(purchase), provider_attributes, policies, usage)

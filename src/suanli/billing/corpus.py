"""语料券: a share of what a company paid for a training corpus bought from others.

A corpus purchase is a charge of kind ``corpus``; the facts programmes ask about (was
the seller a related party, was it bought through a data exchange) are the purchase's
own, read by eligibility rules with ``of: charge``. The voucher credits the company's
cash like a 模型券 redemption (``settlement.model_redemption_entry``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from suanli.billing.claims import Claim
from suanli.billing.money import exact, is_fen
from suanli.billing.policy import Attribute, Evidence, VoucherKind, VoucherPolicy
from suanli.billing.vouchers import Charge, Deduction, VoucherUsage, decide


@dataclass(frozen=True)
class CorpusPurchase:
    """One corpus (training data) purchase, as recorded with its evidence."""

    purchase_id: str
    company: str
    seller: str
    amount: Decimal  # yuan
    bought_on: dt.date
    seller_unrelated: bool  # 非关联方
    via_data_exchange: bool  # bought through a data exchange (数据交易平台)
    evidence: frozenset[Evidence] = frozenset()

    def __post_init__(self) -> None:
        amount = exact(self.amount)
        if not is_fen(amount) or amount <= 0:
            raise ValueError(f"{self.purchase_id}: amount must be a positive fen amount")


def corpus_charge(purchase: CorpusPurchase) -> Charge:
    return Charge(
        key=f"corpus:{purchase.purchase_id}",
        kind=VoucherKind.CORPUS,
        company=purchase.company,
        gross=purchase.amount,
        domestic=True,  # corpus programmes set one rate for both
        on=purchase.bought_on,
        attributes={
            "seller_unrelated": purchase.seller_unrelated,
            "via_data_exchange": purchase.via_data_exchange,
        },
        evidence=purchase.evidence,
    )


def redeem_corpus_purchase(
    purchase: CorpusPurchase,
    company_attributes: Mapping[str, Attribute],
    policies: Iterable[VoucherPolicy],
    usage: VoucherUsage,
    claimed: Collection[str] = (),
    claims: Sequence[Claim] = (),
) -> Deduction:
    """The corpus voucher for ``purchase``, with the reasons."""
    return decide(corpus_charge(purchase), company_attributes, policies, usage, claimed, claims)

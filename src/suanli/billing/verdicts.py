"""One programme's verdict on one charge: the outcome, what it would give, and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from suanli.billing.money import ZERO, mul
from suanli.domain.i18n import Lang, render


class Outcome(StrEnum):
    APPLIED = "applied"
    NOT_BEST = "not_best"
    WRONG_KIND = "wrong_kind"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    INELIGIBLE = "ineligible"
    NOT_CLAIMED = "not_claimed"
    RATE_ZERO = "rate_zero"
    NO_PROJECT = "no_project"
    POOL_DRY = "pool_dry"
    CAP_REACHED = "cap_reached"
    PROJECT_CAP_REACHED = "project_cap_reached"
    BELOW_FEN = "below_fen"
    CLAIM_PENDING = "claim_pending"  # claimed, not yet approved
    CLAIM_REJECTED = "claim_rejected"
    CLAIM_EXPIRED = "claim_expired"  # no approved claim covers the charge's date
    CLAIM_USED_UP = "claim_used_up"
    EVIDENCE_MISSING = "evidence_missing"
    SAME_ISSUER = "same_issuer"  # a better programme of the same issuer applied (从优不重复)
    STACK_CAP_REACHED = "stack_cap_reached"  # earlier stacked programmes reached the sum's cap


class Limit(StrEnum):
    """What held a deduction down: the rate itself, or the smallest cap left."""

    RATE = "rate"
    TENANT_CAP = "tenant_cap"
    PROJECT_CAP = "project_cap"
    POOL = "pool"
    CLAIM = "claim"  # the approved claim's amount left
    STACK_CAP = "stack_cap"  # the cap on the sum of stacked programmes


@dataclass(frozen=True, slots=True)
class Consideration:
    """One programme's verdict on one charge, with what it would have given."""

    programme: str
    version: int
    outcome: Outcome
    rate: Decimal = ZERO
    ceiling: Decimal = ZERO  # floor_fen(gross x rate): the most the rate allows
    offer: Decimal = ZERO  # what it would deduct, after caps and pool
    limit: Limit | None = None
    pool_left: Decimal | None = None  # before this charge; None: the programme has no pool
    company_left: Decimal | None = None
    project_left: Decimal | None = None
    cap_period: str = ""  # the year, or "all" for a programme-long company cap
    params: Mapping[str, Any] = field(default_factory=dict)
    issuer: str = ""  # who pays (the programme itself when its file names none)
    order: int | None = None  # 1, 2, ...: the place in which an applied programme applied
    claim: str | None = None  # the approved claim redeemed against, if the programme has claims
    claim_left: Decimal | None = None  # before this charge

    def explain(self, gross: Decimal, lang: Lang = "en") -> str:
        params = {
            "programme": self.programme,
            "gross": fmt_yuan(gross),
            "rate": fmt_rate(self.rate),
            "ceiling": fmt_yuan(self.ceiling),
            "amount": fmt_yuan(self.offer),
            "offer": fmt_yuan(self.offer),
            "limit": f"limit.{self.limit.value}" if self.limit else "",
            "order": self.order or "",
            "issuer": self.issuer or self.programme,
            "claim": self.claim or "",
            **self.params,
        }
        return render(f"voucher.{self.outcome.value}", lang, **params)


def fmt_yuan(amount: Decimal) -> str:
    return f"¥{amount:,.2f}"


def fmt_rate(rate: Decimal) -> str:
    pct = f"{mul(rate, Decimal(100)):f}"
    return (pct.rstrip("0").rstrip(".") if "." in pct else pct) + "%"

"""Claim → approval → redemption: a company's claim of a programme against a contract.

Some programmes pay only against a claim: the company claims with its signed contract
(申领), the issuer approves an amount (a share of the contract, within the company's cap),
and charges are then redeemed against the approved claim with an invoice and a delivery
proof (兑付) until it is used up or expires. Which of these steps a programme has, and
their limits, are the policy file's ``claim`` block (:class:`~suanli.billing.policy.ClaimRules`);
this module only checks a claim against them and works out the approval. Pure: no store,
no clock; the caller passes the date and what the company has already used or reserved.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from suanli.billing.money import ZERO, exact, floor_fen, is_fen, mul
from suanli.billing.policy import Evidence, VoucherPolicy


class ClaimStatus(StrEnum):
    PENDING = "pending"  # claimed, waiting for the issuer's approval
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ContractRef:
    """The contract a claim is made against (a compute, model or corpus contract)."""

    reference: str  # the contract number
    amount: Decimal
    signed_on: dt.date
    starts_on: dt.date
    ends_on: dt.date  # inclusive

    def __post_init__(self) -> None:
        if not is_fen(exact(self.amount)) or self.amount <= 0:
            raise ValueError(f"{self.reference}: amount must be a positive fen amount")
        if self.ends_on < self.starts_on:
            raise ValueError(f"{self.reference}: the contract ends before it starts")

    @property
    def months(self) -> int:
        """The term in whole months, a started month counted whole (1 Jan-31 Dec: 12)."""
        return months_spanned(self.starts_on, self.ends_on)


def months_spanned(start: dt.date, end: dt.date) -> int:
    """Months from ``start`` to ``end`` inclusive; a part month counts as a month."""
    whole = (end.year - start.year) * 12 + (end.month - start.month)
    # the last day of the span: ``start`` moved by ``whole`` months, minus one day
    if add_months(start, whole) - dt.timedelta(days=1) >= end:
        return max(whole, 1)
    return whole + 1


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` calendar months (the 31st clamps to the month's end)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


@dataclass(frozen=True)
class Claim:
    """One claim of one programme by one company, against one contract."""

    claim_id: str
    programme: str
    company: str
    contract: ContractRef
    claimed_on: dt.date
    evidence: frozenset[Evidence] = frozenset()
    status: ClaimStatus = ClaimStatus.PENDING
    approved_amount: Decimal = ZERO
    decided_on: dt.date | None = None
    expires_on: dt.date | None = None  # inclusive; set on approval

    def pays_on(self, on: dt.date) -> bool:
        """Whether charges dated ``on`` may be redeemed against the claim."""
        return (
            self.status is ClaimStatus.APPROVED
            and self.expires_on is not None
            and self.contract.starts_on <= on <= self.expires_on
        )


class ClaimProblem(StrEnum):
    NO_CLAIM_STEP = "no_claim_step"  # the programme takes no claims
    OUTSIDE_VALIDITY = "outside_validity"
    SIGNED_TOO_EARLY = "signed_too_early"
    CONTRACT_TOO_LONG = "contract_too_long"
    EVIDENCE_MISSING = "evidence_missing"
    CONTRACT_CLAIMED = "contract_claimed"
    NOTHING_LEFT = "nothing_left"  # the company's cap is used or reserved already


@dataclass(frozen=True)
class ClaimCheck:
    """Why a claim cannot be approved; ``params`` fill the ``claim.<problem>`` message."""

    problem: ClaimProblem
    params: dict[str, Any] = field(default_factory=dict)


def check_claim(
    policy: VoucherPolicy, claim: Claim, others: Iterable[Claim] = ()
) -> list[ClaimCheck]:
    """Every reason the programme's claim rules refuse ``claim`` (empty: it may be approved).

    ``others``: the programme's other claims (any company); a contract may carry at most
    ``claims_per_contract`` claims that were not rejected.
    """
    rules = policy.claim
    if rules is None:
        return [ClaimCheck(ClaimProblem.NO_CLAIM_STEP, {"programme": policy.programme})]
    out: list[ClaimCheck] = []
    c = claim.contract
    if not policy.is_valid_on(claim.claimed_on):
        out.append(
            ClaimCheck(
                ClaimProblem.OUTSIDE_VALIDITY,
                {
                    "on": claim.claimed_on,
                    "valid_from": policy.valid_from,
                    "valid_to": policy.valid_to,
                },
            )
        )
    if rules.contracts_signed_from is not None and c.signed_on < rules.contracts_signed_from:
        out.append(
            ClaimCheck(
                ClaimProblem.SIGNED_TOO_EARLY,
                {
                    "signed": c.signed_on,
                    "earliest": rules.contracts_signed_from,
                    "cite": rules.cite,
                },
            )
        )
    if rules.max_contract_months is not None and c.months > rules.max_contract_months:
        out.append(
            ClaimCheck(
                ClaimProblem.CONTRACT_TOO_LONG,
                {"months": c.months, "most": rules.max_contract_months, "cite": rules.cite},
            )
        )
    missing = [e.value for e in rules.evidence_to_claim if e not in claim.evidence]
    if missing:
        out.append(
            ClaimCheck(
                ClaimProblem.EVIDENCE_MISSING,
                {"missing": ", ".join(missing), "step": "claim.step_claim"},
            )
        )
    same = [
        o
        for o in others
        if o.claim_id != claim.claim_id
        and o.company == claim.company
        and o.contract.reference == c.reference
        and o.status is not ClaimStatus.REJECTED
    ]
    if len(same) >= rules.claims_per_contract:
        out.append(
            ClaimCheck(
                ClaimProblem.CONTRACT_CLAIMED,
                {"contract": c.reference, "most": rules.claims_per_contract, "cite": rules.cite},
            )
        )
    return out


def approval_amount(policy: VoucherPolicy, claim: Claim, committed: Decimal = ZERO) -> Decimal:
    """What an approval reserves: the contract share, within the company's cap left.

    ``committed``: what the company has used of the programme in the cap period of the
    approval and what its other approved claims still reserve (申领和兑付 both count).
    """
    rules = policy.claim
    share = rules.contract_share if rules is not None else None
    c = claim.contract
    amount = c.amount if share is None else floor_fen(mul(c.amount, share))
    if policy.tenant_cap is not None:
        amount = min(amount, max(policy.tenant_cap - committed, ZERO))
    return amount


def approve(
    policy: VoucherPolicy,
    claim: Claim,
    on: dt.date,
    committed: Decimal = ZERO,
    others: Iterable[Claim] = (),
) -> Claim | list[ClaimCheck]:
    """The approved claim, or the reasons it cannot be approved.

    ``committed``: see :func:`approval_amount`. The claim expires at the earliest of: the
    contract's end, ``expires_after_days`` after approval, the programme's end.
    """
    problems = check_claim(policy, claim, others)
    amount = approval_amount(policy, claim, committed)
    if amount <= 0 and not problems:
        problems = [ClaimCheck(ClaimProblem.NOTHING_LEFT, {"cap": policy.tenant_cap})]
    if problems:
        return problems
    rules = policy.claim
    ends = [claim.contract.ends_on, policy.valid_to]
    if rules is not None and rules.expires_after_days is not None:
        ends.append(on + dt.timedelta(days=rules.expires_after_days))
    return replace(
        claim,
        status=ClaimStatus.APPROVED,
        approved_amount=amount,
        decided_on=on,
        expires_on=min(ends),
    )


def reject(claim: Claim, on: dt.date) -> Claim:
    return replace(claim, status=ClaimStatus.REJECTED, decided_on=on)

"""Claims of programmes with a claim step: file (申领), decide (核准), and what bills use.

A claim names the contract it is made against and the evidence filed with it; the
programme's file says what a claim needs (``claim`` block). Filing checks the request;
the decision runs the programme's rules (``billing.claims.approve``): the share of the
contract, the company's cap left after what it used and what its other approved claims
still reserve, the longest contract, the evidence. An approved claim is what the
settlement of later bill lines redeems against, until it is used up or expires.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal

from suanli.billing.claims import Claim, ClaimStatus, ContractRef, approve, reject
from suanli.billing.metering import local_date
from suanli.billing.money import ZERO
from suanli.billing.policy import Evidence
from suanli.domain.errors import Conflict, FieldError, InvalidInput, NotFound
from suanli.service.bills import billing_of
from suanli.service.contracts import contracts_of
from suanli.service.deps import Billing, Platform

MAX_CONTRACT = Decimal(10) ** 12


def file_claim(
    p: Platform,
    tenant: str,
    programme: str,
    reference: str,
    amount: Decimal,
    starts: dt.date,
    ends: dt.date,
    evidence: list[str],
    signed: dt.date | None = None,
) -> Claim:
    """Record ``tenant``'s claim of ``programme`` against a contract; a programme whose
    file asks for no approval approves it at once."""
    b = billing_of(p)
    store = contracts_of(b)
    errors: list[FieldError] = []
    if b.tenants.get(tenant) is None:
        known = ", ".join(t.name for t in b.tenants.all())
        errors.append(FieldError("tenant", "unknown_tenant", tenant, known))
    policy = b.policy(programme)
    if policy is None or policy.claim is None:
        known = ", ".join(sorted({x.programme for x in b.policies if x.claim is not None}))
        errors.append(FieldError("programme", "not_allowed", programme, known or "-"))
    if amount <= 0 or amount > MAX_CONTRACT or amount != amount.quantize(Decimal("0.01")):
        errors.append(FieldError("amount", "amount_positive", str(amount)))
    if ends < starts:
        errors.append(FieldError("ends", "out_of_range", str(ends), f">= {starts}"))
    kinds = {e.value for e in Evidence}
    errors += [
        FieldError("evidence", "not_allowed", e, ", ".join(sorted(kinds)))
        for e in evidence
        if e not in kinds
    ]
    if not reference.strip() or len(reference) > 200:
        errors.append(FieldError("contract", "missing", reference))
    if errors or policy is None or policy.claim is None:
        raise InvalidInput("invalid_request", errors=errors)
    today = local_date(p.clock.now())
    claim = Claim(
        claim_id=f"cl-{secrets.token_hex(5)}",
        programme=programme,
        company=tenant,
        contract=ContractRef(reference.strip(), amount, signed or starts, starts, ends),
        claimed_on=today,
        evidence=frozenset(Evidence(e) for e in evidence),
    )
    store.add_programme_claim(claim, p.clock.now())
    if not policy.claim.approval:
        return decide_claim(p, claim.claim_id, approved=True)
    return claim


def decide_claim(p: Platform, claim_id: str, approved: bool) -> Claim:
    """Approve (within the programme's rules) or reject a pending claim."""
    b = billing_of(p)
    store = contracts_of(b)
    everyone = store.programme_claims()
    claim = next((c for c in everyone if c.claim_id == claim_id), None)
    if claim is None:
        raise NotFound("claim_not_found", claim=claim_id)
    if claim.status is not ClaimStatus.PENDING:
        raise Conflict("claim_decided", claim=claim_id, status=claim.status.value)
    today = local_date(p.clock.now())
    if approved:
        policy = b.policy(claim.programme)
        if policy is None:
            known = ", ".join(sorted({x.programme for x in b.policies}))
            raise NotFound("programme_not_found", programme=claim.programme, allowed=known)
        others = [c for c in everyone if c.programme == claim.programme]
        result = approve(policy, claim, today, committed(b, claim, today), others)
        if isinstance(result, list):
            raise InvalidInput(
                "claim_refused",
                errors=[
                    FieldError("claim", f"claim.{x.problem.value}", claim_id, params=x.params)
                    for x in result
                ],
            )
        decided = result
    else:
        decided = reject(claim, today)
    if not store.decide_programme_claim(decided):
        raise Conflict("claim_decided", claim=claim_id, status="decided")
    return decided


def committed(b: Billing, claim: Claim, on: dt.date) -> Decimal:
    """What the company used of the programme in the cap period of ``on`` plus what its
    other approved, unexpired claims still reserve (申领和兑付 both count)."""
    policy = b.policy(claim.programme)
    if policy is None:
        return ZERO
    usage = b.store.voucher_usage()
    used = usage.company_used.get((policy.programme, claim.company, policy.cap_period(on)), ZERO)
    reserved = ZERO
    for other in claims_of(b, claim.company):
        if (
            other.claim_id != claim.claim_id
            and other.programme == claim.programme
            and other.status is ClaimStatus.APPROVED
            and other.expires_on is not None
            and other.expires_on >= on
        ):
            reserved += max(usage.claim_left(other), ZERO)
    return used + reserved


def claims_of(b: Billing, tenant: str | None = None) -> list[Claim]:
    """The claims that bills redeem against (none when no programme has a claim step)."""
    if b.contracts is None or not any(x.claim is not None for x in b.policies):
        return []
    return b.contracts.programme_claims(tenant)


def list_claims(p: Platform, tenant: str | None = None) -> list[Claim]:
    return contracts_of(billing_of(p)).programme_claims(tenant)

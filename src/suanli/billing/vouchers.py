"""The voucher engine: for one charge, which programmes reduce it, by how much, and why.

Pure: the caller passes the charge, the company's attributes, the policies in force,
how much of each cap and pool is already used (:class:`VoucherUsage`) and the company's
claims; the answer is a :class:`Deduction` that explains every programme, applied or
not. Programmes combine in two ways (see ``billing.stacking``): 从优不重复 ("the most
favourable one, never two") by default and always within one issuer; and stacking across
issuers (city + district) in a stated order under a cap on the sum, for programmes whose
file says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from suanli.billing.claims import Claim, ClaimStatus
from suanli.billing.money import ZERO, exact, floor_fen, is_fen, mul
from suanli.billing.policy import Attribute, Evidence, FactOf, VoucherKind, VoucherPolicy
from suanli.billing.pricing import BillLine
from suanli.billing.stacking import combine
from suanli.billing.verdicts import Consideration, Limit, Outcome, fmt_rate, fmt_yuan
from suanli.domain.i18n import Lang, render
from suanli.domain.records import replacer

__all__ = [
    "Charge",
    "Consideration",
    "Deduction",
    "Limit",
    "Outcome",
    "VoucherKind",
    "VoucherUsage",
    "charge_for_line",
    "consider",
    "decide",
    "fmt_rate",
    "fmt_yuan",
]

# ``dataclasses.replace`` for a consideration, faster (every policy, every charge).
_considered = replacer(Consideration)


@dataclass(frozen=True, slots=True)
class Charge:
    """An amount a programme may reduce: a bill line, a model-contract period, a purchase."""

    key: str
    kind: VoucherKind
    company: str  # the tenant (or the provider, for a provider subsidy)
    gross: Decimal
    domestic: bool
    on: dt.date  # decides the validity window and the cap/pool year
    project: str | None = None
    attributes: Mapping[str, Attribute] = field(default_factory=dict)  # facts of the charge
    evidence: frozenset[Evidence] = frozenset()  # documents backing the charge (兑付 material)
    # For a charge that is one settlement of a running bill (a caller's token spend in a
    # month): the gross billed by the bill's earlier settlements. A programme's rate is then
    # applied to the running total and rounded once, ``floor(rate x (before + gross)) -
    # floor(rate x before)``, so a month's settlements deduct floor(rate x month's gross)
    # whatever their number, not up to a fen less per settlement.
    gross_before: Decimal = ZERO

    def __post_init__(self) -> None:
        if not is_fen(exact(self.gross)) or self.gross < 0:
            raise ValueError(f"{self.key}: gross must be a non-negative fen amount")
        if not is_fen(exact(self.gross_before)) or self.gross_before < 0:
            raise ValueError(f"{self.key}: gross before must be a non-negative fen amount")

    def rate_ceiling(self, rate: Decimal) -> Decimal:
        """At most rate x gross, to the fen rounded down, on the running total (see above)."""
        before = self.gross_before
        return floor_fen(mul(before + self.gross, rate)) - floor_fen(mul(before, rate))


# A settled compute line carries its own redemption evidence: the meter reading of the
# attempt is the delivery proof, and the settled line is the platform's invoice line.
PLATFORM_EVIDENCE = frozenset({Evidence.DELIVERY_PROOF, Evidence.INVOICE})


def charge_for_line(line: BillLine) -> Charge:
    """A compute bill line as a charge for the 算力券-kind programmes."""
    u = line.usage
    return Charge(
        line.key,
        VoucherKind.COMPUTE,
        u.tenant,
        line.gross,
        u.domestic,
        u.on,
        u.project,
        evidence=PLATFORM_EVIDENCE,
    )


@dataclass(frozen=True)
class VoucherUsage:
    """How much of each pool and cap is used already; the store sums it from settled charges.

    Keys: pools by (programme, year); company caps by (programme, company, cap period —
    the year, or "all" for a programme-long cap); project caps by (programme, project).
    """

    pool_used: Mapping[tuple[str, int], Decimal] = field(default_factory=dict)
    company_used: Mapping[tuple[str, str, str], Decimal] = field(default_factory=dict)
    project_used: Mapping[tuple[str, str], Decimal] = field(default_factory=dict)
    claim_used: Mapping[str, Decimal] = field(default_factory=dict)  # by claim id

    def pool_left(self, policy: VoucherPolicy, year: int) -> Decimal | None:
        if policy.annual_pool is None:
            return None
        return policy.annual_pool - self.pool_used.get((policy.programme, year), ZERO)

    def company_left(self, policy: VoucherPolicy, company: str, on: dt.date) -> Decimal | None:
        if policy.tenant_cap is None:
            return None
        used = self.company_used.get((policy.programme, company, policy.cap_period(on)), ZERO)
        return policy.tenant_cap - used

    def project_left(self, policy: VoucherPolicy, project: str | None) -> Decimal | None:
        if policy.project_cap is None or project is None:
            return None
        return policy.project_cap - self.project_used.get((policy.programme, project), ZERO)

    def claim_left(self, claim: Claim) -> Decimal:
        return claim.approved_amount - self.claim_used.get(claim.claim_id, ZERO)

    def plus(self, deduction: Deduction) -> VoucherUsage:
        """The usage after ``deduction`` (a new value; the old one is unchanged)."""
        out = self
        for applied in deduction.applied:
            out = out._plus(deduction.charge, applied)
        return out

    def _plus(self, c: Charge, applied: Consideration) -> VoucherUsage:
        d, prog = applied.offer, applied.programme
        pool = _add(self.pool_used, (prog, c.on.year), d)
        company = _add(self.company_used, (prog, c.company, applied.cap_period), d)
        project = self.project_used
        if c.project is not None:
            project = _add(project, (prog, c.project), d)
        claims = self.claim_used
        if applied.claim is not None:
            claims = _add(claims, applied.claim, d)
        return VoucherUsage(pool, company, project, claims)


K = TypeVar("K")


def _add(m: Mapping[K, Decimal], key: K, amount: Decimal) -> dict[K, Decimal]:
    out = dict(m)
    out[key] = out.get(key, ZERO) + amount
    return out


@dataclass(frozen=True, slots=True)
class Deduction:
    """The decision for one charge: gross, the one programme used, its deduction, the net."""

    charge: Charge
    considered: tuple[Consideration, ...]

    @property
    def applied(self) -> tuple[Consideration, ...]:
        """The programmes that deduct, in the order they applied (one unless stacked)."""
        found = [c for c in self.considered if c.outcome is Outcome.APPLIED]
        return tuple(sorted(found, key=lambda c: c.order or 0))

    @property
    def chosen(self) -> Consideration | None:
        """The first programme applied (the only one unless programmes stacked)."""
        applied = self.applied
        return applied[0] if applied else None

    @property
    def programme(self) -> str | None:
        return self.chosen.programme if self.chosen else None

    @property
    def programmes(self) -> tuple[str, ...]:
        return tuple(c.programme for c in self.applied)

    @property
    def gross(self) -> Decimal:
        return self.charge.gross

    @property
    def amount(self) -> Decimal:
        return sum((c.offer for c in self.applied), ZERO)

    @property
    def net(self) -> Decimal:
        return self.gross - self.amount

    def explain(self, lang: Lang = "en") -> list[str]:
        """One line per programme: the applied ones first in the order they applied."""
        applied = self.applied
        rest = [c for c in self.considered if c.outcome is not Outcome.APPLIED]
        lines = [c.explain(self.gross, lang) for c in (*applied, *rest)]
        if not applied:
            lines.insert(0, render("voucher.none", lang, gross=fmt_yuan(self.gross)))
        elif len(applied) > 1:
            lines.insert(
                0,
                render(
                    "voucher.stacked",
                    lang,
                    programmes=" → ".join(c.programme for c in applied),
                    amount=fmt_yuan(self.amount),
                    gross=fmt_yuan(self.gross),
                    net=fmt_yuan(self.net),
                ),
            )
        return lines

    def to_dict(self, lang: Lang = "en") -> dict[str, Any]:
        """The bill line's explanation as JSON-ready data (amounts as strings, never floats)."""
        chosen = self.chosen
        return {
            "charge": self.charge.key,
            "gross": str(self.gross),
            "programme": self.programme,
            "version": chosen.version if chosen else None,
            "rate": str(chosen.rate) if chosen else None,
            "cap_left": _opt(chosen.company_left) if chosen else None,
            "pool_left": _opt(chosen.pool_left) if chosen else None,
            "deduction": str(self.amount),
            "net": str(self.net),
            "applied": [
                {
                    "programme": c.programme,
                    "order": c.order,
                    "issuer": c.issuer or c.programme,
                    "rate": str(c.rate),
                    "offer": str(c.offer),
                    "limit": c.limit.value if c.limit else None,
                    "claim": c.claim,
                }
                for c in self.applied
            ],
            "considered": [
                {
                    "programme": c.programme,
                    "version": c.version,
                    "outcome": c.outcome.value,
                    "offer": str(c.offer),
                    "why": c.explain(self.gross, lang),
                }
                for c in self.considered
            ],
        }


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def decide(
    charge: Charge,
    company_attributes: Mapping[str, Attribute],
    policies: Iterable[VoucherPolicy],
    usage: VoucherUsage,
    claimed: Collection[str] = (),
    claims: Sequence[Claim] = (),
) -> Deduction:
    """Weigh every policy against ``charge`` and combine those that apply.

    The result never deducts more than, per programme, rate x gross (to the fen, rounded
    down), the company's cap left, the project's cap left, the pool left and the claim
    left; and, all programmes together, the gross (or the stacked programmes' cap on the
    sum). ``claimed``: the programmes the company has claimed (for ``claim_required``
    programmes without claim rules); ``claims``: the company's claims (for programmes
    with a ``claim`` block). See ``billing.stacking`` for how programmes combine.
    """
    ordered = sorted(policies, key=lambda p: (p.programme, p.version))
    mine = [c for c in claims if c.company == charge.company]
    verdicts = [consider(p, charge, company_attributes, usage, claimed, mine) for p in ordered]
    stacking = {p.programme: p.stacking for p in ordered}
    return Deduction(charge, combine(verdicts, stacking, charge.gross))


def consider(
    policy: VoucherPolicy,
    charge: Charge,
    company_attributes: Mapping[str, Attribute],
    usage: VoucherUsage,
    claimed: Collection[str] = (),
    claims: Sequence[Claim] = (),
) -> Consideration:
    """One policy's verdict on one charge, checked in the order a reader would ask."""
    issuer = policy.payer
    refused = _refusal(policy, charge, company_attributes, claimed)
    if refused is not None:
        return _considered(refused, issuer=issuer)
    claim, claim_refusal = _claim_for(policy, charge, usage, claims)
    if claim_refusal is not None:
        return _considered(claim_refusal, issuer=issuer)
    rate = policy.rate_for(charge.domestic, {**company_attributes, **charge.attributes})
    base = Consideration(
        policy.programme,
        policy.version,
        Outcome.APPLIED,
        rate=rate,
        ceiling=charge.rate_ceiling(rate),
        pool_left=usage.pool_left(policy, charge.on.year),
        company_left=usage.company_left(policy, charge.company, charge.on),
        project_left=usage.project_left(policy, charge.project),
        cap_period=policy.cap_period(charge.on),
        issuer=issuer,
        claim=claim.claim_id if claim else None,
        claim_left=usage.claim_left(claim) if claim else None,
    )
    exhausted = _exhausted(policy, charge, base)
    if exhausted is not None:
        return exhausted
    return _offer(base)


def _refusal(
    policy: VoucherPolicy,
    charge: Charge,
    company_attributes: Mapping[str, Attribute],
    claimed: Collection[str] = (),
) -> Consideration | None:
    """Reasons that do not depend on money left: kind, dates, eligibility, coverage."""

    def no(outcome: Outcome, **params: Any) -> Consideration:
        return Consideration(policy.programme, policy.version, outcome, params=params)

    # 1. the programme must cover this kind of charge
    if policy.kind is not charge.kind:
        return no(
            Outcome.WRONG_KIND,
            policy_kind=f"kind.{policy.kind.value}",
            item_kind=f"kind.{charge.kind.value}",
        )
    # 2. the charge must fall inside the validity window (both ends inclusive)
    if charge.on < policy.valid_from:
        return no(Outcome.NOT_YET_VALID, valid_from=policy.valid_from, on=charge.on)
    if charge.on > policy.valid_to:
        return no(Outcome.EXPIRED, valid_to=policy.valid_to, on=charge.on)
    # 3. every eligibility rule, on the company's facts or on the charge's; the first
    #    failure is named
    merged = {**company_attributes, **charge.attributes}
    for rule in policy.eligibility:
        # a company rule reads the charge's facts too (files written before ``of``)
        facts = charge.attributes if rule.of is FactOf.CHARGE else merged
        if not rule.admits(facts):
            return no(
                Outcome.INELIGIBLE,
                attribute=rule.attribute,
                allowed=" | ".join(_show(a) for a in rule.allowed),
                cite=rule.cite or policy.cite,
                value=_show(facts.get(rule.attribute, "—")),
            )
    # 3b. a programme that must be claimed first (claim_required, no claim rules) needs
    #     the company's claim
    if policy.claim is None and policy.claim_required and policy.programme not in claimed:
        return no(Outcome.NOT_CLAIMED)
    # 4. a zero rate (e.g. a model voucher for a non-domestic model) covers nothing
    if policy.rate_for(charge.domestic, merged) == 0:
        what = "what.domestic" if charge.domestic else "what.non_domestic"
        return no(Outcome.RATE_ZERO, what=what)
    # 5. a per-project cap needs a project to count against
    if policy.project_cap is not None and charge.project is None:
        return no(Outcome.NO_PROJECT)
    return None


def _claim_for(
    policy: VoucherPolicy, charge: Charge, usage: VoucherUsage, claims: Sequence[Claim]
) -> tuple[Claim | None, Consideration | None]:
    """For a programme with claim rules: the approved claim the charge redeems against
    (the one that expires first with money left), or why there is none."""
    rules = policy.claim
    if rules is None:
        return None, None

    def no(outcome: Outcome, **params: Any) -> tuple[None, Consideration]:
        return None, Consideration(policy.programme, policy.version, outcome, params=params)

    mine = [c for c in claims if c.programme == policy.programme]
    if not mine:
        return no(Outcome.NOT_CLAIMED)
    approved = [c for c in mine if c.status is ClaimStatus.APPROVED]
    if not approved:
        if any(c.status is ClaimStatus.PENDING for c in mine):
            return no(Outcome.CLAIM_PENDING, claims=", ".join(c.claim_id for c in mine))
        return no(Outcome.CLAIM_REJECTED, claims=", ".join(c.claim_id for c in mine))
    live = sorted(
        (c for c in approved if c.pays_on(charge.on)),
        key=lambda c: (c.expires_on or charge.on, c.claim_id),
    )
    if not live:
        spans = ", ".join(f"{c.claim_id} {c.contract.starts_on}…{c.expires_on}" for c in approved)
        return no(Outcome.CLAIM_EXPIRED, on=charge.on, spans=spans)
    missing = [e.value for e in rules.evidence_to_redeem if e not in charge.evidence]
    if missing:
        return no(Outcome.EVIDENCE_MISSING, missing=", ".join(missing), cite=rules.cite)
    with_money = [c for c in live if usage.claim_left(c) > 0]
    if not with_money:
        return no(
            Outcome.CLAIM_USED_UP,
            claims=", ".join(c.claim_id for c in live),
            amount=fmt_yuan(sum((c.approved_amount for c in live), ZERO)),
        )
    return with_money[0], None


def _show(value: Attribute) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _exhausted(policy: VoucherPolicy, charge: Charge, base: Consideration) -> Consideration | None:
    """Reasons of money: the pool, the company's cap, the project's cap are used up."""
    if base.pool_left is not None and base.pool_left <= 0:
        params = {"year": charge.on.year, "pool": fmt_yuan(policy.annual_pool or ZERO)}
        return _considered(base, outcome=Outcome.POOL_DRY, params=params)
    if base.company_left is not None and base.company_left <= 0:
        scope = f"scope.{policy.tenant_cap_scope.value}"
        params = {"cap": fmt_yuan(policy.tenant_cap or ZERO), "scope": scope}
        return _considered(base, outcome=Outcome.CAP_REACHED, params=params)
    if base.project_left is not None and base.project_left <= 0:
        params = {"cap": fmt_yuan(policy.project_cap or ZERO), "project": charge.project}
        return _considered(base, outcome=Outcome.PROJECT_CAP_REACHED, params=params)
    return None


def _offer(base: Consideration) -> Consideration:
    """min(rate x gross, caps left, pool left, claim left); the binding bound is named."""
    bounds: list[tuple[Decimal, Limit]] = [(base.ceiling, Limit.RATE)]
    for left, limit in (
        (base.company_left, Limit.TENANT_CAP),
        (base.project_left, Limit.PROJECT_CAP),
        (base.pool_left, Limit.POOL),
        (base.claim_left, Limit.CLAIM),
    ):
        if left is not None:
            bounds.append((left, limit))
    amount, limit = min(bounds, key=lambda b: b[0])  # min keeps the first (the rate) on ties
    if amount <= 0:
        return _considered(base, outcome=Outcome.BELOW_FEN)
    return _considered(base, offer=amount, limit=limit)

"""The voucher engine: for one charge, which single programme reduces it, by how much, and why.

Pure: the caller passes the charge, the company's attributes, the policies in force and
how much of each cap and pool is already used (:class:`VoucherUsage`); the answer is a
:class:`Deduction` that explains every programme, applied or not. The seeds' rule
从优不重复 ("the most favourable one, never two") is the only way programmes combine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from suanli.billing.money import ZERO, exact, floor_fen, is_fen, mul
from suanli.billing.policy import Attribute, VoucherKind, VoucherPolicy
from suanli.billing.pricing import BillLine
from suanli.domain.i18n import Lang, render


@dataclass(frozen=True)
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

    def __post_init__(self) -> None:
        if not is_fen(exact(self.gross)) or self.gross < 0:
            raise ValueError(f"{self.key}: gross must be a non-negative fen amount")


def charge_for_line(line: BillLine) -> Charge:
    """A compute bill line as a charge for the 算力券-kind programmes."""
    u = line.usage
    return Charge(line.key, VoucherKind.COMPUTE, u.tenant, line.gross, u.domestic, u.on, u.project)


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


class Limit(StrEnum):
    """What held a deduction down: the rate itself, or the smallest cap left."""

    RATE = "rate"
    TENANT_CAP = "tenant_cap"
    PROJECT_CAP = "project_cap"
    POOL = "pool"


@dataclass(frozen=True)
class VoucherUsage:
    """How much of each pool and cap is used already; the store sums it from settled charges.

    Keys: pools by (programme, year); company caps by (programme, company, cap period —
    the year, or "all" for a programme-long cap); project caps by (programme, project).
    """

    pool_used: Mapping[tuple[str, int], Decimal] = field(default_factory=dict)
    company_used: Mapping[tuple[str, str, str], Decimal] = field(default_factory=dict)
    project_used: Mapping[tuple[str, str], Decimal] = field(default_factory=dict)

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

    def plus(self, deduction: Deduction) -> VoucherUsage:
        """The usage after ``deduction`` (a new value; the old one is unchanged)."""
        chosen = deduction.chosen
        if chosen is None:
            return self
        c, d, prog = deduction.charge, chosen.offer, chosen.programme
        pool = _add(self.pool_used, (prog, c.on.year), d)
        company = _add(self.company_used, (prog, c.company, chosen.cap_period), d)
        project = self.project_used
        if c.project is not None:
            project = _add(project, (prog, c.project), d)
        return VoucherUsage(pool, company, project)


K = TypeVar("K")


def _add(m: Mapping[K, Decimal], key: K, amount: Decimal) -> dict[K, Decimal]:
    out = dict(m)
    out[key] = out.get(key, ZERO) + amount
    return out


@dataclass(frozen=True)
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

    def explain(self, gross: Decimal, lang: Lang = "en") -> str:
        params = {
            "programme": self.programme,
            "gross": fmt_yuan(gross),
            "rate": fmt_rate(self.rate),
            "ceiling": fmt_yuan(self.ceiling),
            "amount": fmt_yuan(self.offer),
            "offer": fmt_yuan(self.offer),
            "limit": f"limit.{self.limit.value}" if self.limit else "",
            **self.params,
        }
        return render(f"voucher.{self.outcome.value}", lang, **params)


@dataclass(frozen=True)
class Deduction:
    """The decision for one charge: gross, the one programme used, its deduction, the net."""

    charge: Charge
    considered: tuple[Consideration, ...]

    @property
    def chosen(self) -> Consideration | None:
        return next((c for c in self.considered if c.outcome is Outcome.APPLIED), None)

    @property
    def programme(self) -> str | None:
        return self.chosen.programme if self.chosen else None

    @property
    def gross(self) -> Decimal:
        return self.charge.gross

    @property
    def amount(self) -> Decimal:
        return self.chosen.offer if self.chosen else ZERO

    @property
    def net(self) -> Decimal:
        return self.gross - self.amount

    def explain(self, lang: Lang = "en") -> list[str]:
        """One line per programme, the applied one first."""
        ordered = sorted(self.considered, key=lambda c: c.outcome is not Outcome.APPLIED)
        lines = [c.explain(self.gross, lang) for c in ordered]
        if self.chosen is None:
            lines.insert(0, render("voucher.none", lang, gross=fmt_yuan(self.gross)))
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


def fmt_yuan(amount: Decimal) -> str:
    return f"¥{amount:,.2f}"


def fmt_rate(rate: Decimal) -> str:
    pct = f"{mul(rate, Decimal(100)):f}"
    return (pct.rstrip("0").rstrip(".") if "." in pct else pct) + "%"


def decide(
    charge: Charge,
    company_attributes: Mapping[str, Attribute],
    policies: Iterable[VoucherPolicy],
    usage: VoucherUsage,
    claimed: Collection[str] = (),
) -> Deduction:
    """Weigh every policy against ``charge`` and apply the single most favourable one.

    Ties go to the programme id that sorts first, so the same inputs always give the same
    answer. The result never deducts more than rate x gross (to the fen, rounded down),
    the company's cap left, the project's cap left or the pool left. ``claimed``: the
    programmes the company has claimed (only read for a ``claim_required`` programme).
    """
    attributes = {**company_attributes, **charge.attributes}
    ordered = sorted(policies, key=lambda p: (p.programme, p.version))
    verdicts = [consider(p, charge, attributes, usage, claimed) for p in ordered]
    return Deduction(charge, _pick_best(verdicts))


def _pick_best(verdicts: list[Consideration]) -> tuple[Consideration, ...]:
    candidates = [v for v in verdicts if v.outcome is Outcome.APPLIED]
    if len(candidates) <= 1:
        return tuple(verdicts)
    best = min(candidates, key=lambda v: (-v.offer, v.programme, v.version))
    beaten = {"chosen": best.programme, "best": fmt_yuan(best.offer)}
    return tuple(
        v
        if v is best or v.outcome is not Outcome.APPLIED
        else replace(v, outcome=Outcome.NOT_BEST, params={**v.params, **beaten})
        for v in verdicts
    )


def consider(
    policy: VoucherPolicy,
    charge: Charge,
    attributes: Mapping[str, Attribute],
    usage: VoucherUsage,
    claimed: Collection[str] = (),
) -> Consideration:
    """One policy's verdict on one charge, checked in the order a reader would ask."""
    refused = _refusal(policy, charge, attributes, claimed)
    if refused is not None:
        return refused
    rate = policy.rate_for(charge.domestic)
    pool = usage.pool_left(policy, charge.on.year)
    company = usage.company_left(policy, charge.company, charge.on)
    project = usage.project_left(policy, charge.project)
    base = Consideration(
        policy.programme,
        policy.version,
        Outcome.APPLIED,
        rate=rate,
        ceiling=floor_fen(mul(charge.gross, rate)),
        pool_left=pool,
        company_left=company,
        project_left=project,
        cap_period=policy.cap_period(charge.on),
    )
    exhausted = _exhausted(policy, charge, base)
    if exhausted is not None:
        return exhausted
    return _offer(base)


def _refusal(
    policy: VoucherPolicy,
    charge: Charge,
    attributes: Mapping[str, Attribute],
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
    # 3. the company must meet every eligibility rule; the first failure is named
    for rule in policy.eligibility:
        if not rule.admits(attributes):
            return no(
                Outcome.INELIGIBLE,
                attribute=rule.attribute,
                allowed=" | ".join(_show(a) for a in rule.allowed),
                cite=rule.cite or policy.cite,
                value=_show(attributes.get(rule.attribute, "—")),
            )
    # 3b. a programme that must be claimed first (claim_required) needs the company's claim
    if policy.claim_required and policy.programme not in claimed:
        return no(Outcome.NOT_CLAIMED)
    # 4. a zero rate (e.g. a model voucher for a non-domestic model) covers nothing
    if policy.rate_for(charge.domestic) == 0:
        what = "what.domestic" if charge.domestic else "what.non_domestic"
        return no(Outcome.RATE_ZERO, what=what)
    # 5. a per-project cap needs a project to count against
    if policy.project_cap is not None and charge.project is None:
        return no(Outcome.NO_PROJECT)
    return None


def _show(value: Attribute) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _exhausted(policy: VoucherPolicy, charge: Charge, base: Consideration) -> Consideration | None:
    """Reasons of money: the pool, the company's cap, the project's cap are used up."""
    if base.pool_left is not None and base.pool_left <= 0:
        params = {"year": charge.on.year, "pool": fmt_yuan(policy.annual_pool or ZERO)}
        return replace(base, outcome=Outcome.POOL_DRY, params=params)
    if base.company_left is not None and base.company_left <= 0:
        scope = f"scope.{policy.tenant_cap_scope.value}"
        params = {"cap": fmt_yuan(policy.tenant_cap or ZERO), "scope": scope}
        return replace(base, outcome=Outcome.CAP_REACHED, params=params)
    if base.project_left is not None and base.project_left <= 0:
        params = {"cap": fmt_yuan(policy.project_cap or ZERO), "project": charge.project}
        return replace(base, outcome=Outcome.PROJECT_CAP_REACHED, params=params)
    return None


def _offer(base: Consideration) -> Consideration:
    """min(rate x gross, caps left, pool left); the binding bound is named for the bill."""
    bounds: list[tuple[Decimal, Limit]] = [(base.ceiling, Limit.RATE)]
    for left, limit in (
        (base.company_left, Limit.TENANT_CAP),
        (base.project_left, Limit.PROJECT_CAP),
        (base.pool_left, Limit.POOL),
    ):
        if left is not None:
            bounds.append((left, limit))
    amount, limit = min(bounds, key=lambda b: b[0])  # min keeps the first (the rate) on ties
    if amount <= 0:
        return replace(base, outcome=Outcome.BELOW_FEN)
    return replace(base, offer=amount, limit=limit)

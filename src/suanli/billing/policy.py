"""Voucher programmes as data: what a policy file says, checked once, then used read-only.

A programme (算力券, 模型券, 语料券, a provider subsidy, another city's scheme) is a
:class:`VoucherPolicy` value loaded from a versioned YAML file by
``suanli.schemas.voucherfile``; a new city is a new file, never new code. The layers
contract keeps ``schemas`` and ``billing`` apart, so the file model reaches this module
through the :class:`PolicyTerms` protocol and :meth:`VoucherPolicy.from_terms`.

The generic rules a file may state, each one optional:

* ``rate_by_class``: a rate for a class of company (e.g. start-ups), replacing the
  domestic / non-domestic rates when the company's attribute matches;
* eligibility ``of: charge``: a fact of the thing bought (a model's registration, how a
  model is used) rather than of the company;
* ``claim``: the programme pays only against an approved claim of a contract (claim →
  approval → redemption), with evidence at each step, a share of the contract per claim,
  a longest contract and an expiry;
* ``stacking``: the programme adds to programmes of *other* issuers (city + district) in
  a stated order under a cap on the sum; without it a programme competes with all
  (从优不重复), and programmes of one issuer always compete.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from suanli.billing.money import exact, is_fen, yuan

Attribute = str | bool


class VoucherKind(StrEnum):
    COMPUTE = "compute"  # 算力券 / 训力券: a share of each compute bill line
    MODEL = "model"  # 模型券: a share of a model contract (API calls, deployment), per period
    CORPUS = "corpus"  # 语料券: a share of a corpus (training data) purchase
    PROVIDER_SUBSIDY = "provider_subsidy"  # a share of a provider's domestic server purchase


class CapScope(StrEnum):
    YEAR = "year"  # the cap resets each calendar year (China time)
    PROGRAMME = "programme"  # the cap counts over the programme's whole life


class FactOf(StrEnum):
    """Whose fact an eligibility rule reads."""

    COMPANY = "company"  # the company's attributes (tenants file, provider record)
    CHARGE = "charge"  # the charge's own facts (the model bought, the purchase listed)


class Evidence(StrEnum):
    """Documents a programme asks for before a claim is approved or a charge redeemed."""

    CONTRACT = "contract"  # the signed service / purchase contract
    INVOICE = "invoice"  # the invoice (发票) for what is redeemed
    DELIVERY_PROOF = "delivery_proof"  # proof of delivery (交付凭证): metered use, acceptance


class EligibilityTerms(Protocol):
    @property
    def attribute(self) -> str: ...
    @property
    def allowed(self) -> Sequence[Attribute]: ...
    @property
    def cite(self) -> str: ...
    @property
    def of(self) -> str: ...


class ClassRateTerms(Protocol):
    @property
    def attribute(self) -> str: ...
    @property
    def value(self) -> Attribute: ...
    @property
    def rate_domestic(self) -> Decimal: ...
    @property
    def rate_non_domestic(self) -> Decimal: ...
    @property
    def cite(self) -> str: ...


class ClaimTerms(Protocol):
    @property
    def approval(self) -> bool: ...
    @property
    def contract_share(self) -> Decimal | None: ...
    @property
    def claims_per_contract(self) -> int: ...
    @property
    def max_contract_months(self) -> int | None: ...
    @property
    def contracts_signed_from(self) -> dt.date | None: ...
    @property
    def evidence_to_claim(self) -> Sequence[str]: ...
    @property
    def evidence_to_redeem(self) -> Sequence[str]: ...
    @property
    def expires_after_days(self) -> int | None: ...
    @property
    def cite(self) -> str: ...


class StackingTerms(Protocol):
    @property
    def order(self) -> int: ...
    @property
    def combined_cap(self) -> Decimal: ...
    @property
    def cite(self) -> str: ...


class PolicyTerms(Protocol):
    """What a validated policy file offers; ``schemas.voucherfile`` models satisfy it."""

    @property
    def programme(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def cite(self) -> str: ...
    @property
    def issuer(self) -> str | None: ...
    @property
    def illustrative(self) -> bool: ...
    @property
    def annual_pool(self) -> Decimal | None: ...
    @property
    def rate_domestic(self) -> Decimal: ...
    @property
    def rate_non_domestic(self) -> Decimal: ...
    @property
    def rate_by_class(self) -> Sequence[ClassRateTerms]: ...
    @property
    def tenant_cap(self) -> Decimal | None: ...
    @property
    def tenant_cap_scope(self) -> str: ...
    @property
    def project_cap(self) -> Decimal | None: ...
    @property
    def valid_from(self) -> dt.date: ...
    @property
    def valid_to(self) -> dt.date: ...
    @property
    def eligibility(self) -> Sequence[EligibilityTerms]: ...
    @property
    def claim_required(self) -> bool: ...
    @property
    def claim(self) -> ClaimTerms | None: ...
    @property
    def stacking(self) -> StackingTerms | None: ...


@dataclass(frozen=True)
class EligibilityRule:
    """An attribute must take one of ``allowed`` values (附则-style conditions)."""

    attribute: str
    allowed: tuple[Attribute, ...]
    cite: str = ""
    of: FactOf = FactOf.COMPANY

    def admits(self, attributes: Mapping[str, Attribute]) -> bool:
        """A missing attribute never admits: eligibility is proven, not presumed."""
        return self.attribute in attributes and attributes[self.attribute] in self.allowed


@dataclass(frozen=True)
class ClassRate:
    """Rates for companies whose ``attribute`` is ``value`` (e.g. start-ups at 60 %)."""

    attribute: str
    value: Attribute
    rate_domestic: Decimal
    rate_non_domestic: Decimal
    cite: str = ""

    def rate_for(self, domestic: bool) -> Decimal:
        return self.rate_domestic if domestic else self.rate_non_domestic


@dataclass(frozen=True)
class ClaimRules:
    """Claim → approval → redemption: what a claim needs and how far it reaches.

    ``contract_share``: a claim reserves at most this share of its contract's amount
    (the company's cap left bounds it too); ``claims_per_contract``: how many claims one
    contract may carry; ``max_contract_months``: the longest contract term admitted;
    ``expires_after_days``: an approved claim pays nothing after this many days (and never
    after its contract ends); evidence is named by :class:`Evidence` kinds.
    """

    approval: bool = True
    contract_share: Decimal | None = None
    claims_per_contract: int = 1
    max_contract_months: int | None = None
    contracts_signed_from: dt.date | None = None
    evidence_to_claim: tuple[Evidence, ...] = (Evidence.CONTRACT,)
    evidence_to_redeem: tuple[Evidence, ...] = ()
    expires_after_days: int | None = None
    cite: str = ""


@dataclass(frozen=True)
class StackRule:
    """How a programme adds to programmes of other issuers on one charge.

    Stacked programmes apply in ascending ``order`` (then issuer, then programme id); each
    offers its own rate of the *gross* within its own caps, and the sum of all is held to
    ``combined_cap`` x gross (the smallest ``combined_cap`` among those applied), so the
    later ones are trimmed first.
    """

    order: int
    combined_cap: Decimal
    cite: str = ""


@dataclass(frozen=True)
class VoucherPolicy:
    """One version of one programme. Caps and pools are counted per ``programme``, so a
    new version of the same programme continues the same counts."""

    programme: str
    version: int
    kind: VoucherKind
    title: str
    rate_domestic: Decimal
    rate_non_domestic: Decimal
    valid_from: dt.date
    valid_to: dt.date  # inclusive
    annual_pool: Decimal | None = None  # None: no fixed yearly pool
    tenant_cap: Decimal | None = None
    tenant_cap_scope: CapScope = CapScope.YEAR
    project_cap: Decimal | None = None
    eligibility: tuple[EligibilityRule, ...] = ()
    cite: str = ""
    illustrative: bool = False
    # 即领即享: by default a programme is usable without a recorded claim; a programme whose
    # file says ``claim_required: true`` deducts only for companies that claimed it.
    claim_required: bool = False
    issuer: str = ""  # who pays; "" means the programme is its own issuer
    rate_by_class: tuple[ClassRate, ...] = ()
    claim: ClaimRules | None = None  # claim → approval → redemption (None: no such step)
    stacking: StackRule | None = None  # None: 从优不重复 against every programme

    def __post_init__(self) -> None:
        rates = [self.rate_domestic, self.rate_non_domestic]
        rates += [r for c in self.rate_by_class for r in (c.rate_domestic, c.rate_non_domestic)]
        if self.claim is not None and self.claim.contract_share is not None:
            rates.append(self.claim.contract_share)
        if self.stacking is not None:
            rates.append(self.stacking.combined_cap)
        for rate in rates:
            if not 0 <= exact(rate) <= 1:
                raise ValueError(f"{self.programme}: a rate must be within 0..1, got {rate}")
        for cap in (self.annual_pool, self.tenant_cap, self.project_cap):
            if cap is not None and (not is_fen(cap) or cap < 0):
                raise ValueError(f"{self.programme}: caps are non-negative fen amounts")
        if self.valid_to < self.valid_from:
            raise ValueError(f"{self.programme}: valid_to is before valid_from")

    @classmethod
    def from_terms(cls, terms: PolicyTerms) -> VoucherPolicy:
        """Build the policy from a validated file model (see ``schemas.voucherfile``)."""
        claim, stacking = terms.claim, terms.stacking
        return cls(
            programme=terms.programme,
            version=terms.version,
            kind=VoucherKind(terms.kind),
            title=terms.title,
            rate_domestic=terms.rate_domestic,
            rate_non_domestic=terms.rate_non_domestic,
            valid_from=terms.valid_from,
            valid_to=terms.valid_to,
            annual_pool=_fen(terms.annual_pool),
            tenant_cap=_fen(terms.tenant_cap),
            tenant_cap_scope=CapScope(terms.tenant_cap_scope),
            project_cap=_fen(terms.project_cap),
            eligibility=tuple(
                EligibilityRule(r.attribute, tuple(r.allowed), r.cite, FactOf(r.of))
                for r in terms.eligibility
            ),
            cite=terms.cite,
            illustrative=terms.illustrative,
            claim_required=terms.claim_required or claim is not None,
            issuer=terms.issuer or "",
            rate_by_class=tuple(
                ClassRate(c.attribute, c.value, c.rate_domestic, c.rate_non_domestic, c.cite)
                for c in terms.rate_by_class
            ),
            claim=None
            if claim is None
            else ClaimRules(
                approval=claim.approval,
                contract_share=claim.contract_share,
                claims_per_contract=claim.claims_per_contract,
                max_contract_months=claim.max_contract_months,
                contracts_signed_from=claim.contracts_signed_from,
                evidence_to_claim=tuple(Evidence(e) for e in claim.evidence_to_claim),
                evidence_to_redeem=tuple(Evidence(e) for e in claim.evidence_to_redeem),
                expires_after_days=claim.expires_after_days,
                cite=claim.cite,
            ),
            stacking=None
            if stacking is None
            else StackRule(stacking.order, stacking.combined_cap, stacking.cite),
        )

    @property
    def payer(self) -> str:
        """The issuer, or the programme itself when the file names none."""
        return self.issuer or self.programme

    def rate_for(
        self, domestic: bool, attributes: Mapping[str, Attribute] | None = None
    ) -> Decimal:
        """The rate for a charge: a matching class rate first, else domestic / non-domestic."""
        found = self.class_rate(attributes or {})
        if found is not None:
            return found.rate_for(domestic)
        return self.rate_domestic if domestic else self.rate_non_domestic

    def class_rate(self, attributes: Mapping[str, Attribute]) -> ClassRate | None:
        return next(
            (
                c
                for c in self.rate_by_class
                if c.attribute in attributes and attributes[c.attribute] == c.value
            ),
            None,
        )

    def is_valid_on(self, on: dt.date) -> bool:
        return self.valid_from <= on <= self.valid_to

    def cap_period(self, on: dt.date) -> str:
        """The key under which a company's use of the cap is counted for a charge on ``on``."""
        return str(on.year) if self.tenant_cap_scope is CapScope.YEAR else "all"

    def company_rules(self) -> tuple[EligibilityRule, ...]:
        """The rules on the company (a tenant's standing), not on a particular charge."""
        return tuple(r for r in self.eligibility if r.of is FactOf.COMPANY)


def _fen(amount: Decimal | None) -> Decimal | None:
    # Files may write 100000000 or 100000000.0; the engine shows every cap to the fen.
    return None if amount is None else yuan(amount)

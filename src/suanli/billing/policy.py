"""Voucher programmes as data: what a policy file says, checked once, then used read-only.

A programme (算力券, 模型券, a provider subsidy, another city's scheme) is a
:class:`VoucherPolicy` value loaded from a versioned YAML file by
``suanli.schemas.voucherfile``; a new city is a new file, never new code. The layers
contract keeps ``schemas`` and ``billing`` apart, so the file model reaches this module
through the :class:`PolicyTerms` protocol and :meth:`VoucherPolicy.from_terms`.
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
    COMPUTE = "compute"  # 算力券: a share of each compute bill line
    MODEL = "model"  # 模型券: a share of a domestic base-model contract, per period
    PROVIDER_SUBSIDY = "provider_subsidy"  # a share of a provider's domestic server purchase


class CapScope(StrEnum):
    YEAR = "year"  # the cap resets each calendar year (China time)
    PROGRAMME = "programme"  # the cap counts over the programme's whole life


class EligibilityTerms(Protocol):
    @property
    def attribute(self) -> str: ...
    @property
    def allowed(self) -> Sequence[Attribute]: ...
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
    def illustrative(self) -> bool: ...
    @property
    def annual_pool(self) -> Decimal | None: ...
    @property
    def rate_domestic(self) -> Decimal: ...
    @property
    def rate_non_domestic(self) -> Decimal: ...
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
    def stacks(self) -> bool: ...
    @property
    def claim_required(self) -> bool: ...


@dataclass(frozen=True)
class EligibilityRule:
    """A company attribute must take one of ``allowed`` values (附则-style conditions)."""

    attribute: str
    allowed: tuple[Attribute, ...]
    cite: str = ""

    def admits(self, attributes: Mapping[str, Attribute]) -> bool:
        """A missing attribute never admits: eligibility is proven, not presumed."""
        return self.attribute in attributes and attributes[self.attribute] in self.allowed


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
    stacks: bool = False
    # 即领即享: by default a programme is usable without a recorded claim; a programme whose
    # file says ``claim_required: true`` deducts only for companies that claimed it.
    claim_required: bool = False

    def __post_init__(self) -> None:
        for rate in (self.rate_domestic, self.rate_non_domestic):
            if not 0 <= exact(rate) <= 1:
                raise ValueError(f"{self.programme}: a rate must be within 0..1, got {rate}")
        for cap in (self.annual_pool, self.tenant_cap, self.project_cap):
            if cap is not None and (not is_fen(cap) or cap < 0):
                raise ValueError(f"{self.programme}: caps are non-negative fen amounts")
        if self.valid_to < self.valid_from:
            raise ValueError(f"{self.programme}: valid_to is before valid_from")
        if self.stacks:
            # The seeds' 从优不重复 (best one, never two) is the only combination rule
            # implemented; a stacking programme would need a written stacking order first.
            raise ValueError(f"{self.programme}: stacking programmes are not supported")

    @classmethod
    def from_terms(cls, terms: PolicyTerms) -> VoucherPolicy:
        """Build the policy from a validated file model (see ``schemas.voucherfile``)."""
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
                EligibilityRule(r.attribute, tuple(r.allowed), r.cite) for r in terms.eligibility
            ),
            cite=terms.cite,
            illustrative=terms.illustrative,
            stacks=terms.stacks,
            claim_required=terms.claim_required,
        )

    def rate_for(self, domestic: bool) -> Decimal:
        return self.rate_domestic if domestic else self.rate_non_domestic

    def is_valid_on(self, on: dt.date) -> bool:
        return self.valid_from <= on <= self.valid_to

    def cap_period(self, on: dt.date) -> str:
        """The key under which a company's use of the cap is counted for a charge on ``on``."""
        return str(on.year) if self.tenant_cap_scope is CapScope.YEAR else "all"


def _fen(amount: Decimal | None) -> Decimal | None:
    # Files may write 100000000 or 100000000.0; the engine shows every cap to the fen.
    return None if amount is None else yuan(amount)

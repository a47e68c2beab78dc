"""Read billing: invoices per tenant and month, voucher quotes, the ledger check, reports."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from suanli.billing.claims import Claim, ClaimStatus, ContractRef
from suanli.billing.ledger import LedgerReport
from suanli.billing.metering import local_date, month_of
from suanli.billing.money import ZERO, total
from suanli.billing.policy import VoucherKind, VoucherPolicy
from suanli.billing.pricing import BillLine
from suanli.billing.vouchers import PLATFORM_EVIDENCE, Charge, Deduction, VoucherUsage, decide
from suanli.domain.errors import FieldError, InvalidInput, NotFound, SuanliError
from suanli.domain.tenants import Tenant
from suanli.service.billing import claimed_by_tenant, programme_claims
from suanli.service.deps import Billing, Platform
from suanli.store.base import Redemption, Settlement

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
QUOTE_KEY = "quote"


def billing_of(p: Platform) -> Billing:
    if p.billing is None:
        raise SuanliError("billing_unavailable")
    return p.billing


def check_month(month: str | None, p: Platform) -> str:
    """``YYYY-MM`` as given, or the current China-time month; refuse anything else."""
    if month is None:
        return month_of(p.clock.now())
    if not MONTH.match(month):
        raise InvalidInput(
            "invalid_request", errors=[FieldError("month", "not_allowed", month, "YYYY-MM")]
        )
    return month


@dataclass(frozen=True)
class Bill:
    tenant: str
    display_name: str
    month: str
    settlements: list[Settlement]
    redemptions: list[Redemption] = field(default_factory=list)  # 模型券 for the month

    @property
    def gross(self) -> Decimal:
        return total(s.deduction.gross for s in self.settlements)

    @property
    def deduction(self) -> Decimal:
        return total(s.deduction.amount for s in self.settlements)

    @property
    def net(self) -> Decimal:
        return total(s.deduction.net for s in self.settlements)

    @property
    def model_voucher(self) -> Decimal:
        """What the 模型券 paid the tenant for contract periods of this month."""
        return total(r.deduction.amount for r in self.redemptions)


@dataclass(frozen=True)
class BillPage:
    """One page of a bill's lines with the totals of the whole month."""

    bill: Bill  # its settlements: this page only
    lines: int
    gross: Decimal
    deduction: Decimal
    net: Decimal


def get_bill_page(
    p: Platform, tenant: str, month: str | None, limit: int, offset: int
) -> BillPage:
    """A month's bill without reading every line: one page, totals summed by the store."""
    b = billing_of(p)
    chosen = check_month(month, p)
    known = b.tenants.get(tenant)
    found, count = b.store.settlement_page(tenant=tenant, month=chosen, limit=limit, offset=offset)
    if known is None and not count and not b.store.settlement_page(tenant=tenant, limit=1)[1]:
        raise NotFound("tenant_not_found", tenant=tenant)
    redemptions = b.contracts.redemptions(tenant=tenant, period=chosen) if b.contracts else []
    bill = Bill(tenant, known.display_name if known else tenant, chosen, found, redemptions)
    gross, deduction, net = b.store.settlement_totals(tenant, chosen)
    return BillPage(bill, count, gross, deduction, net)


def pool_use(p: Platform) -> list[PoolUse]:
    """Every programme's annual pool and what was drawn on it, from the stored aggregates."""
    b = billing_of(p)
    return _pools(b.policies, b.store.voucher_usage())


def get_bill(p: Platform, tenant: str, month: str | None = None) -> Bill:
    """The tenant's invoice for ``month``: one line per settled job attempt."""
    b = billing_of(p)
    chosen = check_month(month, p)
    known = b.tenants.get(tenant)
    lines = b.store.settlements(tenant, chosen)
    if known is None and not lines and not b.store.settlements(tenant):
        raise NotFound("tenant_not_found", tenant=tenant)
    redemptions = b.contracts.redemptions(tenant=tenant, period=chosen) if b.contracts else []
    return Bill(tenant, known.display_name if known else tenant, chosen, lines, redemptions)


def posted_keys(p: Platform, keys: Iterable[str | None]) -> set[str]:
    """Which of these ledger keys are posted (one query, however many lines a page has)."""
    return billing_of(p).ledger.posted_keys([k for k in keys if k is not None])


def is_posted(p: Platform, s: Settlement) -> bool:
    """Whether the settlement's ledger entry is posted (True for a 0.00 line: nothing to post)."""
    return s.entry_key is None or billing_of(p).ledger.has(s.entry_key)


def list_tenants(p: Platform) -> list[Tenant]:
    return billing_of(p).tenants.all()


def list_policies(p: Platform) -> list[VoucherPolicy]:
    return sorted(billing_of(p).policies, key=lambda x: (x.programme, x.version))


def quote(p: Platform, amount: Decimal, domestic: bool, tenant: str | None = None) -> Deduction:
    """What a compute bill line of ``amount`` would net today, with the explanation.

    With a tenant: its attributes and the caps it has used. Without: a company that meets
    every eligibility rule and has used nothing yet (pools as used so far).
    """
    b = billing_of(p)
    if tenant is not None:
        found = b.tenants.get(tenant)
        if found is None:
            raise NotFound("tenant_not_found", tenant=tenant)
        attributes = dict(found.attributes)
    else:
        attributes = {r.attribute: r.allowed[0] for pol in b.policies for r in pol.eligibility}
    charge = Charge(
        QUOTE_KEY,
        VoucherKind.COMPUTE,
        tenant or "(quote)",
        amount,
        domestic,
        local_date(p.clock.now()),
        evidence=PLATFORM_EVIDENCE,  # a quote is for a line the platform meters and bills
    )
    if tenant is None:  # the ideal company: it has claimed whatever needs a claim
        claimed: frozenset[str] = frozenset(x.programme for x in b.policies)
        claims = [_ideal_claim(x, charge) for x in b.policies if x.claim is not None]
    else:
        claimed = claimed_by_tenant(b).get(tenant, frozenset())
        claims = [c for c in programme_claims(b) if c.company == tenant]
    return decide(charge, attributes, b.policies, b.store.voucher_usage(), claimed, claims)


def _ideal_claim(policy: VoucherPolicy, charge: Charge) -> Claim:
    """For a quote without a tenant: an approved claim that covers the charge in full."""
    contract = ContractRef(
        "quote", max(charge.gross, Decimal("0.01")), charge.on, charge.on, charge.on
    )
    return Claim(
        f"quote-{policy.programme}",
        policy.programme,
        charge.company,
        contract,
        charge.on,
        status=ClaimStatus.APPROVED,
        approved_amount=charge.gross,
        decided_on=charge.on,
        expires_on=charge.on,
    )


def verify_ledger(p: Platform) -> LedgerReport:
    return billing_of(p).ledger.verify()


@dataclass
class Spend:
    lines: int = 0
    accelerator_hours: Decimal = ZERO
    gross: Decimal = ZERO
    deduction: Decimal = ZERO

    def add(self, line: BillLine, deduction: Decimal) -> None:
        self.lines += 1
        self.accelerator_hours += line.accelerator_hours
        self.gross += line.gross
        self.deduction += deduction

    def add_amount(self, gross: Decimal, deduction: Decimal) -> None:
        """A charge without accelerator time (a model-contract period, a server purchase)."""
        self.lines += 1
        self.gross += gross
        self.deduction += deduction


@dataclass(frozen=True)
class PoolUse:
    programme: str
    year: int
    annual_pool: Decimal | None
    used: Decimal


@dataclass(frozen=True)
class VoucherReport:
    """Voucher spend by (programme, month, tenant); compute by (region, domestic)."""

    by_programme: dict[tuple[str, str, str], Spend] = field(default_factory=dict)
    by_region: dict[tuple[str, bool], Spend] = field(default_factory=dict)
    pools: list[PoolUse] = field(default_factory=list)

    def domestic(self, flag: bool) -> Spend:
        out = Spend()
        for (_, dom), s in self.by_region.items():
            if dom is flag:
                out.lines += s.lines
                out.accelerator_hours += s.accelerator_hours
                out.gross += s.gross
                out.deduction += s.deduction
        return out


def voucher_report(p: Platform) -> VoucherReport:
    """The operator's report over every settlement."""
    b = billing_of(p)
    by_programme: dict[tuple[str, str, str], Spend] = defaultdict(Spend)
    by_region: dict[tuple[str, bool], Spend] = defaultdict(Spend)
    # Each programme applied to a charge counts its own share (several when they stack).
    for s in b.store.settlements():
        line, d = s.line, s.deduction
        for a in d.applied:
            by_programme[(a.programme, line.month, line.tenant)].add(line, a.offer)
        by_region[(line.usage.region, line.domestic)].add(line, d.amount)
    for r in b.contracts.redemptions() if b.contracts else []:
        for a in r.deduction.applied:
            key = (a.programme, r.period, r.contract.tenant)
            by_programme[key].add_amount(r.deduction.gross, a.offer)
    # Provider subsidies: by the purchase contract's month, the provider in the tenant column.
    for x in b.purchases.subsidies() if b.purchases else []:
        on = x.record.purchase.contract_on
        for a in x.deduction.applied:
            key = (a.programme, on.isoformat()[:7], x.record.purchase.provider)
            by_programme[key].add_amount(x.deduction.gross, a.offer)
    return VoucherReport(
        dict(sorted(by_programme.items())),
        dict(sorted(by_region.items())),
        _pools(b.policies, b.store.voucher_usage()),
    )


def _pools(policies: tuple[VoucherPolicy, ...], usage: VoucherUsage) -> list[PoolUse]:
    years = sorted(usage.pool_used)
    kinds = {p.programme: p for p in policies}
    return [
        PoolUse(prog, year, kinds[prog].annual_pool if prog in kinds else None, used)
        for (prog, year), used in ((k, usage.pool_used[k]) for k in years)
    ]

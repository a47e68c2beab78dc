"""模型券 contracts and redemptions; a tenant's standing under each programme; claims.

Redemption follows the compute settlement's crash-safe pattern: decide (从优不重复, caps
and pools as stored), store the decision with its ledger key, then post from what was
stored. A repeated redemption of the same contract and period returns the stored one.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from suanli.billing.metering import local_date, month_of
from suanli.billing.model_contracts import ModelContract, ModelUse, redeem_model_contract
from suanli.billing.policy import EligibilityRule, VoucherKind, VoucherPolicy
from suanli.billing.settlement import model_redemption_entry
from suanli.billing.vouchers import VoucherUsage, fmt_yuan
from suanli.domain.errors import Conflict, FieldError, InvalidInput, NotFound, SuanliError
from suanli.domain.i18n import Lang, render
from suanli.domain.money import ZERO, is_positive_fen, total
from suanli.domain.tenants import Tenant
from suanli.service.billing import claimed_by_tenant, post_redemptions, programme_claims
from suanli.service.bills import billing_of
from suanli.service.deps import Billing, Platform
from suanli.store.base import ContractStore, Redemption, VoucherClaim

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
# Facts of a charge in files written before eligibility ``of: charge``: checked per
# contract or purchase, not in a tenant's standing (newer files mark such rules themselves).
CHARGE_FACTS = frozenset({"model_use", "listed_on_platform"})
OPERATOR = "operator"


def contracts_of(b: Billing) -> ContractStore:
    if b.contracts is None:
        raise SuanliError("billing_unavailable")
    return b.contracts


def add_contract(
    p: Platform,
    tenant: str,
    vendor: str,
    model: str,
    use: ModelUse,
    domestic: bool,
    amount: Decimal,
    evidence: str,
    signed_on: dt.date | None = None,
    facts: Mapping[str, str | bool] | None = None,
) -> ModelContract:
    """Record a model contract; a model no programme in force covers is refused with the
    reason (with the shipped programmes: any but a domestic base model)."""
    b = billing_of(p)
    store = contracts_of(b)
    errors: list[FieldError] = []
    if b.tenants.get(tenant) is None:
        known = ", ".join(t.name for t in b.tenants.all())
        errors.append(FieldError("tenant", "unknown_tenant", tenant, known))
    covers_foreign = any(
        x.kind is VoucherKind.MODEL and x.rate_non_domestic > 0 for x in b.policies
    )
    if not domestic and not covers_foreign:
        errors.append(FieldError("domestic", "model_not_domestic", domestic, "true"))
    for name, value in (facts or {}).items():
        if isinstance(value, str) and not 0 < len(value) <= 100:
            errors.append(FieldError(f"facts.{name}", "not_allowed", value, "1-100 characters"))
    if not is_positive_fen(amount):
        errors.append(FieldError("amount", "amount_positive", str(amount)))
    today = local_date(p.clock.now())
    signed = signed_on or today
    if signed > today:
        errors.append(FieldError("signed", "out_of_range", str(signed), f"<= {today}"))
    for name, value in (("vendor", vendor), ("model", model), ("evidence", evidence)):
        if not value.strip():
            errors.append(FieldError(name, "missing", value))
    if errors:
        raise InvalidInput("invalid_request", errors=errors)
    contract = ModelContract(
        contract_id=f"mc-{secrets.token_hex(5)}",
        tenant=tenant,
        vendor=vendor.strip(),
        model=model.strip(),
        use=use,
        domestic_base_model=domestic,
        amount=amount,
        signed_on=signed,
        evidence=evidence.strip(),
        facts=dict(facts or {}),
    )
    store.add_contract(contract, p.clock.now())
    return contract


def list_contracts(p: Platform, tenant: str | None = None) -> list[ModelContract]:
    return contracts_of(billing_of(p)).contracts(tenant)


@dataclass(frozen=True)
class ContractView:
    contract: ModelContract
    redemptions: list[Redemption]

    @property
    def completed(self) -> Decimal:
        return total(r.deduction.gross for r in self.redemptions)

    @property
    def voucher(self) -> Decimal:
        return total(r.deduction.amount for r in self.redemptions)


def contract_views(p: Platform, tenant: str | None = None) -> list[ContractView]:
    store = contracts_of(billing_of(p))
    return [ContractView(c, store.redemptions(c.contract_id)) for c in store.contracts(tenant)]


def period_end(period: str) -> dt.date:
    year, month = int(period[:4]), int(period[5:])
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def redeem(p: Platform, contract_id: str, period: str, completed: Decimal) -> Redemption:
    """The 模型券 for ``completed`` yuan of ``contract_id`` completed in ``period``.

    Idempotent per contract and period: the stored redemption is returned (and posted if
    a crash stopped it before); a different amount for a redeemed period is a conflict.
    """
    b = billing_of(p)
    store = contracts_of(b)
    contract = store.contract(contract_id)
    if contract is None:
        raise NotFound("contract_not_found", contract=contract_id)
    stored = store.redemptions(contract_id, period=period)
    if stored:
        return _again(p, stored[0], completed)
    now = p.clock.now()
    errors: list[FieldError] = []
    if not PERIOD.match(period):
        errors.append(FieldError("period", "not_allowed", period, "YYYY-MM"))
    elif period > month_of(now):
        errors.append(FieldError("period", "period_in_future", period, month_of(now)))
    elif period < contract.signed_on.isoformat()[:7]:
        errors.append(
            FieldError("period", "period_before_contract", period, str(contract.signed_on))
        )
    before = total(r.deduction.gross for r in store.redemptions(contract_id))
    left = contract.amount - before
    if not is_positive_fen(completed):
        errors.append(FieldError("completed", "amount_positive", str(completed)))
    elif completed > left:
        errors.append(
            FieldError("completed", "completed_over_contract", str(completed), str(left))
        )
    if errors:
        raise InvalidInput("invalid_request", errors=errors)
    tenant = b.tenants.get(contract.tenant)
    attributes = tenant.attributes if tenant is not None else {}
    deduction = redeem_model_contract(
        contract,
        period,
        before + completed,
        before,
        period_end(period),
        attributes,
        b.policies,
        b.store.voucher_usage(),
        claimed_by_tenant(b).get(contract.tenant, frozenset()),
        [c for c in programme_claims(b) if c.company == contract.tenant],
    )
    entry = model_redemption_entry(deduction, now)
    redemption = Redemption(
        contract, period, completed, deduction, now, entry.key if entry else None
    )
    if not store.add_redemption(redemption):  # redeemed concurrently: the stored one wins
        return _again(p, store.redemptions(contract_id, period=period)[0], completed)
    post_redemptions(p)
    return redemption


def _again(p: Platform, stored: Redemption, completed: Decimal) -> Redemption:
    if stored.completed != completed:
        raise Conflict(
            "redemption_differs",
            contract=stored.contract.contract_id,
            period=stored.period,
            stored=fmt_yuan(stored.completed),
            given=fmt_yuan(completed),
        )
    post_redemptions(p)
    return stored


def redemption_posted(p: Platform, r: Redemption) -> bool:
    return r.entry_key is None or billing_of(p).ledger.has(r.entry_key)


@dataclass(frozen=True)
class Standing:
    """A tenant under one programme today: eligibility, claim, cap and pool left."""

    policy: VoucherPolicy
    on: dt.date
    valid: bool
    failing: EligibilityRule | None
    value: str | bool | None  # the tenant's value of the failing attribute
    claimed_at: dt.datetime | None
    cap_period: str
    used: Decimal
    cap_left: Decimal | None
    pool_used: Decimal
    pool_left: Decimal | None

    @property
    def eligible(self) -> bool:
        return self.valid and self.failing is None

    def why(self, lang: Lang) -> str | None:
        """Why the tenant gets nothing under the programme today, or None."""
        if not self.valid:
            key = (
                "voucher.not_yet_valid" if self.on < self.policy.valid_from else "voucher.expired"
            )
            return render(
                key,
                lang,
                programme=self.policy.programme,
                valid_from=self.policy.valid_from,
                valid_to=self.policy.valid_to,
                on=self.on,
            )
        rule = self.failing
        if rule is None:
            return None
        shown = "—" if self.value is None else _show(self.value)
        return render(
            "voucher.ineligible",
            lang,
            programme=self.policy.programme,
            attribute=rule.attribute,
            allowed=" | ".join(_show(a) for a in rule.allowed),
            cite=rule.cite or self.policy.cite,
            value=shown,
        )


def _show(value: str | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def standing(p: Platform, tenant: str) -> list[Standing]:
    """``voucher show``: the tenant's standing under the newest version of every programme."""
    b = billing_of(p)
    found = b.tenants.get(tenant)
    if found is None:
        raise NotFound("tenant_not_found", tenant=tenant)
    on = local_date(p.clock.now())
    usage = b.store.voucher_usage()
    claims = {
        c.programme: c.claimed_at for c in (b.contracts.claims(tenant) if b.contracts else [])
    }
    newest: dict[str, VoucherPolicy] = {}
    for pol in b.policies:
        if pol.programme not in newest or pol.version > newest[pol.programme].version:
            newest[pol.programme] = pol
    return [
        _standing(pol, found, on, usage, claims.get(pol.programme))
        for pol in sorted(newest.values(), key=lambda x: x.programme)
    ]


def _standing(
    pol: VoucherPolicy,
    tenant: Tenant,
    on: dt.date,
    usage: VoucherUsage,
    claimed_at: dt.datetime | None,
) -> Standing:
    failing = next(
        (
            r
            for r in pol.company_rules()
            if r.attribute not in CHARGE_FACTS and not r.admits(tenant.attributes)
        ),
        None,
    )
    period = pol.cap_period(on)
    used = usage.company_used.get((pol.programme, tenant.name, period), ZERO)
    pool_used = usage.pool_used.get((pol.programme, on.year), ZERO)
    return Standing(
        policy=pol,
        on=on,
        valid=pol.is_valid_on(on),
        failing=failing,
        value=tenant.attributes.get(failing.attribute) if failing else None,
        claimed_at=claimed_at,
        cap_period=period,
        used=used,
        cap_left=usage.company_left(pol, tenant.name, on),
        pool_used=pool_used,
        pool_left=usage.pool_left(pol, on.year),
    )


def claim(p: Platform, tenant: str, programme: str) -> tuple[VoucherClaim, bool]:
    """Record that ``tenant`` claimed ``programme`` (申领); idempotent. True when new."""
    b = billing_of(p)
    store = contracts_of(b)
    errors: list[FieldError] = []
    if b.tenants.get(tenant) is None:
        known = ", ".join(t.name for t in b.tenants.all())
        errors.append(FieldError("tenant", "unknown_tenant", tenant, known))
    if b.policy(programme) is None:
        known = ", ".join(sorted({x.programme for x in b.policies}))
        errors.append(FieldError("programme", "not_allowed", programme, known))
    if errors:
        raise InvalidInput("invalid_request", errors=errors)
    new = store.add_claim(VoucherClaim(tenant, programme, p.clock.now(), OPERATOR))
    stored = next(c for c in store.claims(tenant) if c.programme == programme)
    return stored, new

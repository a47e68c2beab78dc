"""The share of a bill each waiting tenant's vouchers would take off: placement's prices.

Placement prices a pool as the tenant will really pay for it, so each cycle asks what a
sample bill would net for each tenant with a queued job (``service.bills.quote``: the
programmes' eligibility, validity, pools and caps left). The answer changes only with what
the quote reads: the date, the voucher usage so far, the programmes, the claims and the
tenant's record. ``KeptRates`` keeps the last answers with those inputs, so a cycle quotes
again only a tenant whose inputs moved (on the busy cohort replay the quotes were 5% of the
whole tick, every tick, for answers that changed a few times a day).
"""

from __future__ import annotations

from decimal import Decimal

from suanli.billing.metering import local_date
from suanli.domain.errors import SuanliError
from suanli.service.billing import claimed_by_tenant, programme_claims
from suanli.service.bills import quote
from suanli.service.cycle_state import KeptRates
from suanli.service.deps import Platform

# A bill of this size is quoted to learn each tenant's effective voucher rate (caps included).
RATE_SAMPLE = Decimal("10000.00")

Rates = dict[tuple[str, bool], Decimal]


def voucher_rates(p: Platform, tenants: set[str], kept: KeptRates | None = None) -> Rates:
    """The share of a bill each tenant's best programme would take off, domestic or not.

    The rate folds in eligibility, validity, pools and caps left; without billing, every
    rate is zero (none listed); an unknown tenant is priced at gross (none listed). With
    ``kept``, rates quoted in an earlier cycle on the same inputs are reused.
    """
    b = p.billing
    if b is None:
        return {}
    kept = kept if kept is not None else KeptRates()
    inputs = (
        local_date(p.clock.now()),
        b.store.voucher_usage(),
        b.policies,
        claimed_by_tenant(b),
        programme_claims(b),
    )
    if kept.inputs != inputs:
        kept.inputs, kept.tenants, kept.rates = inputs, {}, {}
    rates: Rates = {}
    for tenant in sorted(tenants):
        record = b.tenants.get(tenant)
        if tenant not in kept.tenants or kept.tenants[tenant] != record:
            kept.tenants[tenant] = record
            kept.rates[tenant] = (_rate(p, tenant, True), _rate(p, tenant, False))
        for domestic, rate in zip((True, False), kept.rates[tenant], strict=True):
            if rate is not None:
                rates[(tenant, domestic)] = rate
    return rates


def _rate(p: Platform, tenant: str, domestic: bool) -> Decimal | None:
    try:
        deduction = quote(p, RATE_SAMPLE, domestic, tenant)
    except SuanliError:
        return None  # unknown tenant: no voucher, priced at gross
    return deduction.amount / RATE_SAMPLE

"""Voucher rates kept from cycle to cycle equal the rates quoted anew, whatever moved.

Placement prices each pool at what the tenant would really pay; the cycle keeps the rates
it quoted (``service.voucher_rates.KeptRates``) and quotes again only when what a quote
reads moved: the voucher usage (a cap running out), the date (a programme ending), the
programmes, the claims or the tenant's record. Each step below moves one of them and the
kept rates must equal fresh quotes; the rates must really move, or the test proves nothing.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from suanli.domain.tenants import Tenant, TenantTerms
from suanli.scheduler.queueing import QueueSettings
from suanli.service.cycle_state import KeptRates
from suanli.service.deps import Platform
from suanli.service.jobs import submit_job
from suanli.service.voucher_rates import voucher_rates
from suanli.sim.live import LiveReplay
from suanli.store.tenants import StaticTenantDirectory
from suanli.workers.control_loop import tick
from tests.builders import make_fleet, make_pool, make_spec
from tests.unit.billing.make import COMPUTE, ELIGIBLE, policy

TENANTS = {"own", "use", "nobody"}  # "nobody" is not a tenant: priced at gross


def both(p: Platform, kept: KeptRates) -> dict[tuple[str, bool], Decimal]:
    """The kept rates, checked against rates quoted anew."""
    rates = voucher_rates(p, TENANTS, kept)
    assert rates == voucher_rates(p, TENANTS)
    return rates


def test_kept_rates_equal_fresh_quotes_as_caps_dates_and_tenants_move() -> None:
    fleet = make_fleet(("c", "beijing", [make_pool("a100", "A100", nodes=2, per_node=4)]))
    terms = {n: TenantTerms(n, quota={"A100": 8}) for n in ("own", "use")}
    replay = LiveReplay(fleet, terms, QueueSettings(), attributes={"own": ELIGIBLE})
    p = replay.platform
    assert p.billing is not None
    # A programme whose company cap runs out after a few hours of one card.
    small = policy(COMPUTE, tenant_cap=Decimal("20.00"))
    p.billing = dataclasses.replace(p.billing, policies=(small,))
    kept = KeptRates()
    seen = [both(p, kept)]
    assert seen[0][("own", False)] > 0
    assert ("nobody", False) not in seen[0]
    spec = make_spec(
        resources={"accelerator": {"model": "A100", "count": 1}},
        env={"SUANLI_SIM_RUN_S": "3600"},
    )
    for _ in range(6):  # each job's settlement uses some of the cap
        submit_job(p, spec, tenant="own")
        for _ in range(3):
            tick(p)
            replay.clock.advance(1800.0)
            seen.append(both(p, kept))
    own = [r[("own", False)] for r in seen]
    assert own[0] > own[-1] >= 0  # the cap ran out on the way: the kept rates followed
    # The tenant's record changes: no longer eligible.
    directory = StaticTenantDirectory(
        [Tenant("own", terms=terms["own"], attributes={}), Tenant("use", terms=terms["use"])]
    )
    p.billing = dataclasses.replace(p.billing, tenants=directory)
    p.billing = dataclasses.replace(p.billing, policies=(policy(COMPUTE),))
    assert both(p, kept)[("own", False)] == 0
    directory = StaticTenantDirectory(
        [Tenant("own", terms=terms["own"], attributes=ELIGIBLE), Tenant("use", terms=terms["use"])]
    )
    p.billing = dataclasses.replace(p.billing, tenants=directory)
    assert both(p, kept)[("own", False)] > 0
    # The programme ends (valid to 2027-03-31): no voucher after it.
    replay.clock.advance(3 * 365 * 86400.0)
    assert both(p, kept)[("own", False)] == 0

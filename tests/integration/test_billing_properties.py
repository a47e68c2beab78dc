"""Hypothesis through the real service and store: random finished attempts, random crashes.

Each example opens a fresh SQLite database, adds finished job attempts (tenants, domestic
or foreign pools, durations) and meters them; at random it "crashes" — closes the
platform and re-opens it from the same database — after metering or after the decisions
are stored but before they are posted. At the end every attempt is billed exactly once,
the ledger verifies, no company cap or annual pool is exceeded and every sum matches to
the fen.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import tempfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from suanli.billing.ledger import (
    platform_revenue,
    provider_receivable,
    tenant_cash,
    voucher_pool,
)
from suanli.billing.money import ZERO, total
from suanli.domain.clock import FixedClock
from suanli.domain.ids import JobId
from suanli.domain.jobs import Job, JobStatus, NodeAssignment, Placement
from suanli.service.billing import meter_attempt, settle, settle_usage
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform
from tests.builders import make_job, make_spec

D = Decimal
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
COMPUTE = "beijing-etown-compute-2024"
# 36,000 yuan per accelerator-hour is 10.00 yuan per accelerator-second, so a few
# attempts run into the small caps and pool below (two eligible companies can drain it).
PRICE = "36000.00"
POOL = D("30000.00")
CAP = D("20000.00")
FLEET = f"""
providers:
  - name: etown-test
    clusters:
      - name: etown-1
        region: beijing
        engine: {{type: local}}
        pools:
          - {{name: ascend, accelerator: Ascend910B, nodes: 1, accelerators_per_node: 8,
             cpus_per_node: 16, memory_gb_per_node: 64, price_per_accelerator_hour: "{PRICE}"}}
  - name: ningxia-test
    clusters:
      - name: nx-1
        region: ningxia
        engine: {{type: local}}
        pools:
          - {{name: a100, accelerator: A100, nodes: 1, accelerators_per_node: 8,
             cpus_per_node: 16, memory_gb_per_node: 64, price_per_accelerator_hour: "{PRICE}"}}
"""
ELIGIBLE = """
      registered_zone: yizhuang-new-town
      independent_legal_person: true
      no_major_penalty_3y: true
      no_criminal_record_3y: true"""
TENANTS_FILE = f"""format: suanli/tenants/v1
tenants:
  - name: alpha
    display_name: Alpha
    attributes:{ELIGIBLE}
      not_on_dishonesty_list: true
  - name: beta
    display_name: Beta
    attributes:{ELIGIBLE}
      not_on_dishonesty_list: true
  - name: gamma
    display_name: Gamma (dishonest)
    attributes:{ELIGIBLE}
      not_on_dishonesty_list: false
"""
TENANTS = ["alpha", "beta", "gamma"]
ELIGIBLE_TENANTS = {"alpha", "beta"}
CRASHES = ["none", "after_meter", "after_decision"]

attempts = st.lists(
    st.tuples(
        st.sampled_from(TENANTS),
        st.booleans(),  # domestic pool
        st.integers(min_value=1, max_value=3600),  # seconds
        st.integers(min_value=1, max_value=4),  # accelerators
        st.sampled_from(CRASHES),
    ),
    min_size=1,
    max_size=8,
)


def _open(data: Path) -> Platform:
    p = open_platform(
        data,
        data / "fleet.yaml",
        clock=FixedClock(NOW),
        detect_gpus=False,
        tenants_file=data / "tenants.yaml",
    )
    assert p.billing is not None
    # Small pool and cap (same programme id, so the stored counts still apply).
    p.billing.policies = tuple(
        dataclasses.replace(x, annual_pool=POOL, tenant_cap=CAP) if x.programme == COMPUTE else x
        for x in p.billing.policies
    )
    return p


def _finished_job(i: int, tenant: str, domestic: bool, seconds: int, count: int) -> Job:
    model = "Ascend910B" if domestic else "A100"
    cluster, pool = ("etown-1", "ascend") if domestic else ("nx-1", "a100")
    spec = make_spec(resources={"accelerator": {"model": model, "count": count}})
    started = NOW - dt.timedelta(hours=12) + dt.timedelta(seconds=i * 3600)
    placement = Placement(
        cluster, pool, model, (NodeAssignment("node-0", tuple(range(count))),), D(PRICE) * count
    )
    return make_job(
        spec,
        job_id=f"j-prop{i:04d}",
        status=JobStatus.SUCCEEDED,
        attempt=1,
        placement=placement,
        started_at=started,
        finished_at=started + dt.timedelta(seconds=seconds),
        tenant=tenant,
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(attempts)
def test_random_attempts_and_crashes_bill_every_attempt_exactly_once(
    stream: list[tuple[str, bool, int, int, str]],
) -> None:
    data = Path(tempfile.mkdtemp(prefix="suanli-prop-"))
    try:
        (data / "fleet.yaml").write_text(FLEET)
        (data / "tenants.yaml").write_text(TENANTS_FILE)
        p = _open(data)
        expected: dict[str, tuple[str, bool, int]] = {}
        for i, (tenant, domestic, seconds, count, crash) in enumerate(stream):
            job = _finished_job(i, tenant, domestic, seconds, count)
            p.jobs.add(job, [])
            expected[f"{job.id}/a1"] = (tenant, domestic, seconds * count)
            if crash != "none" or i % 2 == 0:  # some attempts are metered by the catch-up
                assert meter_attempt(p, job, job.finished_at or NOW)
            if crash == "after_decision":
                settle_usage(p)  # decisions stored, nothing posted
            if crash != "none":
                p.close()
                p = _open(data)
            else:
                settle(p)
        settle(p)
        assert settle(p).posted == 0  # nothing left behind, nothing posted twice
        _check(p, expected)
        p.close()
    finally:
        shutil.rmtree(data, ignore_errors=True)


def _check(p: Platform, expected: dict[str, tuple[str, bool, int]]) -> None:
    b = p.billing
    assert b is not None
    stored = b.store.settlements()
    keys = [s.line.key for s in stored]
    assert sorted(keys) == sorted(expected)  # every attempt billed, and only once
    assert p.jobs.get(JobId("j-prop0000")) is not None
    report = b.ledger.verify()
    assert report.ok, report.problems
    price_per_second = D(PRICE) / 3600
    used_by: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for s in stored:
        tenant, domestic, acc_seconds = expected[s.line.key]
        d = s.deduction
        assert (s.line.tenant, s.line.domestic) == (tenant, domestic)
        assert s.line.gross == price_per_second * acc_seconds  # 10.00 yuan a second
        assert d.amount + d.net == d.gross
        assert d.net >= 0
        assert d.amount >= 0
        rate = D("0.40") if domestic else D("0.30")
        assert d.amount <= d.gross * rate
        if d.amount:
            assert tenant in ELIGIBLE_TENANTS
            assert d.programme == COMPUTE
        used_by[tenant] += d.amount
        assert s.entry_key is None or b.ledger.has(s.entry_key)
    assert all(v <= CAP for v in used_by.values())
    used = total(used_by.values())
    assert used <= POOL
    event("a company cap reached" if CAP in used_by.values() else "no cap reached")
    event("the pool ran dry" if used == POOL else "pool left")
    gross = total(s.deduction.gross for s in stored)
    net_by: defaultdict[str, Decimal] = defaultdict(lambda: ZERO)
    for s in stored:
        net_by[s.line.tenant] += s.deduction.net
    for tenant in set(net_by):
        assert b.ledger.balance(tenant_cash(tenant)) == -net_by[tenant]
    receivable = total(
        b.ledger.balance(provider_receivable(x)) for x in ("etown-test", "ningxia-test")
    )
    assert receivable + b.ledger.balance(platform_revenue()) == gross
    if used:
        assert b.ledger.balance(voucher_pool(COMPUTE, 2026)) == POOL - used
    assert b.store.voucher_usage().pool_used.get((COMPUTE, 2026), ZERO) == used

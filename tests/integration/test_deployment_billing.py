"""Owner-paid replica time on a real platform (SQLite, and PostgreSQL in CI): a replica of a
domestic base model pays with the 模型券 (私有化部署) or the 算力券, the better one, once;
the bill says which and why; the period's redemption pays the model's publisher."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from suanli.billing.ledger import tenant_cash, voucher_pool
from suanli.billing.policy import VoucherKind
from suanli.billing.verdicts import Outcome
from suanli.domain.clock import FixedClock
from suanli.domain.jobs import Job
from suanli.schemas.servicefile import parse_service_text
from suanli.service import bills
from suanli.service.billing import post_settlements, settle, settle_usage
from suanli.service.deps import Platform
from suanli.service.redemption import redeem_period
from suanli.service.services import deploy, replica_job
from suanli.store.base import MeteredUsage
from suanli.store.stores import MEMORY_URL
from tests.integration.fixed_platform import NOW, open_test_platform
from tests.unit.billing.make import COMPUTE, MODEL, make_usage

SPEC = """
name: glm
resources: {accelerator: {model: T4, count: 1}}
run: server --port $PORT
replicas: {min: 1, max: 1}
model:
  served_name: glm
  base_model: glm-4-9b
  publisher: Zhipu AI
  domestic: true
  payer: owner
"""


@pytest.fixture
def platform(tmp_path: Path, database_url: str) -> Iterator[Platform]:
    p = open_test_platform(tmp_path, database_url)
    try:
        yield p
    finally:
        p.close()


def replica_hour(p: Platform, spec_text: str, price: str = "10.00") -> Job:
    """A replica of ``spec_text`` deployed by demo that ran one hour on a T4 (not domestic)."""
    spec = parse_service_text(spec_text)
    service = deploy(p, "demo", spec).service
    job = replica_job(p, service, spec, floor=True)
    p.jobs.add(job, [])
    assert p.billing is not None
    start = NOW - dt.timedelta(hours=2)
    usage = make_usage(job.id, tenant="demo", domestic=False, start=start, seconds=3600)
    assert p.billing.store.add_usage(MeteredUsage(usage, Decimal(price)), NOW)
    return job


def cash(p: Platform) -> Decimal:
    assert p.billing is not None
    return p.billing.ledger.balance(tenant_cash("demo"))


def test_a_domestic_base_models_replica_time_takes_the_model_voucher_once(
    platform: Platform,
) -> None:
    check_the_model_voucher_once(platform)


def test_the_same_on_memory_stores(tmp_path: Path) -> None:
    p = open_test_platform(tmp_path, MEMORY_URL)
    try:
        check_the_model_voucher_once(p)
    finally:
        p.close()


def check_the_model_voucher_once(p: Platform) -> None:
    assert p.billing is not None
    replica_hour(p, SPEC)
    assert settle_usage(p) == 1  # stored, not posted: a crash here...
    assert cash(p) == 0
    assert post_settlements(p) == 1  # ...is posted once on the next tick
    assert post_settlements(p) == 0
    [s] = p.billing.store.settlements("demo")
    d = s.deduction
    # 10.00 of T4 time: the 算力券 would give 30 % (foreign cards), the 模型券 50 %
    assert (d.programmes, d.amount, d.net) == ((MODEL,), Decimal("5.00"), Decimal("5.00"))
    assert d.charge.kind is VoucherKind.MODEL
    compute = next(v for v in d.considered if v.programme == COMPUTE)
    assert (compute.outcome, compute.offer) == (Outcome.NOT_BEST, Decimal("3.00"))
    assert any("从优不重复" in line for line in d.explain("zh"))
    assert any("best one, never two" in line for line in d.explain("en"))
    assert cash(p) == Decimal("-5.00")
    pool = p.billing.ledger.balance(voucher_pool(MODEL, 2026))
    assert pool == Decimal("100000000.00") - Decimal("5.00")  # opened on first use, drawn
    assert settle(p).posted == 0  # nothing twice
    assert cash(p) == Decimal("-5.00")
    bill = bills.get_bill(p, "demo", "2026-11")
    assert [x.deduction.programme for x in bill.settlements] == [MODEL]
    assert p.billing.ledger.verify().ok
    p.clock = FixedClock(dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC))
    [r] = redeem_period(p, "2026-11").redeemed
    assert (r.seller, r.company, r.redeemed) == ("Zhipu AI", "demo", Decimal("5.00"))


def test_a_foreign_base_model_or_a_caller_paid_service_keeps_the_compute_voucher(
    platform: Platform,
) -> None:
    p = platform
    assert p.billing is not None
    replica_hour(p, SPEC.replace("domestic: true", "domestic: false"))
    replica_hour(
        p, SPEC.replace("name: glm", "name: api").replace("payer: owner", "payer: caller")
    )
    settle(p)
    found = sorted(
        (s.deduction.programmes, s.deduction.amount) for s in p.billing.store.settlements("demo")
    )
    assert found == [((COMPUTE,), Decimal("3.00")), ((COMPUTE,), Decimal("3.00"))]
    assert cash(p) == Decimal("-14.00")
    assert p.billing.ledger.verify().ok

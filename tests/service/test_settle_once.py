"""Settling and posting in one step make each ledger entry once, and post what is stored.

``settle`` decides each bill line and stores it (``settle_usage``), then posts the stored
settlements (``post_settlements``); the entry a settlement implies is a function of the
settlement, so posting uses the entry settling made where the stored settlement is that
one, and makes it from what is stored otherwise (a settlement stored by another process,
or read back after a crash).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from suanli.billing.ledger import Posting, tenant_cash
from suanli.billing.settlement import settlement_entry
from suanli.domain.clock import FixedClock
from suanli.domain.jobs import JobStatus
from suanli.service.billing import Made, post_settlements, settle, settle_usage
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform
from suanli.service.dispatch import dispatch_placed
from suanli.service.jobs import submit_job
from suanli.service.reconcile import reconcile
from suanli.service.scheduling import run_scheduling_cycle
from suanli.store.base import Settlement
from suanli.store.stores import MEMORY_URL
from tests.builders import make_spec

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def ran_unsettled(tmp_path: Path) -> Platform:
    """A platform whose one job ran 10 minutes on a simulated engine and was metered."""
    clock = FixedClock(T0)
    p = open_platform(
        tmp_path, clock=clock, database_url=MEMORY_URL, detect_gpus=False, simulated_engines=True
    )
    job = submit_job(p, make_spec(env={"SUANLI_SIM_RUN_S": "600"}))
    for _ in range(30):  # the control loop's steps but the billing step
        run_scheduling_cycle(p)
        dispatch_placed(p)
        reconcile(p)
        clock.advance(60.0)
    done = p.jobs.get(job.id)
    assert done is not None
    assert done.status is JobStatus.SUCCEEDED
    assert p.billing is not None
    assert len(p.billing.store.unsettled()) == 1
    return p


def settled(tmp_path: Path) -> tuple[Platform, Made, Settlement]:
    """``ran_unsettled``'s platform once settled (nothing posted): the entries settling
    made, and the one settlement stored."""
    p = ran_unsettled(tmp_path)
    assert p.billing is not None
    made: Made = {}
    assert settle_usage(p, made) == 1
    (stored,) = p.billing.store.unposted()
    return p, made, stored


def test_the_entry_settling_made_is_the_one_posting_would_make(tmp_path: Path) -> None:
    p, made, stored = settled(tmp_path)
    assert p.billing is not None
    kept, entry = made[stored.line.key]
    assert kept == stored
    assert entry == settlement_entry(
        stored.line, stored.deduction, stored.settled_at, p.billing.platform_fee_rate
    )
    assert post_settlements(p, made) == 1
    assert p.billing.ledger.has(entry.key)
    assert settle(p).posted == 0  # once


def test_posting_makes_the_entry_from_what_is_stored_when_it_differs(tmp_path: Path) -> None:
    p, made, stored = settled(tmp_path)
    assert p.billing is not None
    _, entry = made[stored.line.key]
    # As if this step had decided otherwise than what is stored (another process stored
    # its own first): the entry made from the other settlement is not posted.
    other = dataclasses.replace(stored, settled_at=stored.settled_at + dt.timedelta(days=400))
    twice = tuple(Posting(x.account, x.amount * 2) for x in entry.postings)
    wrong = dataclasses.replace(entry, postings=twice, at=other.settled_at)
    assert post_settlements(p, {stored.line.key: (other, wrong)}) == 1
    cash = tenant_cash(stored.line.tenant)
    assert p.billing.ledger.balance(cash) == entry.amount_on(cash) != 0

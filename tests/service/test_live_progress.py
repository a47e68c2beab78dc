"""The live replay's tick hook and its clock's start (a scenario's billing start)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from suanli.domain.errors import InvalidInput
from suanli.domain.tenants import Attribute, TenantTerms
from suanli.scheduler.queueing import QueueSettings
from suanli.sim.live import EPOCH, LiveReplay
from suanli.sim.progress import ReplayProgress
from suanli.sim.scenario import ReplaySetup, load_scenario
from suanli.sim.traces import TraceJob
from suanli.sim.voucher_whatif import SpendLine
from tests.service.test_live_report import FLEET
from tests.service.test_live_report import JOBS as BASE_JOBS

JOBS = [
    *BASE_JOBS,
    TraceJob("t4", "acme", 30.0, 4, 60.0),  # more than the fleet has: refused
]
# Beijing E-Town's compute voucher (shipped, src/suanli/data/vouchers): in force from
# 2024-03-28 to 2027-03-31, 30% of each bill line on non-domestic compute.
ETOWN: dict[str, Attribute] = {
    "registered_zone": "yizhuang-new-town",
    "independent_legal_person": True,
    "no_major_penalty_3y": True,
    "no_criminal_record_3y": True,
    "not_on_dishonesty_list": True,
}


def test_the_hook_hears_every_tick_with_the_counts_of_the_stores() -> None:
    heard: list[ReplayProgress] = []
    replay = LiveReplay(
        FLEET, {"acme": TenantTerms("acme")}, QueueSettings(), on_tick=heard.append
    )
    report = replay.run(JOBS)
    # Every tick but the closing one (after the last end, with nothing left, the clock
    # jumps ahead to see that nothing more comes: not where the replay stands).
    assert len(heard) == report.ticks - 1
    assert [p.ticks for p in heard] == list(range(1, report.ticks))
    assert heard[-1].sim_s <= report.makespan_s
    assert all(p.total == 4 for p in heard)
    assert [p.arrived for p in heard] == sorted(p.arrived for p in heard)
    assert [p.sim_s for p in heard] == sorted(p.sim_s for p in heard)
    first, last = heard[0], heard[-1]
    # The first tick: t1 arrived at second 0 and was placed by that tick's cycle.
    assert (first.sim_s, first.arrived, first.waiting, first.running) == (0.0, 1, 0, 1)
    assert (last.arrived, last.rejected, last.finished) == (4, 1, report.finished)
    assert report.finished == 3
    assert last.waiting == last.running == 0
    # Some tick saw t3 wait while t1 and t2 ran.
    assert any(p.waiting == 1 and p.running == 2 for p in heard)
    for p in heard:
        assert p.waiting + p.running + p.finished == p.arrived - p.rejected


def test_without_a_hook_the_replay_decides_the_same() -> None:
    terms = {"acme": TenantTerms("acme")}
    quiet = LiveReplay(FLEET, terms, QueueSettings()).run(JOBS).to_dict()
    heard = LiveReplay(FLEET, terms, QueueSettings(), on_tick=lambda _: None).run(JOBS)
    assert heard.to_dict() == quiet


def _setup(start: dt.date) -> ReplaySetup:
    return ReplaySetup(
        fleet=FLEET,
        tenants={"acme": TenantTerms("acme")},
        attributes={"acme": ETOWN},
        billing_start=start,
    )


def test_a_replay_bills_from_the_scenarios_billing_start() -> None:
    # Before the programme is in force: no voucher; inside it: 30% off; the spend is
    # booked in the billing start's month, not the replay's old fixed 2025-01.
    before = _setup(dt.date(2024, 2, 1)).replay("fifo").run(JOBS)
    inside = _setup(dt.date(2024, 4, 1)).replay("fifo").run(JOBS)
    after = _setup(dt.date(2027, 4, 1)).replay("fifo").run(JOBS)
    assert before.cost_yuan == inside.cost_yuan == after.cost_yuan == Decimal("40.00")  # gross
    assert before.voucher_yuan == after.voucher_yuan == Decimal("0.00")
    assert inside.voucher_yuan == Decimal("12.00")
    assert inside.spend == [SpendLine("acme", (2024, 4), False, Decimal("40.00"))]
    assert before.spend == [SpendLine("acme", (2024, 2), False, Decimal("40.00"))]
    # The figures in seconds are the trace's, whatever the date.
    assert (before.avg_jct_s, before.makespan_s) == (inside.avg_jct_s, inside.makespan_s)


def test_the_default_billing_start_is_the_old_epoch() -> None:
    replay = _setup(ReplaySetup(FLEET, {}).billing_start).replay("fifo")
    assert replay.start == EPOCH == dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize("start", ["1999-12-31", "9999-12-31"])
def test_a_billing_start_outside_its_bounds_is_refused_naming_it(
    tmp_path: Path, start: str
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        f"format: suanli/sim-scenario/v1\nfleet: {{clusters: []}}\nbilling_start: {start}\n"
    )
    with pytest.raises(InvalidInput) as caught:
        load_scenario(path)
    assert "billing_start" in caught.value.message("en")
    assert start in caught.value.message("zh")
    assert "超出范围" in caught.value.message("zh")

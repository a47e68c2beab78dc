"""The live replay's report: every figure read back from the stores after the run."""

from __future__ import annotations

from decimal import Decimal

import pytest

from suanli.domain.tenants import TenantTerms
from suanli.scheduler.queueing import QueueSettings
from suanli.sim.live import LiveReplay
from suanli.sim.live_report import SAMPLE_S
from suanli.sim.traces import TraceJob
from suanli.sim.voucher_whatif import SpendLine
from tests.builders import make_fleet, make_pool

FLEET = make_fleet(
    ("c", "beijing", [make_pool("a100", "A100", nodes=1, per_node=2, price="10.00")])
)
JOBS = [
    TraceJob("t1", "acme", 0.0, 1, 3600.0),
    TraceJob("t2", "acme", 10.0, 1, 7200.0),
    TraceJob("t3", "acme", 20.0, 2, 1800.0),  # needs both: waits for t1 and t2
]


def test_queueing_utilization_series_and_quota_come_from_the_attempts() -> None:
    terms = {"acme": TenantTerms("acme", quota={"A100": 2})}
    report = LiveReplay(FLEET, terms, QueueSettings(), tick_s=60).run(JOBS)
    assert report.finished == 3
    # t1 and t2 start on arrival; t3 waits from 20 s until t2 ends (7,210 s, + the tick).
    queued_t3 = 3 * report.avg_queue_s
    assert 7190 <= queued_t3 <= 7190 + 60
    assert report.per_tenant["acme"]["jobs"] == 3
    # 1 h + 2 h + 2 x 0.5 h of accelerator time over 2 accelerators x the makespan.
    assert report.utilization == pytest.approx(14_400 / (2 * report.makespan_s), abs=1e-4)
    series = report.series
    at = {t: i for i, t in enumerate(series["t"])}
    assert series["t"][1] - series["t"][0] == SAMPLE_S
    i = at[600.0]  # t1 and t2 run, t3 waits
    assert (series["queued"][i], series["utilization"][i]) == (1.0, 1.0)
    i = at[4200.0]  # t1 is over: one accelerator idle, t3 still waits for both
    assert (series["queued"][i], series["utilization"][i]) == (1.0, 0.5)
    i = at[7800.0]  # t3 runs alone on both
    assert (series["queued"][i], series["utilization"][i]) == (0.0, 1.0)
    # acme asked for its quota of 2 all along and got it, or its waiting job (2) would not
    # have fitted in what was left of it: met every sample.
    assert report.per_tenant["acme"]["quota_met"] == 1.0
    assert report.per_tenant["acme"]["quota_asked_s"] >= 7200
    assert report.quota_met_worst_tenant == "acme"


def test_money_is_the_settlements_and_the_spend_lines_sum_them() -> None:
    report = LiveReplay(FLEET, {"acme": TenantTerms("acme")}, QueueSettings(), tick_s=60).run(JOBS)
    assert report.cost_yuan == Decimal("40.00") == Decimal(report.billed_yuan)
    assert report.voucher_yuan == Decimal("0.00")
    assert report.domestic_share == 0.0  # an A100 is not domestic
    assert report.spend == [SpendLine("acme", (2025, 1), False, Decimal("40.00"))]
    body = report.to_dict()
    assert body["cost_yuan"] == "40.00"
    assert "series" not in body
    assert "series" in report.to_dict(full=True)

"""suanli's default placement: expected cost (throughput, vouchers, data) or earliest finish."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from suanli.domain.fleet import Fleet, Link, Network, Pool
from suanli.domain.jobs import Estimate, PoolVerdict, Reason
from suanli.domain.spec import JobSpec
from suanli.scheduler.policies import (
    CheapestFirst,
    CycleResult,
    KeepWaiting,
    ObjectiveFirst,
    PlaceJob,
    PlacementPolicy,
)
from suanli.scheduler.snapshot import build_snapshot
from tests.builders import T0, make_fleet, make_job, make_pool, make_spec

RATES = {("demo", True): Decimal("0.40"), ("demo", False): Decimal("0.30")}


def fleet(*pools: tuple[str, str, Pool]) -> Fleet:
    """One cluster per (name, region, pool)."""
    return make_fleet(*[(name, region, [pool]) for name, region, pool in pools])


def place(
    fl: Fleet,
    spec: JobSpec,
    policy: PlacementPolicy | None = None,
    rates: dict[tuple[str, bool], Decimal] | None = None,
) -> CycleResult:
    snap = build_snapshot(T0, fl, [], [make_job(spec)], voucher_rates=rates or {})
    return (policy or ObjectiveFirst()).decide(snap)


def chosen(result: CycleResult) -> str:
    return result.placed[0].placement.cluster


def verdict(result: CycleResult, cluster: str) -> PoolVerdict:
    outcomes: list[PlaceJob | KeepWaiting] = [*result.placed, *result.waiting]
    outcome = outcomes[0]
    return next(v for v in outcome.decision.verdicts if v.cluster == cluster)


def estimate(result: CycleResult, cluster: str) -> Estimate:
    found = verdict(result, cluster).estimate
    assert found is not None, f"{cluster} has no estimate"
    return found


def reason(v: PoolVerdict) -> Reason:
    assert v.reason is not None, f"{v.cluster} has no reason"
    return v.reason


A100_VS_H100 = fleet(
    ("a100", "beijing", make_pool("p", "A100", price="10.00")),
    ("h100", "beijing", make_pool("p", "H100", price="25.00")),
)


class TestCost:
    def test_a_faster_card_can_be_cheaper_per_job(self) -> None:
        spec = make_spec(
            resources={"accelerator": {"model": ["A100", "H100"]}}, estimated_hours=10
        )
        result = place(A100_VS_H100, spec)
        assert chosen(result) == "h100"  # 25 yuan/h but 3.17x faster: 78.87 < 100.00
        e = estimate(result, "h100")
        assert e.relative_throughput == pytest.approx(989 / 312)
        assert e.gross == Decimal("78.87")
        assert estimate(result, "a100").gross == Decimal("100.00")
        assert chosen(place(A100_VS_H100, spec, CheapestFirst())) == "a100"  # list price only

    def test_the_tenants_voucher_makes_domestic_compute_cheaper(self) -> None:
        fl = fleet(
            ("a100", "beijing", make_pool("p", "A100", price="10.00")),
            ("ascend", "beijing", make_pool("p", "Ascend910B", price="11.00")),
        )
        spec = make_spec(
            resources={"accelerator": {"model": ["A100", "Ascend910B"]}},
            stacks=["cuda", "cann"],
            estimated_hours=10,
        )
        assert chosen(place(fl, spec)) == "a100"  # no voucher: 100.00 < 107.25
        result = place(fl, spec, rates=RATES)
        assert chosen(result) == "ascend"  # 40 % off domestic vs 30 % off: 64.35 < 70.00
        e = estimate(result, "ascend")
        assert (e.gross, e.voucher, e.net) == (
            Decimal("107.25"),
            Decimal("42.90"),
            Decimal("64.35"),
        )

    def test_moving_data_to_the_pool_counts(self) -> None:
        fl = fleet(
            ("near", "inner-mongolia", make_pool("p", "A100", price="10.00")),
            ("far", "beijing", make_pool("p", "A100", price="9.00")),
        )
        spec = make_spec(
            resources={"accelerator": {"model": "A100"}},
            estimated_hours=10,
            inputs=[{"name": "d", "uri": "oss://b/d", "region": "inner-mongolia", "size_gb": 500}],
        )
        result = place(fl, spec)
        assert chosen(result) == "near"
        far = estimate(result, "far")
        assert far.data_cost == Decimal("250.00")  # default link: 0.50 yuan/GB
        assert far.transfer_hours == pytest.approx(500 * 8 / 1.0 / 3600)
        assert estimate(result, "near").data_cost == Decimal("0.00")

    def test_network_links_override_the_default(self) -> None:
        fl = fleet(("far", "beijing", make_pool("p", "A100")))
        fl = type(fl)(
            fl.providers,
            fl.catalog,
            Network(links=(("beijing", "hebei", Link(Decimal("0.10"), 10.0)),)),
        )
        spec = make_spec(
            resources={"accelerator": {"model": "A100"}},
            inputs=[{"name": "d", "uri": "oss://b/d", "region": "hebei", "size_gb": 100}],
        )
        assert estimate(place(fl, spec), "far").data_cost == Decimal("10.00")


class TestTimeAndLimits:
    def test_time_objective_takes_the_earliest_finish(self) -> None:
        fl = fleet(
            ("a100", "beijing", make_pool("p", "A100", price="1.00")),
            ("h100", "beijing", make_pool("p", "H100", price="50.00")),
        )
        spec = make_spec(
            resources={"accelerator": {"model": ["A100", "H100"]}},
            estimated_hours=10,
            objective="time",
        )
        result = place(fl, spec)
        assert chosen(result) == "h100"
        assert result.placed[0].decision.summary.code == "placed_fastest"
        assert chosen(place(fl, spec.model_copy(update={"objective": "cost"}))) == "a100"

    def test_budget_excludes_pools_that_would_cost_more(self) -> None:
        spec = make_spec(
            resources={"accelerator": {"model": ["A100", "H100"]}},
            estimated_hours=10,
            budget_yuan="90.00",
            objective="time",
        )
        result = place(A100_VS_H100, spec)
        assert chosen(result) == "h100"  # 78.87 fits the budget
        assert reason(verdict(result, "a100")).code == "pool_over_budget"
        tight = place(A100_VS_H100, spec.model_copy(update={"budget_yuan": Decimal("50")}))
        assert tight.placed == []
        assert tight.waiting[0].never

    def test_deadline_excludes_pools_that_would_finish_late(self) -> None:
        spec = make_spec(
            resources={"accelerator": {"model": ["A100", "H100"]}},
            estimated_hours=10,
            deadline=T0 + dt.timedelta(hours=5),
        )
        result = place(A100_VS_H100, spec)
        assert chosen(result) == "h100"  # about 3.2 h; the A100 needs 10 h
        assert reason(verdict(result, "a100")).code == "pool_misses_deadline"

    def test_runners_up_keep_their_figures(self) -> None:
        spec = make_spec(resources={"accelerator": {"model": ["A100", "H100"]}})
        result = place(A100_VS_H100, spec)
        verdicts = result.placed[0].decision.verdicts
        assert all(v.feasible and v.estimate is not None for v in verdicts)
        # One reference hour each: the H100 does it in 0.32 h for 7.89, the A100 costs 10.00.
        assert [v.cluster for v in verdicts] == ["h100", "a100"]

"""A planner kept from cycle to cycle decides exactly as one made anew each cycle.

``plans.KeptPlans`` keeps the planner while the fleet and its pools (each as available as it
was) stay the same; its estimates were made at its first cycle's instant and are moved to
each later one. Cycles here move the clock (and sometimes not), change the queue, the
tenants' voucher rates and pools, and a cluster's availability; every decision, every
verdict line and every forecast must equal the one a fresh planner makes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import random
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from suanli.domain.jobs import Decision
from suanli.scheduler.fairqueue import fair_turn
from suanli.scheduler.kept_plans import KeptPlans
from suanli.scheduler.policies import POLICIES as PLACEMENT
from suanli.scheduler.policies import CycleResult
from suanli.scheduler.queueing import QueueSettings
from suanli.scheduler.snapshot import Snapshot, build_snapshot
from tests.builders import T0, make_job, make_spec
from tests.unit.test_fast_cycle import comparable, random_fleet, random_queue, random_spec

RATES = [Decimal("0"), Decimal("0.2"), Decimal("0.4")]


def cycles(seed: int) -> list[Snapshot]:
    """Snapshots of one fleet at moving instants, with what a cycle's snapshot may change."""
    rng = random.Random(seed)
    fleet = random_fleet(rng)
    clusters = [c.name for c in fleet.clusters()]
    pools = [f"{c.name}/{q.name}" for c, q in fleet.pools()]
    specs = [make_spec(**random_spec(rng)) for _ in range(rng.randint(1, 4))]
    now = T0
    out = []
    for c in range(6):
        now += dt.timedelta(seconds=rng.choice([0, 0.5, 61, 3600.25, 86400 * 3]))
        rates = {(t, d): rng.choice(RATES) for t in ("demo", "other") for d in (True, False)}
        if rng.random() < 0.3:
            rates = {k: v for k, v in rates.items() if k[0] == "demo"}  # "other" waits not
        limits = {"other": frozenset(rng.sample(pools, 1))} if rng.random() < 0.3 else {}
        down = frozenset(rng.sample(clusters, 1)) if rng.random() < 0.2 else frozenset()
        # The same kinds of job cycle after cycle (what a kept planner reuses), at times
        # with others.
        queue = [
            make_job(
                rng.choice(specs),
                f"j-{c}-{i:02d}",
                at=T0 + dt.timedelta(seconds=i),
                pinned_cluster=rng.choice(clusters) if rng.random() < 0.1 else None,
                tenant=rng.choice(["demo", "other"]),
            )
            for i in range(rng.randint(1, 12))
        ]
        if rng.random() < 0.3:
            queue += random_queue(rng, fleet)
        out.append(build_snapshot(now, fleet, [], queue, down, rates, limits))
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), policy=st.sampled_from(["default", "cheapest"]))
def test_a_kept_planner_places_and_explains_as_one_made_each_cycle(seed: int, policy: str) -> None:
    placer = PLACEMENT[policy]
    kept = KeptPlans()
    snapshots = cycles(seed)
    for snapshot in snapshots:
        assert comparable(placer.decide(snapshot, None, kept)) == comparable(
            placer.decide(snapshot)
        )
    # Kept, not remade: a planner per change of the fleet's availability at most.
    changes = sum(
        1
        for a, b in itertools.pairwise(snapshots)
        if [s.available for s in a.pools] != [s.available for s in b.pools]
    )
    assert kept.made <= 1 + changes


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6))
def test_a_kept_planner_gives_the_fair_queue_the_plans_of_one_made_each_cycle(seed: int) -> None:
    placer = PLACEMENT["default"]
    kept = KeptPlans()
    for snapshot in cycles(seed):
        # The fair turn and placement share the kept planner, as the service's cycle does.
        a = fair_turn(snapshot, [], placer.rank, {}, QueueSettings(), plans=kept)
        b = fair_turn(snapshot, [], placer.rank, {}, QueueSettings())
        assert (a.admitted, a.waits, a.models) == (b.admitted, b.waits, b.models)
        admitted = dataclasses.replace(snapshot, queue=a.admitted)
        assert comparable(placer.decide(admitted, a.models, kept)) == comparable(
            placer.decide(admitted, a.models)
        )


def decisions(result: CycleResult) -> list[Decision]:
    return [p.decision for p in result.placed] + [w.decision for w in result.waiting]


def test_forecasts_move_with_the_clock_while_the_planner_is_kept() -> None:
    rng = random.Random(11)
    fleet = random_fleet(rng)
    queue = random_queue(rng, fleet)
    kept = KeptPlans()
    placer = PLACEMENT["default"]
    first = placer.decide(build_snapshot(T0, fleet, [], queue), None, kept)
    later = T0 + dt.timedelta(hours=5, microseconds=3)
    second = placer.decide(build_snapshot(later, fleet, [], queue), None, kept)
    assert kept.made == 1
    moved = [
        (b.estimate.finish_at - a.estimate.finish_at)
        for x, y in zip(decisions(first), decisions(second), strict=True)
        for a, b in zip(x.verdicts, y.verdicts, strict=True)
        if a.estimate is not None and b.estimate is not None
    ]
    assert moved
    assert set(moved) == {later - T0}

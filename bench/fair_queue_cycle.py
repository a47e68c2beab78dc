"""Benchmark: the live scheduling cycle's decision with and without the fair queue.

The fleet and queue of ``bench/scheduler_cycle.py`` (``--pools`` pools, ``--jobs`` queued
jobs), ``--tenants`` tenants in two cohorts with quotas per model and ``*`` that add up to
about the fleet, and ``--running`` jobs already holding accelerators (some on borrowed
quota, some long-served, so reclaim and outranking both come up). Prints, in CPU seconds:

* before: the placement policy alone over the whole queue (the cycle before fair queues);
* after: ``fair_turn`` (plans, the queueing core's ``decide``, waiting reasons) plus
  placement of the admitted jobs, and the ratio after / before;
* what the turn decided: admitted, placed, preempted, waiting by reason.

    .venv/bin/python bench/fair_queue_cycle.py [--jobs 10000] [--pools 100]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import random
import time
from collections import Counter

from scheduler_cycle import T0, fleet, queue
from suanli.domain.fleet import Fleet
from suanli.domain.jobs import Job, JobStatus, Placement
from suanli.domain.tenants import TenantTerms
from suanli.scheduler.fairqueue import fair_turn
from suanli.scheduler.policies import POLICIES
from suanli.scheduler.queueing import QueueSettings
from suanli.scheduler.snapshot import build_snapshot


def tenants(n: int, f: Fleet, rng: random.Random) -> dict[str, TenantTerms]:
    """Quotas per model that add up to about the fleet's accelerators, split over ``n``."""
    per_model = Counter[str]()
    for _, pool in f.pools():
        if pool.accelerator:
            per_model[pool.accelerator] += pool.accelerators
    out = {}
    for i in range(n):
        quota = {m: max(1, c // n) for m, c in per_model.items() if rng.random() < 0.5}
        quota["*"] = max(1, sum(per_model.values()) // (4 * n))
        out[f"t{i}"] = TenantTerms(
            f"t{i}", rng.choice([1.0, 2.0]), quota, f"c{i % 2}", borrow=rng.random() < 0.8
        )
    return out


def spread(jobs: list[Job], names: list[str], rng: random.Random) -> list[Job]:
    return [
        dataclasses.replace(
            j,
            tenant=rng.choice(names),
            submitted_at=T0 + dt.timedelta(seconds=i),
            queued_at=T0 + dt.timedelta(seconds=i),
            attained=rng.choice([0.0, 0.0, 5000.0, 40000.0]),
        )
        for i, j in enumerate(jobs)
    ]


def running(f: Fleet, jobs: list[Job], now: dt.datetime, rng: random.Random) -> list[Job]:
    """The first ``jobs`` placed by the placement policy and started an hour ago."""
    placed = POLICIES["default"].decide(build_snapshot(now, f, [], jobs))
    by_id = {j.id: j for j in jobs}
    out = []
    for choice in placed.placed:
        j = by_id[choice.job_id]
        pl: Placement = choice.placement
        out.append(
            dataclasses.replace(
                j,
                status=JobStatus.RUNNING,
                placement=pl,
                started_at=now - dt.timedelta(hours=1),
                attempt=1,
                borrowed=rng.random() < 0.3,
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--pools", type=int, default=100)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--running", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--no-reserve",
        action="store_true",
        help="backfill without reservations (replays' default)",
    )
    args = parser.parse_args()
    rng = random.Random(7)
    f = fleet(args.pools, rng)
    terms = tenants(args.tenants, f, rng)
    jobs = spread(queue(args.jobs + args.running, rng), sorted(terms), rng)
    now = T0 + dt.timedelta(hours=2)
    holding = running(f, jobs[: args.running], now, rng)
    waiting = jobs[args.running :]
    placer = POLICIES["default"]
    settings = QueueSettings(reserve=not args.no_reserve)  # the live server reserves
    accelerators = sum(p.accelerators for _, p in f.pools())
    print(
        f"fleet: {args.pools} pools, {accelerators} accelerators; {len(holding)} running; "
        f"queue: {len(waiting)} jobs of {args.tenants} tenants"
    )
    gc.freeze()
    before = after = float("inf")
    plain = turn = result = None
    for _ in range(args.repeat):
        snap = build_snapshot(now, f, holding, waiting)
        gc.collect()
        cpu = time.process_time()
        plain = placer.decide(snap)
        before = min(before, time.process_time() - cpu)
        gc.collect()
        cpu = time.process_time()
        turn = fair_turn(snap, holding, placer.rank, terms, settings)
        result = placer.decide(dataclasses.replace(snap, queue=turn.admitted), turn.models)
        after = min(after, time.process_time() - cpu)
    if plain is None or turn is None or result is None:
        raise SystemExit("--repeat must be at least 1")
    print(f"before (placement alone):        cpu {before:6.3f}s, placed {len(plain.placed)}")
    print(
        f"after (fair turn + placement):   cpu {after:6.3f}s, admitted {len(turn.admitted)}, "
        f"placed {len(result.placed)}, preempted {len(turn.preempts)}"
    )
    print(f"ratio after / before: {after / before:.2f}x")
    reasons = Counter(d.summary.code for d in turn.waits.values())
    reasons.update(w.decision.summary.code for w in result.waiting)
    print("waiting by reason: " + ", ".join(f"{c} {n}" for c, n in reasons.most_common()))


if __name__ == "__main__":
    main()

"""Benchmark: one scheduling cycle of the default placement policy, at fleet scale.

A synthetic fleet of ``--pools`` pools (10 per cluster, 6 regions, 8 accelerator models,
about 100 accelerators per pool) and a queue of ``--jobs`` jobs (1-8 cards or a share of
one, 1-2 nodes, two acceptable models each), all decided in one cycle. Prints:

* decisions per second of ``decide`` (process CPU time and wall time) and the peak RSS;
* the same for ``decide_one_by_one`` (every job planned afresh and every ranked pool
  asked in turn: the cycle as it was before the fast path) on the first
  ``--baseline-jobs`` jobs of the same queue over the same fleet, and the ratio;
* whether both give identical decisions on the first ``--check-jobs`` jobs.

    .venv/bin/python bench/scheduler_cycle.py [--jobs 100000] [--pools 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import random
import resource
import time
from decimal import Decimal

from suanli.domain.fleet import Cluster, EngineRef, Fleet, Pool, Provider
from suanli.domain.ids import JobId
from suanli.domain.jobs import Job, JobStatus
from suanli.domain.spec import JobSpec
from suanli.scheduler.policies import POLICIES
from suanli.scheduler.snapshot import Snapshot, build_snapshot
from suanli.service.fleet import builtin_catalog

MODELS = ["A100", "H100", "Ascend910B", "T4", "RTX4090", "H20", "MLU370-X8", "L40S"]
SHARED = ["T4", "L40S", "RTX4090"]
T0 = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)


def fleet(pools: int, rng: random.Random) -> Fleet:
    clusters = []
    for c in range(max(1, pools // 10)):
        ps = tuple(
            Pool(
                f"p{c}-{i}",
                rng.choice(MODELS),
                rng.randint(5, 20),  # 12.5 nodes of 8 on average: 100 accelerators a pool
                8,
                128,
                1024,
                Decimal(rng.randint(100, 2000)) / 100,
            )
            for i in range(10)
        )
        clusters.append(Cluster(f"c{c}", f"prov{c % 7}", f"r{c % 6}", EngineRef("local"), ps))
    return Fleet((Provider("all", "all", tuple(clusters)),), builtin_catalog())


def queue(n: int, rng: random.Random) -> list[Job]:
    jobs = []
    for i in range(n):
        if rng.random() < 0.1:  # inference: a share of one card
            accelerator = {"model": rng.choice(SHARED), "count": rng.choice([0.25, 0.5])}
            nodes = 1
        else:
            accelerator = {"model": rng.sample(MODELS, 2), "count": rng.choice([1, 2, 4, 8])}
            nodes = rng.choice([1, 1, 1, 2])
        spec = JobSpec.model_validate(
            {
                "name": f"j{i}",
                "run": "x",
                "stacks": ["cuda", "cann", "neuware"],
                "resources": {"accelerator": accelerator, "nodes": nodes},
                "estimated_hours": rng.choice([1, 4, 24]),
            }
        )
        jobs.append(Job(JobId(f"j-{i:07d}"), spec, JobStatus.QUEUED, T0, T0))
    return jobs


def timed(decide: object, snapshot: Snapshot) -> tuple[float, float, object]:
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    result = decide(snapshot)  # type: ignore[operator]
    return time.process_time() - cpu, time.perf_counter() - wall, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--pools", type=int, default=1000)
    parser.add_argument("--baseline-jobs", type=int, default=300)
    parser.add_argument("--check-jobs", type=int, default=2000)
    parser.add_argument("--policy", default="default", choices=sorted(POLICIES))
    args = parser.parse_args()
    rng = random.Random(42)
    f, q = fleet(args.pools, rng), queue(args.jobs, rng)
    accelerators = sum(p.accelerators for _, p in f.pools())
    regions = len(f.regions())
    policy = POLICIES[args.policy]
    print(
        f"fleet: {args.pools} pools, {accelerators} accelerators, {regions} regions; "
        f"queue: {len(q)} jobs; policy: {args.policy}"
    )
    # The queue and fleet live as long as the server would keep them: out of the collector.
    gc.freeze()
    snapshot = build_snapshot(T0, f, [], q)
    cpu, wall, result = timed(policy.decide, snapshot)
    placed = len(result.placed)  # type: ignore[attr-defined]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    fast = len(q) / cpu
    print(
        f"decide:            {len(q):7d} jobs, placed {placed:6d}, cpu {cpu:6.2f}s, "
        f"wall {wall:6.2f}s, decisions/s {fast:8.0f} (cpu) {len(q) / wall:8.0f} (wall), "
        f"peak RSS {peak_mb:.0f} MB"
    )
    base = build_snapshot(T0, f, [], q[: args.baseline_jobs])
    cpu_b, wall_b, _ = timed(policy.decide_one_by_one, base)  # type: ignore[attr-defined]
    slow = args.baseline_jobs / cpu_b
    print(
        f"decide_one_by_one: {args.baseline_jobs:7d} jobs, cpu {cpu_b:6.2f}s, "
        f"wall {wall_b:6.2f}s, decisions/s {slow:8.0f} (cpu)"
    )
    print(f"ratio decide / decide_one_by_one (decisions per cpu second): {fast / slow:.0f}x")
    check = build_snapshot(T0, f, [], q[: args.check_jobs])
    a, b = policy.decide(check), policy.decide_one_by_one(check)  # type: ignore[attr-defined]
    same = [(p.job_id, p.placement, p.decision) for p in a.placed] == [
        (p.job_id, p.placement, p.decision) for p in b.placed
    ] and [(w.job_id, w.decision) for w in a.waiting] == [
        (w.job_id, w.decision) for w in b.waiting
    ]
    print(f"identical decisions on the first {args.check_jobs} jobs: {same}")
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()

"""Benchmark: one scheduling cycle of each placement policy over a synthetic fleet and queue.

Prints decisions per second for growing sizes and both policies (`default`, `cheapest`), and
each run's cost per decision relative to the smallest `cheapest` run in the same process.

    .venv/bin/python bench/scheduler_cycle.py [--jobs 2000] [--pools 200]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
from decimal import Decimal

from suanli.domain.clock import SystemClock
from suanli.domain.fleet import Cluster, EngineRef, Fleet, Pool, Provider
from suanli.domain.ids import JobId
from suanli.domain.jobs import Job, JobStatus
from suanli.domain.spec import JobSpec
from suanli.scheduler.policies import POLICIES
from suanli.scheduler.snapshot import build_snapshot
from suanli.service.fleet import builtin_catalog

MODELS = ["A100", "H100", "Ascend910B", "T4", "RTX4090", "H20", "MLU370-X8", "L40S"]
T0 = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)


def fleet(pools: int, rng: random.Random) -> Fleet:
    clusters = []
    for c in range(max(1, pools // 10)):
        ps = tuple(
            Pool(
                f"p{c}-{i}",
                rng.choice(MODELS),
                rng.randint(2, 16),
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
        spec = JobSpec.model_validate(
            {
                "name": f"j{i}",
                "run": "x",
                "resources": {
                    "accelerator": {
                        "model": rng.sample(MODELS, 2),
                        "count": rng.choice([1, 2, 4, 8]),
                    },
                    "nodes": rng.choice([1, 1, 1, 2]),
                },
            }
        )
        jobs.append(Job(JobId(f"j-{i:07d}"), spec, JobStatus.QUEUED, T0, T0))
    return jobs


def run(jobs: int, pools: int, policy: str) -> tuple[float, int]:
    rng = random.Random(42)
    f, q = fleet(pools, rng), queue(jobs, rng)
    clock = SystemClock()
    start = clock.monotonic()
    result = POLICIES[policy].decide(build_snapshot(T0, f, [], q))
    seconds = clock.monotonic() - start
    return seconds, len(result.placed)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--pools", type=int, default=200)
    args = parser.parse_args()
    sizes = [
        (args.jobs // 8, args.pools // 8),
        (args.jobs // 2, args.pools // 2),
        (args.jobs, args.pools),
    ]
    base = None
    for policy in ("cheapest", "default"):
        for jobs, pools in sizes:
            seconds, placed = run(jobs, pools, policy)
            per = seconds / jobs
            base = base or per
            print(
                f"{policy:9s} jobs={jobs:6d} pools={pools:4d} placed={placed:6d} "
                f"cycle={seconds:7.3f}s decisions/s={jobs / seconds:8.0f} "
                f"cost-per-decision-vs-smallest={per / base:5.2f}"
            )


if __name__ == "__main__":
    main()

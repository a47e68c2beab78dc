"""The live cycle's node choices on one fixed fleet and queue, pinned: a speed-up of the
packing path (``scheduler.nodes``, ``scheduler.packing``) must not change a single decision.

The digest was recorded at commit a3b7139 (2026-12-07): a rework for speed keeps it; a
change that means to place differently updates it and says why.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from decimal import Decimal

from suanli.domain.fleet import Cluster, EngineRef, Fleet, Pool, Provider
from suanli.domain.ids import JobId
from suanli.domain.jobs import Job, JobStatus
from suanli.domain.spec import JobSpec
from suanli.scheduler.policies import POLICIES
from suanli.scheduler.snapshot import build_snapshot
from suanli.service.fleet import builtin_catalog

T0 = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
MODELS = ["A100", "H100", "Ascend910B", "T4", "RTX4090", "H20"]
SHARED = ["T4", "RTX4090"]
DIGEST = "75813e28c9b7bf0dfe51d7e548e43a81d2dfa4932e3183d34be4696c5852f0fc"


def fixed_fleet(rng: random.Random) -> Fleet:
    clusters = []
    for c in range(4):
        pools = tuple(
            Pool(
                f"p{c}-{i}",
                rng.choice(MODELS),
                rng.randint(2, 12),
                rng.choice([4, 8]),
                rng.choice([64, 128]),
                rng.choice([512, 1024]),
                Decimal(rng.randint(100, 2000)) / 100,
            )
            for i in range(6)
        )
        clusters.append(Cluster(f"c{c}", "prov", f"r{c % 3}", EngineRef("local"), pools))
    return Fleet((Provider("all", "all", tuple(clusters)),), builtin_catalog())


def fixed_queue(rng: random.Random, n: int) -> list[Job]:
    jobs = []
    for i in range(n):
        if rng.random() < 0.25:
            accelerator = {"model": rng.choice(SHARED), "count": rng.choice([0.25, 0.5, 0.7])}
            nodes = 1
        else:
            accelerator = {"model": rng.sample(MODELS, 2), "count": rng.choice([1, 2, 4, 8])}
            nodes = rng.choice([1, 1, 1, 2])
        spec = JobSpec.model_validate(
            {
                "name": f"j{i}",
                "run": "x",
                "stacks": ["cuda", "cann"],
                "resources": {
                    "accelerator": accelerator,
                    "nodes": nodes,
                    "cpus": rng.choice([1, 4, 16]),
                    "memory_gb": rng.choice([1, 16, 64]),
                },
                "estimated_hours": rng.choice([1, 4, 24]),
            }
        )
        jobs.append(Job(JobId(f"j-{i:05d}"), spec, JobStatus.QUEUED, T0, T0))
    return jobs


def decisions_digest() -> tuple[str, int]:
    rng = random.Random(7)
    fleet = fixed_fleet(rng)
    queue = fixed_queue(rng, 1500)
    result = POLICIES["default"].decide(build_snapshot(T0, fleet, [], queue))
    lines = [
        f"{p.job_id} {p.placement.cluster} {p.placement.pool} "
        + " ".join(f"{a.node}:{','.join(map(str, a.slots))}" for a in p.placement.nodes)
        for p in result.placed
    ]
    lines += [f"{w.job_id} waits" for w in result.waiting]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest(), len(result.placed)


def test_the_live_cycle_places_the_fixed_queue_as_before() -> None:
    digest, placed = decisions_digest()
    assert placed > 300  # the fleet fills: later jobs are packed around earlier ones
    assert digest == DIGEST

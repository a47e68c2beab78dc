"""The admission walk over a long queue, with and without its kept refusals (issue 18).

    python bench/queue_walk.py [--waiting 2000 10000] [--repeat 3]

The Philly cohort's shape (``examples/sim/philly-helios-cohort.yaml``: one pool of 325
nodes x 2 V100, 11 tenants of one cohort with the VCs' quotas, borrowing): the pool full
of running work (1- to 8-GPU gangs, ~30% on borrowed quota) and ``--waiting`` works
queued, of the same tenants and sizes, some served before. One ``decide`` of the default
policy (history of 3,000 finished jobs, explained, as the live turn asks) is timed in CPU
seconds with the walk's memo of refusals (``decide(..., keep_refusals=...)``) and without, in
this process; both plans must be the same (starts, preemptions, every explanation). The
queue is generated here (a seeded draw, not a trace): a speed check, not a result.
"""

from __future__ import annotations

import argparse
import random
import time

from suanli.domain.tenants import TenantTerms
from suanli.scheduler.queueing import (
    Plan,
    PoolView,
    QueueSettings,
    QueueView,
    Work,
    decide,
    history_of,
    make_policy,
)

QUOTAS = {  # examples/sim/philly-helios-cohort.yaml
    "6214e9": 118,
    "7f04ca": 58,
    "11cb48": 30,
    "b436b2": 118,
    "ee9e8c": 118,
    "e13805": 32,
    "6c71a0": 58,
    "2869ce": 32,
    "ed69ec": 14,
    "103959": 14,
    "0e4a51": 58,
}
SIZES = (1, 1, 1, 1, 2, 2, 4, 8)
NODES, PER_NODE, NOW = 325, 2, 1_000_000.0


def view(waiting: int, rng: random.Random) -> QueueView:
    tenants = {
        t: TenantTerms(t, quota={"V100": q}, cohort="philly", borrow=True)
        for t, q in QUOTAS.items()
    }
    names = sorted(QUOTAS)
    pool = PoolView("V100", "V100", PER_NODE, [PER_NODE] * NODES, 0.4)
    running: list[Work] = []
    node = 0
    while node < NODES:
        count = rng.choice(SIZES)
        nodes = tuple((n, PER_NODE) for n in range(node, node + count // PER_NODE))
        if count < PER_NODE:
            nodes = ((node, count),)
        if node + len(nodes) > NODES:
            break
        w = Work(
            f"r{len(running):05d}",
            rng.choice(names),
            count,
            NOW - rng.uniform(3_600, 400_000),
            attained=rng.choice([500.0, 20_000.0, 200_000.0]),
            pool="V100",
            nodes=nodes,
            started=NOW - rng.uniform(600, 200_000),
            speed=0.4,
            borrowed=rng.random() < 0.3,
        )
        for n, c in nodes:
            pool.free[n] -= c
        running.append(w)
        node += len(nodes)
    queued = [
        Work(
            f"w{i:06d}",
            rng.choice(names),
            rng.choice(SIZES),
            NOW - rng.uniform(0, 20_000),
            attained=rng.choice([0.0, 0.0, 0.0, 5_000.0]),
            queued_since=NOW - rng.uniform(0, 20_000),
        )
        for i in range(waiting)
    ]
    history = history_of(
        (rng.choice(names), rng.choice(SIZES), rng.lognormvariate(8, 2)) for _ in range(3_000)
    )
    return QueueView(NOW, [pool], running, queued, tenants, history=history)


def outcome(plan: Plan) -> tuple[object, ...]:
    return (
        [(s.work.id, s.pool, s.nodes) for s in plan.starts],
        [(p.work.id, p.reason) for p in plan.preempts],
        plan.waits,
        plan.awaiting_nodes,
    )


def timed(v: QueueView, keep: bool, repeat: int) -> tuple[float, Plan]:
    policy = make_policy("default", QueueSettings())
    if v.history is not None:
        policy = policy.informed(v.history)
    best, plan = float("inf"), None
    for _ in range(repeat):
        cpu = time.process_time()
        plan = decide(v, policy, explain=True, keep_refusals=keep)
        best = min(best, time.process_time() - cpu)
    if plan is None:
        raise SystemExit("--repeat must be at least 1")
    return best, plan


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--waiting", type=int, nargs="+", default=[2_000, 10_000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    for n in args.waiting:
        v = view(n, random.Random(18))
        without, a = timed(v, False, args.repeat)
        with_memo, b = timed(v, True, args.repeat)
        same = outcome(a) == outcome(b)
        print(
            f"{n:,} waiting, {len(v.running)} running: decide {without * 1000:.1f} ms without "
            f"kept refusals, {with_memo * 1000:.1f} ms with ({without / with_memo:.1f}x); "
            f"started {len(b.starts)}, preempted {len(b.preempts)}, explained "
            f"{len(b.waits):,}; plans {'identical' if same else 'DIFFER'}",
            flush=True,
        )


if __name__ == "__main__":
    main()

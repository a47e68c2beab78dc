"""The default policy's batch step: never worse than the greedy pass, never breaks a rule,
and its explanations describe the final choice."""

from __future__ import annotations

import dataclasses
import random
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from suanli.domain.jobs import Job
from suanli.domain.spec import MILLI
from suanli.scheduler.plans import Planner
from suanli.scheduler.policies import CycleResult, ObjectiveFirst
from suanli.scheduler.snapshot import Snapshot, build_snapshot
from tests.builders import T0
from tests.unit.test_fast_cycle import random_fleet, random_queue


class _Greedy(ObjectiveFirst):
    batch = False


DEFAULT = ObjectiveFirst()
GREEDY = _Greedy()


def score(snapshot: Snapshot, result: CycleResult) -> tuple[tuple[tuple[int, int], ...], Decimal]:
    """More jobs placed by priority (highest first), then less total net cost: lower wins."""
    jobs = {j.id: j for j in snapshot.queue}
    counts = dict.fromkeys({j.spec.priority for j in snapshot.queue}, 0)
    cost = Decimal(0)
    for p in result.placed:
        counts[jobs[p.job_id].spec.priority] += 1
        line = next(iter(p.decision.verdicts))
        assert line.estimate is not None
        cost += line.estimate.net
    return tuple((-k, -n) for k, n in sorted(counts.items(), reverse=True)), cost


def free_after(snapshot: Snapshot, result: CycleResult) -> dict[tuple[str, str, str], list[int]]:
    """Per node: [free milli per slot..., cpus, memory] once every placement is taken."""
    jobs = {j.id: j for j in snapshot.queue}
    free = {
        (s.cluster.name, s.pool.name, n.name): [*n.free_milli, n.free_cpus, n.free_memory_gb]
        for s in snapshot.pools
        for n in s.nodes
    }
    for p in result.placed:
        spec = jobs[p.job_id].spec
        names = [a.node for a in p.placement.nodes]
        assert len(set(names)) == spec.resources.nodes  # a gang: distinct nodes, all of them
        for a in p.placement.nodes:
            node = free[(p.placement.cluster, p.placement.pool, a.node)]
            assert len(a.slots) == spec.accelerators_per_node
            for s in a.slots:
                node[s] -= spec.share_milli
            node[-2] -= spec.resources.cpus
            node[-1] -= spec.resources.memory_gb
    for node in free.values():
        assert min(node) >= 0, "a node gave more than it had"
    return free


def fits(snapshot: Snapshot, job: Job, pool: tuple[str, str], free: dict) -> bool:  # type: ignore[type-arg]
    spec = job.spec
    nodes = [v for (c, p, _), v in free.items() if (c, p) == pool]
    room = 0
    for node in nodes:
        slots, cpus, memory = node[:-2], node[-2], node[-1]
        if cpus < spec.resources.cpus or memory < spec.resources.memory_gb:
            continue
        if spec.share_milli >= MILLI:
            room += slots.count(MILLI) >= spec.accelerators_per_node
        elif spec.share_milli:
            room += max(slots, default=0) >= spec.share_milli
        else:
            room += 1
    return room >= spec.resources.nodes


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6))
def test_the_batch_step_never_worsens_the_cycle_nor_breaks_a_rule(seed: int) -> None:
    rng = random.Random(seed)
    fleet = random_fleet(rng)
    queue = random_queue(rng, fleet)
    for i, job in enumerate(queue):  # a few priorities, mostly cost objectives
        spec = job.spec.model_copy(update={"priority": rng.choice([50, 50, 70])})
        queue[i] = dataclasses.replace(job, spec=spec)
    snapshot = build_snapshot(T0, fleet, [], queue)
    greedy, batch = GREEDY.decide(snapshot), DEFAULT.decide(snapshot)
    assert score(snapshot, batch) <= score(snapshot, greedy)
    # Hard rules: every placement is on a pool the job's plan allows, no node over capacity.
    planner = Planner(snapshot, DEFAULT.rank)
    jobs = {j.id: j for j in queue}
    free = free_after(snapshot, batch)
    for p in batch.placed:
        plan = planner.plan(jobs[p.job_id])
        ranked = [o.names for o in plan.ranked]
        chosen = (p.placement.cluster, p.placement.pool)
        assert chosen in ranked
        # The explanation is about the final choice: it names it, its first line is it, and
        # every pool ranked before it has no room now.
        assert p.decision.chosen == chosen
        first = next(iter(p.decision.verdicts))
        assert (first.cluster, first.pool, first.feasible) == (*chosen, True)
        for names in ranked[: ranked.index(chosen)]:
            assert not fits(snapshot, jobs[p.job_id], names, free)
    for w in batch.waiting:
        plan = planner.plan(jobs[w.job_id])
        assert not any(fits(snapshot, jobs[w.job_id], o.names, free) for o in plan.ranked)
    assert {p.job_id for p in batch.placed} | {w.job_id for w in batch.waiting} == set(jobs)

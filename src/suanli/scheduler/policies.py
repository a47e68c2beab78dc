"""Placement policies behind one protocol, and their registry."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from suanli.domain.ids import JobId
from suanli.domain.jobs import Decision, Job, NodeAssignment, Placement, Reason, Verdicts
from suanli.domain.waits import capacity_wait
from suanli.scheduler.batch import Outcome, improve
from suanli.scheduler.kept_plans import KeptPlans
from suanli.scheduler.nodes import (
    DEFAULT_PACKING,
    CycleNodes,
    NodeRequest,
    expected_workload,
    workload_of,
)
from suanli.scheduler.packing import TargetWorkload
from suanli.scheduler.plans import Option, Plan, Planner, kind_of
from suanli.scheduler.snapshot import Snapshot


@dataclass(frozen=True)
class PlaceJob:
    job_id: JobId
    placement: Placement
    decision: Decision


@dataclass(frozen=True)
class KeepWaiting:
    job_id: JobId
    decision: Decision
    never: bool = False  # no pool in the fleet could ever run it


@dataclass(frozen=True)
class CycleResult:
    placed: list[PlaceJob] = field(default_factory=list)
    waiting: list[KeepWaiting] = field(default_factory=list)


class PlacementPolicy(Protocol):
    """Decides, for a snapshot, which queued jobs go where now, and why."""

    name: str

    def decide(
        self,
        snapshot: Snapshot,
        models: Mapping[JobId, str] | None = None,
        plans: KeptPlans | None = None,
    ) -> CycleResult:
        """Return placements and waits for ``snapshot.queue``; must not mutate the input.

        Pure and deterministic for a given snapshot: no I/O, no clock, no randomness
        except from a seed carried in the snapshot. ``models``: the accelerator model a
        job must be placed on (the quota the fair queue admitted it on); others: any.
        ``plans``: the planner the driver keeps from cycle to cycle (None: plan anew); the
        decisions are the same either way.
        """
        ...

    def rank(self, job: Job, option: Option) -> tuple[Any, ...]:
        """How ``job`` ranks ``option`` (lower first): what its plan is ordered by."""
        ...


class _Placer:
    """The cycle every placement policy shares; a policy says only how options rank.

    Per job: its plan (pools that pass every hard rule, in rank order, and the first rule
    that excludes each other pool); the first ranked pool whose nodes take the whole gang
    now wins, chosen node by node with the packing core. Ranked pools before it had no
    room, ranked pools after it are the runners-up, with their figures.

    ``decide`` does this for a queue of 100,000 jobs in seconds: one plan per kind of job,
    a pool that could not take a node request is not asked again in the same cycle (free
    capacity only shrinks), and decisions share their verdict lines. ``decide_one_by_one``
    is the same rule without any of that, job by job and pool by pool: the reference the
    tests compare ``decide`` with, and the baseline of ``bench/scheduler_cycle.py``.
    Both end with the policy's batch step (``scheduler.batch``) when it has one.
    """

    name = "base"
    packing = DEFAULT_PACKING
    batch = False  # whether the batch step (scheduler.batch) may re-assign the greedy pass

    def rank(self, job: Job, option: Option) -> tuple[Any, ...]:
        raise NotImplementedError

    def summary(self, job: Job, option: Option, batch: bool = False) -> Reason:
        """Why ``option`` won; ``batch``: the batch step chose it over the job's own best."""
        raise NotImplementedError

    def decide(
        self,
        snapshot: Snapshot,
        models: Mapping[JobId, str] | None = None,
        plans: KeptPlans | None = None,
    ) -> CycleResult:
        with collector_paused():
            return self._decide(snapshot, models or {}, plans)

    def _decide(
        self, snapshot: Snapshot, models: Mapping[JobId, str], plans: KeptPlans | None
    ) -> CycleResult:
        queue = snapshot.queue
        keys = [kind_of(job) for job in queue]
        first: dict[Hashable, int] = {}
        counts: dict[Hashable, int] = {}
        for i, key in enumerate(keys):
            if key in counts:
                counts[key] += 1
            else:
                counts[key] = 1
                first[key] = i
        workload = workload_of((queue[first[key]], n) for key, n in counts.items())
        if plans is None:
            planner = Planner(snapshot, self.rank)
        else:
            planner = plans.planner_for(snapshot, self.rank)
        nodes = CycleNodes(snapshot, self.packing, workload)
        pools = nodes.pools
        kinds: dict[Hashable, _Kind] = {}
        requests: dict[NodeRequest, int] = {}
        full: set[tuple[int, int]] = set()  # (request, pool) that found no room
        outcomes: list[Outcome[_Kind]] = []  # per job in queue order; k = -1: waiting
        add = outcomes.append
        for job, key in zip(queue, keys, strict=True):
            kind = kinds.get(key)
            if kind is None:
                kind = kinds[key] = _Kind(planner.plan(job), NodeRequest.of(job))
                kind.request_id = requests.setdefault(kind.request, len(requests))
            ranked = kind.plan.ranked
            k, n = kind.next, len(ranked)
            if k < n:
                request, rid = kind.request, kind.request_id
                model = models.get(job.id) if models else None
                advancing = True
                while k < n:
                    index = ranked[k].index
                    if (rid, index) not in full:
                        if model is not None and ranked[k].state.pool.accelerator != model:
                            advancing = False  # not this job's to try: others of its kind may
                            k += 1
                            continue
                        pool = pools.get(index) or nodes.get(index)
                        taken = pool.take(request)
                        if taken is not None:
                            add((job, kind, k, taken))
                            break
                        full.add((rid, index))
                    k += 1
                    if advancing:
                        kind.next = k  # every pool before k is full for this request
                else:
                    add((job, kind, -1, None))
            else:
                add((job, kind, -1, None))
        return self._result(snapshot, outcomes, workload, models)

    def _result(
        self,
        snapshot: Snapshot,
        outcomes: list[Outcome[_Kind]],
        workload: TargetWorkload,
        models: Mapping[JobId, str],
    ) -> CycleResult:
        """Decisions from the greedy outcomes, after the policy's batch step if it has one."""
        moved: set[int] = set()
        if self.batch:
            better = improve(snapshot, outcomes, self.packing, workload, models)
            if better is not None:
                # A job not on its own best pool, nor where the greedy pass put it: the
                # batch step's choice, and its explanation says so.
                moved = {
                    i
                    for i, (a, b) in enumerate(zip(outcomes, better, strict=True))
                    if b[2] > 0 and b[2] != a[2]
                }
                outcomes = better
        result = CycleResult()
        placed, waiting = result.placed, result.waiting
        for i, (job, kind, k, taken) in enumerate(outcomes):
            if taken is None:
                waiting.append(self._waiting(job, kind))
            else:
                placed.append(self._placed(job, kind, k, taken, batch=i in moved))
        return result

    def decide_one_by_one(self, snapshot: Snapshot) -> CycleResult:
        workload = expected_workload(snapshot.queue)
        nodes = CycleNodes(snapshot, self.packing, workload)
        outcomes: list[Outcome[_Kind]] = []
        for job in snapshot.queue:
            kind = _Kind(Planner(snapshot, self.rank).plan(job), NodeRequest.of(job))
            for k, option in enumerate(kind.plan.ranked):
                taken = nodes.get(option.index).take(kind.request)
                if taken is not None:
                    outcomes.append((job, kind, k, taken))
                    break
            else:
                outcomes.append((job, kind, -1, None))
        return self._result(snapshot, outcomes, workload, {})

    def _placed(
        self, job: Job, kind: _Kind, k: int, taken: tuple[NodeAssignment, ...], batch: bool
    ) -> PlaceJob:
        plan = kind.plan
        best = plan.ranked[k]
        summary = kind.summaries.get((k, batch))
        if summary is None:
            summary = kind.summaries[(k, batch)] = self.summary(job, best, batch)
        n = len(plan.ranked)
        verdicts = Verdicts(
            (plan.runner_up, k, n),
            (plan.busy, 0, k),
            (plan.excluded, 0, len(plan.excluded)),
        )
        decision = Decision(summary, verdicts, best.names)
        placement = Placement(*best.names, best.state.pool.accelerator, taken, best.price)
        return PlaceJob(job.id, placement, decision)

    def _waiting(self, job: Job, kind: _Kind) -> KeepWaiting:
        if kind.waiting is None:
            plan = kind.plan
            count = len(plan.ranked)
            summary = capacity_wait(plan.busy[:count])
            lines = Verdicts((plan.busy, 0, count), (plan.excluded, 0, len(plan.excluded)))
            kind.waiting = Decision(summary, lines)
        return KeepWaiting(job.id, kind.waiting, never=not kind.plan.ranked)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector for one cycle: deciding 100,000 jobs allocates a
    million small objects without reference cycles, and the collector would walk them
    again and again (a quarter of the cycle's time); what it would free, it frees after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass
class _Kind:
    """One kind of job in a cycle: its plan, its node request, and how far its pools are full."""

    plan: Plan
    request: NodeRequest
    next: int = 0  # ranked pools before this one have no room for the request
    request_id: int = 0  # the same for kinds with equal requests
    summaries: dict[tuple[int, bool], Reason] = field(default_factory=dict)
    waiting: Decision | None = None


class CheapestFirst(_Placer):
    """First policy: feasible pools only, the lowest price per hour that has room now wins."""

    name = "cheapest"

    def rank(self, job: Job, option: Option) -> tuple[Any, ...]:
        return (option.price, *option.names)

    def summary(self, job: Job, option: Option, batch: bool = False) -> Reason:
        return Reason("placed_cheapest", {"price": _yuan(option.price, option.price > 0)})


class ObjectiveFirst(_Placer):
    """suanli's default: the job's objective over expected figures, not list prices.

    ``cost``: price × hours on that accelerator (hours scaled by relative throughput) -
    the tenant's voucher there (domestic pools earn a higher rate) + moving the inputs.
    ``time``: the earliest expected finish, data transfer included.
    """

    name = "default"
    batch = True

    def rank(self, job: Job, option: Option) -> tuple[Any, ...]:
        e = option.estimate
        if job.spec.objective == "time":
            return (e.finish_at, e.net, *option.names)
        return (e.net, e.finish_at, *option.names)

    def summary(self, job: Job, option: Option, batch: bool = False) -> Reason:
        e = option.estimate
        code = "placed_fastest" if job.spec.objective == "time" else "placed_lowest_cost"
        if batch and job.spec.objective == "cost":
            code = "placed_lowest_batch_cost"
        owed = option.price > 0 and e.hours > 0
        return Reason(
            code,
            {
                "net": _yuan(e.net, owed and not e.voucher and not e.data_cost),
                "gross": _yuan(e.gross, owed),
                "voucher": f"{e.voucher:.2f}",
                "data": f"{e.data_cost:.2f}",
                "hours": _hours(e.hours + e.transfer_hours),
            },
        )


def _yuan(amount: Decimal, owed: bool) -> str:
    """Yuan to the fen; an amount owed that rounds to 0.00 is said to be below one fen."""
    return "amount.below_fen" if owed and amount == 0 else f"{amount:.2f}"


def _hours(hours: float) -> str:
    # A share of a card for a few seconds is still work: show it rather than "0.00 h".
    return f"{hours:.2f}" if hours >= 0.01 or hours == 0 else f"{hours:.4f}"


POLICIES: dict[str, PlacementPolicy] = {
    CheapestFirst.name: CheapestFirst(),
    ObjectiveFirst.name: ObjectiveFirst(),
}

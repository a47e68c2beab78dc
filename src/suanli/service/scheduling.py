"""One scheduling cycle: admit pending jobs, snapshot, fair queue and placement decide, apply.

The fair queue (``suanli.scheduler.fairqueue``: the queueing core the simulator drives too)
says who starts on whose quota, who gives accelerators back and why the others wait; the
placement policy says where the admitted jobs go. Both are pure; this module applies them
with guarded writes, so a decision made on a stale job waits for the next cycle.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from operator import attrgetter

from suanli.domain.checkpoints import placement_note
from suanli.domain.errors import EngineFailure
from suanli.domain.jobs import (
    Decision,
    Estimate,
    Job,
    JobStatus,
    PoolVerdict,
    Reason,
    job_with,
)
from suanli.domain.lifecycle import note, transition
from suanli.scheduler.fairqueue import fair_turn
from suanli.scheduler.snapshot import Snapshot, build_snapshot, queue_order
from suanli.service.deps import Platform
from suanli.service.jobs import request_engine_cancel
from suanli.service.services_control import run_services_step
from suanli.service.voucher_rates import voucher_rates
from suanli.store.base import Outcome

S = JobStatus


@dataclass(frozen=True)
class CycleReport:
    admitted: int = 0
    placed: int = 0
    waiting: int = 0
    preempted: int = 0


# Finished jobs whose service the queue learns from, each cycle (the most recent).
HISTORY_JOBS = 1_000

# A waiting job's explanation is stored again when it says something new, or when its
# forecasts ("would finish at", if started now) have moved on by this much: they move with
# the clock alone, and storing every waiting job again on every tick (every 0.5 s on the
# server, every event in a replay) is most of a busy queue's cycle.
FORECAST_REFRESH = dt.timedelta(minutes=5)
_VERDICT = attrgetter(*(f.name for f in dataclasses.fields(PoolVerdict) if f.name != "estimate"))
_ESTIMATE = attrgetter(*(f.name for f in dataclasses.fields(Estimate) if f.name != "finish_at"))


def says_more(stored: Decision | None, new: Decision) -> bool:
    """Whether ``new`` should replace the ``stored`` explanation of a waiting job."""
    if stored is None or stored.summary != new.summary or stored.chosen != new.chosen:
        return True
    if len(stored.verdicts) != len(new.verdicts):
        return True
    for a, b in zip(stored.verdicts, new.verdicts, strict=True):
        if a is b:
            continue
        if _VERDICT(a) != _VERDICT(b):
            return True
        ea, eb = a.estimate, b.estimate
        if ea is None or eb is None:
            if ea is not eb:
                return True
            continue
        if _ESTIMATE(ea) != _ESTIMATE(eb) or abs(eb.finish_at - ea.finish_at) >= FORECAST_REFRESH:
            return True
    return False


def news(explained: Iterable[tuple[Job, Decision]]) -> Iterator[tuple[Job, Decision]]:
    """The (job, explanation) pairs whose explanation ``says_more`` than the job's stored
    one. A cycle shares one explanation among the waiting jobs of one kind refused alike,
    and jobs saved with it in one cycle share it stored: each pair of explanation objects
    is compared once (both are held by the caller's jobs and pairs meanwhile, so their
    ids are not reused)."""
    seen: dict[tuple[int, int], bool] = {}
    for job, decision in explained:
        stored = job.decision
        pair = (id(stored), id(decision))
        more = seen.get(pair)
        if more is None:
            more = seen[pair] = says_more(stored, decision)
        if more:
            yield job, decision


def run_scheduling_cycle(p: Platform) -> CycleReport:
    """Steps: 1 admit PENDING, 2 snapshot, 3 decide (pure), 4 apply with guarded writes."""
    run_services_step(p)  # model services: replicas wanted become jobs to place (or stop)
    now = p.clock.now()
    # The unfinished jobs, sorted out (followed from tick to tick where the store tells
    # which jobs changed: service.followed_active).
    active = p.cycle_state.active.read(p.jobs)
    # 1. Admission: the spec was checked at the edge; quotas are the queue's business.
    admitted = 0
    queue = active.queued
    for job in active.pending:
        # Its first entry into the queue is its submission: jobs admitted in one cycle keep
        # their submission order inside a service level.
        after, event = transition(
            job, S.QUEUED, now, Reason("reason_admitted"), queued_at=job.submitted_at
        )
        if p.jobs.save(job, after, [event]) is Outcome.APPLIED:
            admitted += 1
            queue.append(job_with(after, version=job.version + 1))
    if not queue:
        return CycleReport(admitted=admitted)
    # 2. Snapshot of free capacity: kept from the last cycle and moved by the jobs that
    # changed, where the store tells which (else taken from every holding job).
    rates = voucher_rates(p, {j.tenant for j in queue}, p.cycle_state.rates)
    limits = {n: t.pools for n, t in p.tenant_terms.items() if t.pools is not None}
    pools = p.cycle_state.capacity.pools(p.jobs, p.fleet, p.unavailable)
    holding = active.holding
    if pools is None:
        snapshot = build_snapshot(now, p.fleet, holding, queue, p.unavailable, rates, limits)
    else:
        queue.sort(key=queue_order)
        snapshot = Snapshot(now, p.fleet, pools, queue, rates, tenant_pools=limits)
    # 3. Decide: the fair queue (when, whose), then placement (where) for those it admits.
    # What the jobs that finished teach the queue (the default ranks by it): newest first
    # from the store, oldest first to the history.
    history = p.cycle_state.learned(p.jobs, HISTORY_JOBS, p.fleet)
    turn = fair_turn(
        snapshot,
        holding,
        p.policy.rank,
        p.tenant_terms,
        p.queue_settings,
        history,
        p.cycle_state.turn,
        p.cycle_state.plans,
    )
    admitted_only = dataclasses.replace(snapshot, queue=turn.admitted)
    result = p.policy.decide(admitted_only, turn.models, p.cycle_state.plans)
    # 4. Apply: each write is guarded; a stale one waits for the next cycle.
    preempted = sum(preempt(p, job, reason) for job, reason in turn.preempts)
    by_id = {j.id: j for j in queue}
    placed = 0
    for choice in result.placed:
        job = by_id[choice.job_id]
        pl = choice.placement
        reason = Reason(
            "reason_placed",
            {
                "cluster": pl.cluster,
                "pool": pl.pool,
                "nodes": len(pl.nodes),
                "count": job.spec.resources.accelerator.count
                if job.spec.resources.accelerator
                else 0,
                "model": pl.accelerator or "CPU",
            },
        )
        after, event = transition(
            job,
            S.PLACED,
            now,
            reason,
            placement=pl,
            decision=choice.decision,
            borrowed=job.id in turn.borrowed,
        )
        resume = placement_note(after, pl, now)  # resumes on its checkpoint's cluster, or not
        if p.jobs.save(job, after, [event] if resume is None else [event, resume]) is (
            Outcome.APPLIED
        ):
            placed += 1
    waits = {w.job_id: w.decision for w in result.waiting}
    waits.update(turn.waits)
    # The newest explanation, not a history of it.
    for job, decision in news((by_id[job_id], d) for job_id, d in waits.items()):
        p.jobs.save(job, job_with(job, decision=decision), [])
    return CycleReport(admitted, placed, len(waits), preempted)


def preempt(p: Platform, job: Job, reason: Reason) -> bool:
    """Ask ``job`` to give its accelerators back (``reason``: reclaim or outranked).

    Not started yet (PLACED): the placement is withdrawn at once. Started: the engine is
    asked to stop the attempt (a checkpoint's chance: engines send SIGTERM first); the job
    keeps its accelerators until the engine confirms, then goes back to the queue with
    its history and service (``suanli.service.reconcile``), the attempt metered once.
    """
    now = p.clock.now()
    if job.status is S.PLACED:
        after, event = transition(
            job, S.QUEUED, now, reason, placement=None, borrowed=False, queued_at=now
        )
        return p.jobs.save(job, after, [event]) is Outcome.APPLIED
    if job.preempt_at is not None or job.cancel_requested:
        return False
    asked = Reason(
        "reason_preempt_asked",
        {"attempt": job.attempt, "grace": round(p.queue_settings.grace_s)},
    )
    after = job_with(job, preempt_at=now, updated_at=now)
    if p.jobs.save(job, after, [note(job, now, reason), note(job, now, asked)]) is not (
        Outcome.APPLIED
    ):
        return False
    with contextlib.suppress(EngineFailure):  # the reconciler asks again after the grace
        request_engine_cancel(p, after, p.queue_settings.grace_s)
    return True

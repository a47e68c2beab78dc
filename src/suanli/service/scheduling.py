"""One scheduling cycle: admit pending jobs, snapshot, let the policy decide, apply."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal

from suanli.domain.errors import SuanliError
from suanli.domain.jobs import Job, JobStatus, Reason
from suanli.domain.lifecycle import transition
from suanli.scheduler.snapshot import build_snapshot
from suanli.service.bills import quote
from suanli.service.deps import Platform
from suanli.store.base import Outcome

S = JobStatus


@dataclass(frozen=True)
class CycleReport:
    admitted: int = 0
    placed: int = 0
    waiting: int = 0


# A bill of this size is quoted to learn each tenant's effective voucher rate (caps included).
RATE_SAMPLE = Decimal("10000.00")


def voucher_rates(p: Platform, tenants: set[str]) -> dict[tuple[str, bool], Decimal]:
    """The share of a bill each tenant's best programme would take off, domestic or not.

    The rate folds in eligibility, validity, pools and caps left, so placement prices a pool
    as the tenant will really pay for it; without billing, every rate is zero.
    """
    if p.billing is None:
        return {}
    rates: dict[tuple[str, bool], Decimal] = {}
    for tenant in sorted(tenants):
        for domestic in (True, False):
            try:
                deduction = quote(p, RATE_SAMPLE, domestic, tenant)
            except SuanliError:
                continue  # unknown tenant: no voucher, priced at gross
            rates[(tenant, domestic)] = deduction.amount / RATE_SAMPLE
    return rates


def run_scheduling_cycle(p: Platform) -> CycleReport:
    """Steps: 1 admit PENDING, 2 snapshot, 3 decide (pure), 4 apply with guarded writes."""
    now = p.clock.now()
    active = p.jobs.active()
    # 1. Admission: nothing to check beyond the edge yet (quotas arrive with fair queues).
    admitted = 0
    current: list[Job] = []
    for job in active:
        if job.status is not S.PENDING:
            current.append(job)
            continue
        after, event = transition(job, S.QUEUED, now, Reason("reason_admitted"))
        if p.jobs.save(job, after, [event]) is Outcome.APPLIED:
            admitted += 1
            current.append(dataclasses.replace(after, version=job.version + 1))
    queue = [j for j in current if j.status is S.QUEUED]
    if not queue:
        return CycleReport(admitted=admitted)
    # 2. Snapshot of free capacity.
    snapshot = build_snapshot(
        now,
        p.fleet,
        current,
        queue,
        frozenset(p.unavailable),
        voucher_rates(p, {j.tenant for j in queue}),
    )
    # 3. Decide.
    result = p.policy.decide(snapshot)
    # 4. Apply: each placement is its own guarded write; a stale one waits for the next cycle.
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
            job, S.PLACED, now, reason, placement=pl, decision=choice.decision
        )
        if p.jobs.save(job, after, [event]) is Outcome.APPLIED:
            placed += 1
    for wait in result.waiting:
        job = by_id[wait.job_id]
        if job.decision != wait.decision:  # store the newest explanation, not a history of it
            after = dataclasses.replace(job, decision=wait.decision)
            p.jobs.save(job, after, [])
    return CycleReport(admitted, placed, len(result.waiting))

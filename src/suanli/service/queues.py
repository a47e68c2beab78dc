"""The fair queue as tenants see it: usage against quota per model, borrowing, who waits why.

What ``suanli queue`` and ``GET /api/v1/queue/tenants`` show. A tenant sees its own row
and its own waiting jobs; the operator sees every tenant.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from suanli.domain.access import Principal
from suanli.domain.jobs import Job, JobStatus, Reason
from suanli.domain.spec import MILLI
from suanli.domain.tenants import ANY, TenantTerms
from suanli.scheduler.fairqueue import attained, show_count, speeds, units
from suanli.service.deps import Platform

S = JobStatus
WAITING = (S.PENDING, S.QUEUED)


@dataclass(frozen=True)
class QuotaUse:
    """One quota line of a tenant: a model (or ``*``), what it holds and what it is owed."""

    model: str
    used: float  # accelerators held now (a share counts as its fraction)
    quota: int | None  # nominal quota; None: no quota (bound by the fleet alone)
    borrowed: float  # of ``used``, held on quota borrowed in the cohort


@dataclass(frozen=True)
class WaitingJob:
    job_id: str
    name: str
    status: str
    accelerators: float
    priority: int
    since: dt.datetime  # when it last entered the queue
    attained_hours: float  # service so far, reference-card accelerator-hours
    reason: Reason  # why it waits (the scheduler's last word)


@dataclass(frozen=True)
class TenantQueue:
    tenant: str
    weight: float
    cohort: str | None
    borrow: bool
    running: int  # jobs holding accelerators
    stopping: int  # of those, asked to stop for a preemption
    share: float  # weighted normalised compute in use: accelerators × speed / weight
    usage: list[QuotaUse]
    waiting: list[WaitingJob]


def tenant_queues(p: Platform, caller: Principal | None = None) -> list[TenantQueue]:
    """Every tenant's standing (``caller``'s own only, unless the operator or None)."""
    own = None if caller is None or caller.is_operator else (caller.tenant or "")
    now = p.clock.now()
    speed = speeds(p.fleet)
    holding: dict[str, list[Job]] = defaultdict(list)
    waiting: dict[str, list[Job]] = defaultdict(list)
    for job in p.jobs.active():
        if own is not None and job.tenant != own:
            continue
        if job.status in WAITING:
            waiting[job.tenant].append(job)
        elif job.status.holds_capacity:
            holding[job.tenant].append(job)
    names = set(holding) | set(waiting)
    names |= {t for t in p.tenant_terms if own is None or t == own}
    out = []
    for name in sorted(names):
        terms = p.tenant_terms.get(name, TenantTerms(name))
        jobs = holding.get(name, [])
        out.append(
            TenantQueue(
                tenant=name,
                weight=terms.weight,
                cohort=terms.cohort,
                borrow=terms.borrow,
                running=len(jobs),
                stopping=sum(1 for j in jobs if j.preempt_at is not None),
                share=round(_compute(jobs, speed) / max(terms.weight, 1e-9), 3),
                usage=_usage(terms, jobs),
                waiting=[_waiting(j, now, speed) for j in waiting.get(name, [])],
            )
        )
    return out


def _compute(jobs: list[Job], speed: dict[str, float]) -> float:
    total = 0.0
    for j in jobs:
        model = j.placement.accelerator if j.placement else None
        if model is not None:
            total += units(j) / MILLI * speed.get(model, 1.0)
    return total


def _usage(terms: TenantTerms, jobs: list[Job]) -> list[QuotaUse]:
    used: dict[str, float] = defaultdict(float)
    borrowed: dict[str, float] = defaultdict(float)
    for j in jobs:
        model = j.placement.accelerator if j.placement else None
        if model is None:
            continue
        key = model if model in terms.quota or not terms.quota else ANY
        used[key] += units(j) / MILLI
        if j.borrowed:
            borrowed[key] += units(j) / MILLI
    keys = sorted(set(terms.quota) | set(used))
    return [
        QuotaUse(
            k,
            show_count(used.get(k, 0.0)),
            terms.quota.get(k) if terms.quota else None,
            show_count(borrowed.get(k, 0.0)),
        )
        for k in keys
    ]


def _waiting(job: Job, now: dt.datetime, speed: dict[str, float]) -> WaitingJob:
    reason = job.decision.summary if job.decision is not None else Reason("reason_submitted")
    return WaitingJob(
        job_id=job.id,
        name=job.spec.name,
        status=job.status.value,
        accelerators=show_count(units(job) / MILLI),
        priority=job.spec.priority,
        since=job.queued_at or job.submitted_at,
        attained_hours=round(attained(job, now, speed) / 3600, 3),
        reason=reason,
    )

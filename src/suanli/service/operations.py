"""Read models for operations: the queue and why jobs wait, utilisation over time, settlements.

These are what the console's operator and provider pages show; every figure comes from the
store and the fleet, never from the console.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from suanli.billing.metering import UsageRecord
from suanli.domain.access import Principal
from suanli.domain.errors import FieldError, InvalidInput, NotFound
from suanli.domain.jobs import Job, JobStatus, Reason
from suanli.service.bills import billing_of, check_month
from suanli.service.deps import Platform
from suanli.service.jobs import visible_job
from suanli.store.base import Settlement

S = JobStatus
WAITING = (S.PENDING, S.QUEUED, S.RECOVERING)
MAX_POINTS = 500
CENT = Decimal("0.01")


@dataclass(frozen=True)
class WaitingReason:
    code: str
    jobs: int
    example: Reason  # the reason of the longest-waiting job with this code, to render


@dataclass(frozen=True)
class QueueSummary:
    depth: dict[str, int]  # active jobs by status
    waiting: int
    reasons: list[WaitingReason]  # most common first
    oldest_waiting_since: dt.datetime | None


def queue_summary(p: Platform) -> QueueSummary:
    """Active jobs by status, and why the waiting ones wait (the scheduler's last word).

    Counted by the database: waiting jobs grouped by their last decision, one decision of
    each group read back, so the cost follows the kinds of waiting, not the queue's length.
    """
    depth = p.jobs.status_counts([s for s in S if not s.is_terminal])
    counts: Counter[str] = Counter()
    examples: dict[str, tuple[dt.datetime, Reason]] = {}
    oldest: dt.datetime | None = None
    for group in p.jobs.waiting_groups(WAITING):
        reason = group.decision.summary if group.decision else Reason("reason_submitted")
        counts[reason.code] += group.jobs
        if reason.code not in examples or group.oldest < examples[reason.code][0]:
            examples[reason.code] = (group.oldest, reason)  # the longest-waiting one's
        oldest = group.oldest if oldest is None else min(oldest, group.oldest)
    return QueueSummary(
        depth={s.value: n for s, n in depth.items()},
        waiting=sum(counts.values()),
        reasons=[WaitingReason(c, n, examples[c][1]) for c, n in counts.most_common()],
        oldest_waiting_since=oldest,
    )


@dataclass(frozen=True)
class UtilisationPoint:
    at: dt.datetime  # start of the interval
    busy_accelerators: float  # average accelerators in use over the interval
    utilisation: float  # busy / capacity, 0..1
    peak_accelerators: int = 0  # the most accelerators in use at once within the interval


@dataclass(frozen=True)
class Utilisation:
    provider: str | None
    capacity: int  # accelerators in the provider's (or the whole fleet's) accelerator pools
    start: dt.datetime
    step_s: int
    points: list[UtilisationPoint]


def utilisation(
    p: Platform, provider: str | None = None, hours: int = 24, points: int = 48
) -> Utilisation:
    """Accelerators in use over the last ``hours``, from meter readings and running jobs."""
    if provider is not None and provider not in {x.name for x in p.fleet.providers}:
        known = ", ".join(x.name for x in p.fleet.providers)
        raise InvalidInput(
            "invalid_request", errors=[FieldError("provider", "not_allowed", provider, known)]
        )
    pools = {
        (c.name, q.name): q.accelerators
        for c, q in p.fleet.pools()
        if q.accelerator is not None and (provider is None or c.provider == provider)
    }
    end = p.clock.now()
    step_s = max(1, hours * 3600 // points)
    start = end - dt.timedelta(seconds=step_s * points)
    busy = [0.0] * points
    runs = _runs(p, provider, start, end, pools)
    peaks = peak_use(runs, start, step_s, points)
    for begun, ended, count in runs:
        # Seconds from the window's start; only the intervals the run overlaps are visited.
        a = max(0.0, (begun - start).total_seconds())
        b = min(float(step_s * points), (ended - start).total_seconds())
        i = int(a // step_s)
        while i < points and i * step_s < b:
            overlap = min(b, (i + 1) * step_s) - max(a, i * step_s)
            if overlap > 0:
                busy[i] += count * overlap / step_s
            i += 1
    capacity = sum(pools.values())
    return Utilisation(
        provider,
        capacity,
        start,
        step_s,
        [
            UtilisationPoint(
                start + dt.timedelta(seconds=i * step_s),
                round(b, 6),
                round(b / capacity, 6) if capacity else 0.0,
                peaks[i],
            )
            for i, b in enumerate(busy)
        ],
    )


def peak_use(
    runs: list[tuple[dt.datetime, dt.datetime, int]], start: dt.datetime, step_s: int, points: int
) -> list[int]:
    """The most accelerators in use at once in each interval: 16 cards busy for five minutes
    of a half-hour interval show as 16, where the interval's average says 2.7."""
    window = float(step_s * points)
    edges: list[tuple[float, int]] = []  # (seconds from start, +count when it begins / -count)
    for begun, ended, count in runs:
        a = max(0.0, (begun - start).total_seconds())
        b = min(window, (ended - start).total_seconds())
        if b > a:
            edges.append((a, count))
            edges.append((b, -count))
    edges.sort()  # at one instant ends come first: a run that starts as another ends adds none
    peaks = [0] * points
    level = 0
    i = 0
    for at, change in edges:
        here = min(points - 1, int(at // step_s))
        while i < here:  # intervals reached: the level held into each (into ``here``
            i += 1  # only when the change comes after its start)
            if i < here or at > i * step_s:
                peaks[i] = max(peaks[i], level)
        level += change
        peaks[here] = max(peaks[here], level)
    for j in range(i + 1, points):
        peaks[j] = max(peaks[j], level)
    return peaks


def _runs(
    p: Platform,
    provider: str | None,
    start: dt.datetime,
    end: dt.datetime,
    pools: dict[tuple[str, str], int],
) -> list[tuple[dt.datetime, dt.datetime, int]]:
    """(start, end, accelerators) of every attempt on ``pools`` that overlaps the window."""
    runs: list[tuple[dt.datetime, dt.datetime, int]] = []
    metered: set[tuple[str, int]] = set()
    usages: list[UsageRecord] = (
        p.billing.store.usage_between(start, end, provider) if p.billing is not None else []
    )
    for u in usages:
        metered.add((u.job_id, u.attempt))
        if (u.cluster, u.pool) in pools:
            runs.append((u.started_at, u.ended_at, u.accelerators))
    for job in p.jobs.holding():
        pl = job.placement
        if pl is None or job.started_at is None or (pl.cluster, pl.pool) not in pools:
            continue
        if job.status in (S.STARTING, S.RUNNING) and (job.id, job.attempt) not in metered:
            runs.append((job.started_at, end, sum(len(n.slots) for n in pl.nodes)))
    return runs


@dataclass(frozen=True)
class SettlementPage:
    settlements: list[Settlement]
    total: int


def provider_settlements(
    p: Platform, provider: str, month: str | None, limit: int, offset: int
) -> SettlementPage:
    """One page of the settled attempts that ran on ``provider``'s capacity in ``month``."""
    if provider not in {x.name for x in p.fleet.providers}:
        raise NotFound("provider_not_found", provider=provider)
    chosen = check_month(month, p)
    found, total = billing_of(p).store.settlement_page(
        provider=provider, month=chosen, limit=limit, offset=offset
    )
    return SettlementPage(found, total)


def job_settlements(p: Platform, job_id: str) -> list[Settlement]:
    """Every settled attempt of one job (a job has few attempts)."""
    if p.billing is None:
        return []
    found, _ = p.billing.store.settlement_page(job_id=job_id, limit=1000)
    return found


@dataclass(frozen=True)
class JobCost:
    job_id: str
    settlements: list[Settlement]  # settled attempts the caller may see
    private: bool  # the caller is a provider: the tenant's voucher reasons are not shown
    running_gross: Decimal | None  # the attempt running now, so far, before vouchers
    running_hours: float | None


def job_cost(p: Platform, caller: Principal, job_id: str) -> JobCost:
    """What a job cost: its tenant and the operator see every settled attempt; a provider the
    attempts on its own capacity, gross and net, without the tenant's voucher reasons (the
    same figures as its settlements page). A running attempt shows its cost so far."""
    job = visible_job(p, caller, job_id)
    return _cost_of(p, caller, job, job_settlements(p, job_id))


def job_costs(p: Platform, caller: Principal, job_ids: list[str]) -> list[JobCost]:
    """``job_cost`` of each job the caller may see, in the order asked (others left out);
    the settlements of all of them read in one query."""
    jobs = []
    for job_id in dict.fromkeys(job_ids):
        try:
            jobs.append(visible_job(p, caller, job_id))
        except NotFound:
            continue
    by_job: dict[str, list[Settlement]] = {j.id: [] for j in jobs}
    if p.billing is not None and jobs:
        found, _ = p.billing.store.settlement_page(job_ids=list(by_job), limit=10_000)
        for s in found:
            by_job[s.line.usage.job_id].append(s)
    return [_cost_of(p, caller, j, by_job[j.id]) for j in jobs]


def _cost_of(p: Platform, caller: Principal, job: Job, found: list[Settlement]) -> JobCost:
    private = not caller.sees_tenant(job.tenant)
    if private:
        found = [s for s in found if s.line.usage.provider == caller.provider]
    pl = job.placement
    if job.status is not S.RUNNING or pl is None or job.started_at is None:
        return JobCost(job.id, found, private, None, None)
    if private and not _on_provider(p, pl.cluster, caller.provider or ""):
        return JobCost(job.id, found, private, None, None)
    seconds = max(0.0, (p.clock.now() - job.started_at).total_seconds())
    gross = (pl.price_per_hour * Decimal(seconds) / 3600).quantize(CENT, ROUND_HALF_UP)
    return JobCost(job.id, found, private, gross, round(seconds / 3600, 4))


def _on_provider(p: Platform, cluster: str, provider: str) -> bool:
    found = p.fleet.cluster(cluster)
    return found is not None and found.provider == provider

"""Read models for operations: the queue and why jobs wait, utilisation over time, settlements.

These are what the console's operator and provider pages show; every figure comes from the
store and the fleet, never from the console.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from suanli.billing.metering import UsageRecord
from suanli.domain.errors import FieldError, InvalidInput, NotFound
from suanli.domain.jobs import JobStatus, Reason
from suanli.service.bills import billing_of, check_month
from suanli.service.deps import Platform
from suanli.store.base import Settlement

S = JobStatus
WAITING = (S.PENDING, S.QUEUED, S.RECOVERING)
MAX_POINTS = 500


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
    for begun, ended, count in _runs(p, provider, start, end, pools):
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
            )
            for i, b in enumerate(busy)
        ],
    )


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

"""The figures of a replay through the live cycle, read back from its stores afterwards.

Nothing here watches the replay while it runs: every figure comes from what the server's
own records hold when it is over: the jobs (submitted, finished, preemptions), the usage
the meter recorded for each attempt (start, end, accelerators, pool) and the settlements
billing wrote for them (gross and vouchers, per attempt, as a tenant's bill has them). The
time series (jobs waiting, accelerators busy) and the quota samples are rebuilt from the
attempts by one sweep over their starts and ends.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from suanli.billing.money import ZERO
from suanli.domain.jobs import Job, JobStatus
from suanli.domain.tenants import TenantTerms
from suanli.sim.voucher_whatif import SpendLine

if TYPE_CHECKING:
    from suanli.billing.metering import UsageRecord
    from suanli.service.deps import Platform

SAMPLE_S = 600.0  # time-series and quota-sample resolution (simulated seconds; chosen)
FAR = dt.timedelta(days=365 * 100)


@dataclass(frozen=True)
class LiveReport:
    """One live replay's figures; ``to_dict`` is the ``--json`` output (``full``: with the
    time series). Money is the live billing's: the settlements' gross and vouchers."""

    jobs: int
    finished: int
    rejected: int
    avg_jct_s: float
    p50_jct_s: float
    avg_wait_s: float  # JCT minus the last attempt's run (lost attempts count as waiting)
    makespan_s: float
    ticks: int
    preemptions: int
    billed_yuan: str
    policy: str = "default"
    p99_jct_s: float = 0.0
    avg_queue_s: float = 0.0  # submission to first start
    utilization: float = 0.0  # accelerator-seconds held / (fleet's accelerators x makespan)
    cost_yuan: Decimal = ZERO  # gross of every settled attempt
    voucher_yuan: Decimal = ZERO  # what vouchers paid of it
    domestic_share: float = 0.0  # of the accelerator-seconds held
    worst_tenant: str | None = None  # by average queueing
    worst_tenant_avg_queue_s: float = 0.0
    # Of the time a tenant wanted at least its quota (held + waiting), the share during
    # which it got it (held its quota, or no waiting job of its would fit in the rest),
    # sampled every SAMPLE_S; the worst tenant's share (1.0 when none ever asked).
    quota_met_worst: float = 1.0
    quota_met_worst_tenant: str | None = None
    per_tenant: dict[str, dict[str, float]] = field(default_factory=dict)
    series: dict[str, list[float]] = field(default_factory=dict)
    jcts: list[float] = field(default_factory=list)
    spend: list[SpendLine] = field(default_factory=list)  # gross by tenant, month, domestic

    def to_dict(self, full: bool = False) -> dict[str, Any]:
        skip = ("series", "jcts", "spend")
        out = {k: v for k, v in self.__dict__.items() if k not in skip}
        out["cost_yuan"] = f"{self.cost_yuan:.2f}"
        out["voucher_yuan"] = f"{self.voucher_yuan:.2f}"
        if full:
            out["series"] = self.series
        return out


def live_report(
    p: Platform,
    epoch: dt.datetime,
    submitted: Mapping[str, float],
    rejected: int,
    ticks: int,
) -> LiveReport:
    """The report of a finished replay over ``p``'s stores; ``submitted``: each job's
    submit time in seconds after ``epoch``."""
    jobs = p.jobs.list(None, limit=len(submitted) + 1)
    done = [
        j
        for j in jobs
        if j.status is JobStatus.SUCCEEDED and j.finished_at and j.started_at and j.id in submitted
    ]
    usage = p.billing.store.usage_between(epoch, epoch + FAR) if p.billing else []
    first: dict[str, float] = {}
    for u in usage:
        at = (u.started_at - epoch).total_seconds()
        first[u.job_id] = min(first.get(u.job_id, at), at)
    jct, queue, wait, tenant_queue = [], [], [], defaultdict(list)
    makespan = 0.0
    for job in done:
        if job.finished_at is None or job.started_at is None:
            continue  # not in ``done``: for the type checker
        finish = (job.finished_at - epoch).total_seconds()
        t = finish - submitted[job.id]
        jct.append(t)
        wait.append(t - (job.finished_at - job.started_at).total_seconds())
        q = first.get(job.id, (job.started_at - epoch).total_seconds()) - submitted[job.id]
        queue.append(q)
        tenant_queue[job.tenant].append(q)
        makespan = max(makespan, finish)
    per_tenant = {
        t: {"jobs": float(len(v)), "avg_queue_s": _r(statistics.fmean(v))}
        for t, v in sorted(tenant_queue.items())
    }
    worst = max(per_tenant, key=lambda t: per_tenant[t]["avg_queue_s"], default=None)
    capacity = sum(pool.accelerators for _, pool in p.fleet.pools())
    sweep = _Sweep(jobs, usage, epoch, submitted, p.tenant_terms)
    series = sweep.run(makespan, capacity)
    for tenant, (asked, met) in sweep.quota_asked.items():
        row = per_tenant.setdefault(tenant, {"jobs": 0.0, "avg_queue_s": 0.0})
        row["quota_asked_s"] = asked * SAMPLE_S
        row["quota_met"] = round(met / asked, 4)
    least = min(
        (t for t in per_tenant if "quota_met" in per_tenant[t]),
        key=lambda t: per_tenant[t]["quota_met"],
        default=None,
    )
    held = sum(u.accelerator_seconds for u in usage)
    domestic = sum(u.accelerator_seconds for u in usage if u.domestic)
    settled = p.billing.store.settlements() if p.billing else []
    gross = sum((s.deduction.gross for s in settled), ZERO)
    lines: dict[tuple[str, tuple[int, int], bool], Decimal] = defaultdict(lambda: ZERO)
    for s in settled:
        on = s.line.on
        lines[(s.line.tenant, (on.year, on.month), s.line.domestic)] += s.deduction.gross
    return LiveReport(
        jobs=len(submitted) + rejected,
        finished=len(jct),
        rejected=rejected,
        avg_jct_s=_r(statistics.fmean(jct)) if jct else 0.0,
        p50_jct_s=_r(statistics.median(jct)) if jct else 0.0,
        avg_wait_s=_r(statistics.fmean(wait)) if wait else 0.0,
        makespan_s=_r(makespan),
        ticks=ticks,
        preemptions=sum(j.preemptions for j in done),
        billed_yuan=str(gross),
        policy=p.queue_settings.policy,
        p99_jct_s=_r(_percentile(jct, 0.99)),
        avg_queue_s=_r(statistics.fmean(queue)) if queue else 0.0,
        utilization=round(held / (capacity * makespan), 4) if capacity and makespan else 0.0,
        cost_yuan=gross,
        voucher_yuan=sum((s.deduction.amount for s in settled), ZERO),
        domestic_share=round(domestic / held, 4) if held else 0.0,
        worst_tenant=worst,
        worst_tenant_avg_queue_s=per_tenant[worst]["avg_queue_s"] if worst else 0.0,
        quota_met_worst=per_tenant[least]["quota_met"] if least else 1.0,
        quota_met_worst_tenant=least,
        per_tenant=per_tenant,
        series=series,
        jcts=jct,
        spend=[SpendLine(t, m, d, g) for (t, m, d), g in sorted(lines.items()) if g > 0],
    )


class _Sweep:
    """Jobs waiting and accelerators held over time, rebuilt from the attempts' usage: a
    job waits from its submission to its first start and between attempts, and after its
    last attempt unless it finished."""

    def __init__(
        self,
        jobs: Sequence[Job],
        usage: Sequence[UsageRecord],
        epoch: dt.datetime,
        submitted: Mapping[str, float],
        terms: Mapping[str, TenantTerms],
    ) -> None:
        self.quota = {t: sum(x.quota.values()) for t, x in terms.items() if x.quota}
        self.quota_asked: dict[str, list[int]] = {}
        attempts: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for u in usage:
            attempts[u.job_id].append(
                ((u.started_at - epoch).total_seconds(), (u.ended_at - epoch).total_seconds())
            )
        # (time, order, waiting delta, held delta, tenant, accelerators): at one instant
        # ends (order 0) before submissions and starts (1).
        self.events: list[tuple[float, int, int, int, str, int]] = []
        for job in jobs:
            if job.id not in submitted:
                continue
            n, tenant = job.spec.total_accelerators, job.tenant
            self.events.append((submitted[job.id], 1, 1, 0, tenant, n))
            runs = sorted(attempts.get(job.id, ()))
            for k, (start, end) in enumerate(runs):
                self.events.append((start, 1, -1, n, tenant, n))
                last = k == len(runs) - 1 and job.status is JobStatus.SUCCEEDED
                self.events.append((end, 0, 0 if last else 1, -n, tenant, n))
        self.events.sort()

    def run(self, makespan: float, capacity: int) -> dict[str, list[float]]:
        series: dict[str, list[float]] = {"t": [], "queued": [], "utilization": []}
        waiting_jobs = busy = 0
        held: Counter[str] = Counter()
        waiting: Counter[str] = Counter()  # accelerators asked by waiting jobs, per tenant
        sizes: dict[str, Counter[int]] = defaultdict(Counter)
        i, events = 0, self.events
        t = 0.0
        while t <= makespan and capacity:
            while i < len(events) and events[i][0] <= t:
                _, _, dw, dh, tenant, n = events[i]
                i += 1
                waiting_jobs += dw
                waiting[tenant] += dw * n
                if dw:
                    sizes[tenant][n] += dw
                busy += dh
                held[tenant] += dh
            series["t"].append(t)
            series["queued"].append(float(waiting_jobs))
            series["utilization"].append(busy / capacity)
            self._sample_quota(held, waiting, sizes)
            t += SAMPLE_S
        return series

    def _sample_quota(
        self, held: Counter[str], waiting: Counter[str], sizes: Mapping[str, Counter[int]]
    ) -> None:
        for tenant, quota in self.quota.items():
            if held[tenant] + waiting[tenant] < quota:
                continue  # it did not ask for its quota
            asked = self.quota_asked.setdefault(tenant, [0, 0])
            asked[0] += 1
            smallest = min((n for n, c in sizes[tenant].items() if c > 0), default=0)
            if held[tenant] >= quota or (smallest and held[tenant] + smallest > quota):
                asked[1] += 1


def _percentile(xs: Sequence[float], q: float) -> float:
    """The ``q`` quantile with linear interpolation (numpy's default), 0.0 when empty."""
    if not xs:
        return 0.0
    s = sorted(xs)
    pos = q * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def _r(x: float) -> float:
    return round(float(x), 1)

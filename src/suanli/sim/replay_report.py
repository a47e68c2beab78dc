"""The old replay's report (``sim.replay.Replay``): figures per run, per tenant, money."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from suanli.billing.policy import VoucherKind
from suanli.billing.pricing import gross_for
from suanli.billing.vouchers import Charge, VoucherUsage
from suanli.billing.vouchers import decide as voucher_decide

if TYPE_CHECKING:
    from suanli.sim.replay import Replay
    from suanli.sim.replay_queue import _Job

SAMPLE_S = 600.0  # time-series resolution (simulated seconds)


@dataclass
class ReplayReport:
    """One replay's figures; ``to_dict`` is the ``--json`` output."""

    policy: str
    jobs: int
    finished: int
    rejected: int
    dropped: int
    avg_jct_s: float
    p50_jct_s: float
    p99_jct_s: float
    avg_queue_s: float
    avg_wait_s: float
    makespan_s: float
    utilization: float
    cost_yuan: Decimal
    voucher_yuan: Decimal
    domestic_share: float
    preemptions: int
    moves: int
    worst_tenant: str | None
    worst_tenant_avg_queue_s: float
    # Of the time a tenant wanted at least its quota (held + waiting), the share during
    # which it got it (held its quota, or no waiting job of its would fit in the rest),
    # sampled every SAMPLE_S; the worst tenant's share (1.0 when none ever asked).
    quota_met_worst: float
    quota_met_worst_tenant: str | None
    decisions: int
    seconds: float
    per_tenant: dict[str, dict[str, float]] = field(default_factory=dict)
    series: dict[str, list[float]] = field(default_factory=dict)
    jcts: list[float] = field(default_factory=list)

    def to_dict(self, full: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            k: v for k, v in self.__dict__.items() if k not in ("series", "jcts", "per_tenant")
        }
        out["cost_yuan"] = f"{self.cost_yuan:.2f}"
        out["voucher_yuan"] = f"{self.voucher_yuan:.2f}"
        out["per_tenant"] = self.per_tenant
        if full:
            out["series"] = self.series
        return out


def replay_report(
    self: Replay, arrivals: list[_Job], dropped: int, rejected: int, started_wall: float
) -> ReplayReport:
    """The report of a finished replay ``self`` (its jobs, counters and money)."""
    done = [j for j in arrivals if j.end is not None]
    jct = np.array([(j.end or 0.0) - j.trace.submit for j in done], dtype=np.float64)
    queue = np.array([(j.first_start or 0.0) - j.trace.submit for j in done], dtype=np.float64)
    wait = np.array([(j.end or 0.0) - j.trace.submit - j.ran for j in done], dtype=np.float64)
    end = max((j.end or 0.0 for j in done), default=self.t0)
    makespan = end - self.t0 if done else 0.0
    per_tenant: dict[str, list[float]] = defaultdict(list)
    for j, q in zip(done, queue, strict=True):
        per_tenant[j.trace.tenant].append(float(q))
    tenants = {
        t: {"jobs": float(len(v)), "avg_queue_s": float(np.mean(v))}
        for t, v in sorted(per_tenant.items())
    }
    worst = max(tenants, key=lambda t: tenants[t]["avg_queue_s"], default=None)
    for tenant, (asked, met) in self.quota_asked.items():
        row = tenants.setdefault(tenant, {"jobs": 0.0, "avg_queue_s": 0.0})
        row["quota_asked_s"] = asked * SAMPLE_S
        row["quota_met"] = round(met / asked, 4)
    least = min(
        (t for t in tenants if "quota_met" in tenants[t]),
        key=lambda t: tenants[t]["quota_met"],
        default=None,
    )
    cost, voucher, domestic_share = replay_money(self)
    return ReplayReport(
        policy=self.policy.name,
        jobs=len(arrivals),
        finished=len(done),
        rejected=rejected,
        dropped=dropped,
        avg_jct_s=_r(jct.mean()) if len(jct) else 0.0,
        p50_jct_s=_r(np.percentile(jct, 50)) if len(jct) else 0.0,
        p99_jct_s=_r(np.percentile(jct, 99)) if len(jct) else 0.0,
        avg_queue_s=_r(queue.mean()) if len(queue) else 0.0,
        avg_wait_s=_r(wait.mean()) if len(wait) else 0.0,
        makespan_s=_r(makespan),
        utilization=round(self.busy_integral / (self.capacity * makespan), 4)
        if makespan and self.capacity
        else 0.0,
        cost_yuan=cost,
        voucher_yuan=voucher,
        domestic_share=domestic_share,
        preemptions=self.preemptions,
        moves=self.moves,
        worst_tenant=worst,
        worst_tenant_avg_queue_s=_r(tenants[worst]["avg_queue_s"]) if worst else 0.0,
        quota_met_worst=tenants[least]["quota_met"] if least else 1.0,
        quota_met_worst_tenant=least,
        decisions=self.decisions,
        seconds=round((self.clock.monotonic() - started_wall) if self.clock else 0.0, 3),
        per_tenant=tenants,
        series=self.series,
        jcts=[float(x) for x in jct],
    )


def replay_money(self: Replay) -> tuple[Decimal, Decimal, float]:
    """Gross through the pricing core; vouchers per tenant and month through the
    voucher core (the most favourable programme, caps and pools carried along)."""
    lines: dict[tuple[str, bool, tuple[int, int]], Decimal] = defaultdict(Decimal)
    total = domestic = 0.0
    for (tenant, pool, period), seconds in sorted(self.usage.items()):
        gross = gross_for(round(seconds), self.price[pool])
        lines[(tenant, self.domestic[pool], period)] += gross
        total += seconds
        domestic += seconds if self.domestic[pool] else 0.0
    usage = VoucherUsage()
    voucher = Decimal(0)
    for (tenant, is_domestic, (year, month)), gross in sorted(lines.items()):
        if not self.setup.vouchers or gross <= 0:
            continue
        charge = Charge(
            f"sim-{tenant}-{year}-{month}-{int(is_domestic)}",
            VoucherKind.COMPUTE,
            tenant,
            gross,
            is_domestic,
            dt.date(year, month, 1),
        )
        deduction = voucher_decide(
            charge,
            self.setup.attributes.get(tenant, {}),
            self.setup.vouchers,
            usage,
            [p.programme for p in self.setup.vouchers],
        )
        usage = usage.plus(deduction)
        voucher += deduction.amount
    cost = sum(lines.values(), Decimal(0))
    return cost, voucher, round(domestic / total, 4) if total else 0.0


def _r(x: float) -> float:
    return round(float(x), 1)

"""Why waiting work is refused in an admission walk (``admission.decide``), and the walk's
memo of it: waiting work of one tenant, size and models refused with nothing admitted
since is refused again for the same reason, so a long queue's walk says one reason per
kind of work between admissions, not one per work."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from suanli.domain.jobs import Reason
from suanli.domain.tenants import TenantTerms
from suanli.scheduler.queueing.model import Plan, PoolView, Work

if TYPE_CHECKING:
    from suanli.scheduler.queueing.admission import _Ledger, _PoolRoom


def allowed(w: Work, p: PoolView, terms: TenantTerms) -> bool:
    if w.models is not None and p.model not in w.models:
        return False
    return terms.pools is None or p.name in terms.pools


class Refusals:
    """Why waiting work was refused in a pass, by its tenant, size and models, with the
    number of works admitted then: until the next admission (the only step of a walk that
    changes rooms and usage), waiting work of the same tenant, size and models is refused
    for the same reason (``_choose`` and ``refusal`` read nothing else of it: the pool a
    found work gets is never kept). Off (``on`` False) with reservations: a promise refuses
    by time, per work. Makes a long queue's walk cost one refusal per kind of work between
    admissions, not one per work (tests/unit/queueing/test_walk_memo.py decides random
    queues with and without it)."""

    def __init__(self, on: bool) -> None:
        self.on = on
        self.kept: dict[
            tuple[str, str, int, frozenset[str] | None], tuple[int, str, Reason | None]
        ]
        self.kept = {}

    def get(self, mode: str, w: Work, admitted: int) -> tuple[str, Reason | None] | None:
        if not self.on:
            return None
        hit = self.kept.get((mode, w.tenant, w.accelerators, w.models))
        return (hit[1], hit[2]) if hit is not None and hit[0] == admitted else None

    def put(self, mode: str, w: Work, admitted: int, why: str, reason: Reason | None) -> None:
        if self.on and w.pool is None:
            self.kept[(mode, w.tenant, w.accelerators, w.models)] = (admitted, why, reason)


def refuse(
    plan: Plan,
    explain: bool,
    w: Work,
    why: str,
    rooms: Mapping[str, _PoolRoom],
    ledger: _Ledger,
    blocked: set[str],
    backfill: bool,
    now: float,
) -> Reason | None:
    """``w`` refused for ``why``: said in ``plan`` (``explain``); returns the reason said."""
    if w.running:
        return None  # becomes a preemption
    reason = refusal(w, why, rooms, ledger, now) if explain else None
    refused_alike(plan, explain, w, why, reason, blocked, backfill)
    return reason


def refused_alike(
    plan: Plan,
    explain: bool,
    w: Work,
    why: str,
    reason: Reason | None,
    blocked: set[str],
    backfill: bool,
) -> None:
    if why == "capacity" and not backfill:
        blocked.add(w.tenant)
    if explain and reason is not None:
        plan.waits[w.id] = reason


def refusal(
    w: Work, why: str, rooms: Mapping[str, _PoolRoom], ledger: _Ledger, now: float
) -> Reason:
    """Why waiting ``w`` is refused for ``why`` given the rooms and usage now."""
    terms = ledger.terms(w.tenant)
    if why == "quota":
        used = sum(v for (t, _), v in ledger.used.items() if t == w.tenant)
        quota = sum(terms.quota.values())
        code = "queue_cohort_full" if terms.borrow and terms.cohort else "queue_quota_full"
        reason = Reason(
            code,
            {
                "tenant": w.tenant,
                "used": used,
                "quota": quota,
                "need": w.accelerators,
                "cohort": terms.cohort or "",
            },
        )
    elif why == "size":
        have = max((r.view.capacity for r in rooms.values()), default=0)
        reason = Reason("queue_too_large", {"need": w.accelerators, "have": have})
    elif why == "nowhere":
        reason = Reason("queue_no_pool", {"tenant": w.tenant})
    elif why == "reserved":
        promises = [r.reservation for r in rooms.values() if r.reservation is not None]
        first = min(promises, key=lambda r: r.at)
        reason = Reason(
            "queue_reserved",
            {"need": w.accelerators, "holder": first.holder, "wait": round(first.at - now)},
        )
    else:
        free = sum(r.room for r in rooms.values() if allowed(w, r.view, terms))
        reason = Reason("queue_no_capacity", {"need": w.accelerators, "free": max(free, 0)})
    return reason

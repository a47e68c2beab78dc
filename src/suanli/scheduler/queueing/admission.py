"""One queueing decision: who runs, who is asked to stop, and why everyone else waits.

Shared by every queue policy, in the live server and in the simulator alike:

1. Work that cannot be taken back is *pinned*: work already stopping, work that is not
   preemptible, and, unless the policy is preemptive, all running work that runs on its own
   quota. Pinned work counts against pools, quotas and cohorts first.
2. In-quota pass: the rest (running and waiting) in the policy's order; each gets a pool
   with room, inside its tenant's nominal quota. Gangs are all or nothing.
3. Borrowing pass: work over its tenant's quota, when the tenant may borrow, takes idle
   quota of its cohort, the tenant with the lowest weighted share of normalised compute
   first (weighted fair share by dominant resource: accelerators × dense TFLOPS).
4. Running work not admitted is asked to stop (reclaim of borrowed quota, or outranked);
   its accelerators come back after the grace period, when the engine confirms.
5. Admitted waiting work is placed on nodes now (consolidated: one node when it fits, else
   whole nodes); if the nodes are not free yet (a preempted job still stopping), it waits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from suanli.domain.jobs import Reason
from suanli.domain.tenants import ANY, TenantTerms
from suanli.scheduler.queueing.model import (
    Plan,
    PoolView,
    Preempt,
    QueueView,
    Start,
    Work,
)
from suanli.scheduler.queueing.policies import QueuePolicy

UNLIMITED = TenantTerms("")
_BIG = 1 << 62


class _Ledger:
    """Accelerators in use per tenant and per cohort, against nominal quotas."""

    def __init__(self, tenants: Mapping[str, TenantTerms]) -> None:
        self.tenants = tenants
        self.used: dict[tuple[str, str], int] = defaultdict(int)
        self.cohort_used: dict[tuple[str, str], int] = defaultdict(int)
        self.cohort_nominal: dict[tuple[str, str], int] = defaultdict(int)
        self.share: dict[str, float] = defaultdict(float)  # normalised compute in use
        for t in tenants.values():
            if t.cohort is not None:
                for key, count in t.quota.items():
                    self.cohort_nominal[(t.cohort, key)] += count

    def terms(self, tenant: str) -> TenantTerms:
        return self.tenants.get(tenant, UNLIMITED)

    @staticmethod
    def quota_key(terms: TenantTerms, model: str) -> str:
        return model if model in terms.quota else ANY

    def check(self, work: Work, model: str) -> str | None:
        """``"in"`` within nominal quota, ``"borrow"`` on the cohort's idle quota, or None."""
        terms = self.terms(work.tenant)
        if not terms.quota:
            return "in"
        key = self.quota_key(terms, model)
        need = work.accelerators
        if self.used[(work.tenant, key)] + need <= terms.quota.get(key, 0):
            return "in"
        if (
            terms.borrow
            and terms.cohort is not None
            and self.cohort_used[(terms.cohort, key)] + need
            <= self.cohort_nominal[(terms.cohort, key)]
        ):
            return "borrow"
        return None

    def add(self, tenant: str, accelerators: int, model: str, speed: float) -> None:
        terms = self.terms(tenant)
        key = self.quota_key(terms, model)
        self.used[(tenant, key)] += accelerators
        if terms.cohort is not None:
            self.cohort_used[(terms.cohort, key)] += accelerators
        self.share[tenant] += accelerators * speed / max(terms.weight, 1e-9)


@dataclass(slots=True)
class _PoolRoom:
    view: PoolView
    room: int  # accelerators not yet promised in this decision


def decide(view: QueueView, policy: QueuePolicy, explain: bool = True) -> Plan:
    """The plan for ``view``; pure: the view and its work are not mutated."""
    now, settings = view.now, policy.settings
    rooms = {p.name: _PoolRoom(p, p.capacity) for p in view.pools}
    ledger = _Ledger(view.tenants)
    plan = Plan()
    for tenant, pool_name, count in view.held:
        held = rooms.get(pool_name)
        if held is not None:
            held.room -= count
            ledger.add(tenant, count, held.view.model, held.view.speed)
    movable: list[Work] = []
    for w in view.running:
        borrowed = _is_borrowed(w, ledger, rooms)
        if _pinned(w, policy, now, borrowed):
            _count(w, rooms, ledger)
        else:
            movable.append(w)
    # Borrowed running work is counted last so that owners' demand comes first (reclaim).
    order = sorted([*movable, *view.waiting], key=lambda w: policy.key(w, now))
    admitted: list[tuple[Work, str, bool]] = []
    over_quota: list[Work] = []
    blocked: set[str] = set()
    # Rooms and usage only shrink during a walk, so once a tenant's job of ``g``
    # accelerators is refused for a reason, its later jobs of ``g`` or more are too.
    refused: dict[tuple[str, str], int] = {}
    left = sum(r.room for r in rooms.values())
    for w in order:
        if left <= 0 and not explain:
            break  # nothing more fits; what is not admitted waits or is preempted
        if not w.running:
            if w.tenant in blocked:
                _wait(plan, explain, w, Reason("queue_behind_head", {"tenant": w.tenant}))
                continue
            if w.accelerators >= refused.get((w.tenant, "quota"), _BIG):
                over_quota.append(w)
                continue
            if w.accelerators >= refused.get((w.tenant, "capacity"), _BIG) and not explain:
                continue
        pool, why = _choose(w, rooms, ledger, policy, "in")
        if pool is not None:
            _admit(w, pool, rooms, ledger, admitted, borrowed=False)
            left -= w.accelerators
            continue
        if not w.running:
            key = (w.tenant, why)
            refused[key] = min(refused.get(key, _BIG), w.accelerators)
        if why == "quota":
            over_quota.append(w)
        else:
            _refuse(plan, explain, w, why, rooms, ledger, blocked, settings.backfill)
    refused.clear()
    for w in _fair_order(over_quota, ledger):
        if left <= 0 and not explain:
            break
        if not w.running and w.accelerators >= refused.get((w.tenant, ""), _BIG):
            if explain:
                _refuse(plan, explain, w, "quota", rooms, ledger, blocked, settings.backfill)
            continue
        pool, why = _choose(w, rooms, ledger, policy, "borrow")
        if pool is not None:
            _admit(w, pool, rooms, ledger, admitted, borrowed=True)
            left -= w.accelerators
        else:
            if not w.running:
                key = (w.tenant, "")
                refused[key] = min(refused.get(key, _BIG), w.accelerators)
            _refuse(plan, explain, w, why, rooms, ledger, blocked, settings.backfill)
    kept = {w.id for w, _, _ in admitted if w.running}
    for w in movable:
        if w.id not in kept:
            reason = (
                Reason("preempt_reclaim", {"tenant": w.tenant})
                if _is_borrowed(w, ledger, rooms)
                else Reason(
                    "preempt_outranked",
                    {"ran": round(now - (w.started if w.started is not None else now))},
                )
            )
            plan.preempts.append(Preempt(w, reason))
    _place(plan, admitted, view, policy, explain)
    return plan


def _pinned(w: Work, policy: QueuePolicy, now: float, borrowed: bool) -> bool:
    if w.stopping or not w.preemptible:
        return True
    if borrowed:
        return False  # reclaimable whatever the policy
    if not policy.preemptive:
        return True
    return now - (w.started if w.started is not None else now) < policy.settings.min_run_s


def _is_borrowed(w: Work, ledger: _Ledger, rooms: Mapping[str, _PoolRoom]) -> bool:
    """Whether running ``w`` runs on borrowed quota (or more than its tenant's quota alone)."""
    terms = ledger.terms(w.tenant)
    if not terms.quota or w.pool is None or w.pool not in rooms:
        return False
    key = ledger.quota_key(terms, rooms[w.pool].view.model)
    return w.borrowed or w.accelerators > terms.quota.get(key, 0)


def _count(w: Work, rooms: Mapping[str, _PoolRoom], ledger: _Ledger) -> None:
    room = rooms.get(w.pool or "")
    if room is None:
        return  # its pool left the fleet
    room.room -= w.accelerators
    ledger.add(w.tenant, w.accelerators, room.view.model, room.view.speed)


def _allowed(w: Work, p: PoolView, terms: TenantTerms) -> bool:
    if w.models is not None and p.model not in w.models:
        return False
    return terms.pools is None or p.name in terms.pools


def _choose(
    w: Work, rooms: Mapping[str, _PoolRoom], ledger: _Ledger, policy: QueuePolicy, mode: str
) -> tuple[str | None, str]:
    """A pool for ``w`` in this pass, or None and why not (quota, capacity, size, nowhere)."""
    if w.running:
        room = rooms.get(w.pool or "")
        if room is None or room.room < w.accelerators:
            return None, "capacity"
        ok = ledger.check(w, room.view.model)
        return (w.pool, "") if ok == mode or (ok == "in" and mode == "borrow") else (None, "quota")
    terms = ledger.terms(w.tenant)
    best: tuple[float, int, int] | None = None
    best_name: str | None = None
    why = "nowhere"
    several = len(rooms) > 1
    for i, room in enumerate(rooms.values()):
        p = room.view
        if not _allowed(w, p, terms):
            continue
        if p.capacity < w.accelerators:
            why = "size" if why == "nowhere" else why
            continue
        ok = ledger.check(w, p.model)
        if ok is None or (mode == "in" and ok == "borrow"):
            why = "quota"
            continue
        if room.room < w.accelerators:
            why = "capacity" if why != "quota" else why
            continue
        fits_now = several and _fit(p.free, p.per_node, w.accelerators) is not None
        rank = (-policy.throughput.rate(w.job_class, p.model), -int(fits_now), i)
        if best is None or rank < best:
            best, best_name = rank, p.name
    return best_name, why


def _admit(
    w: Work,
    pool: str,
    rooms: Mapping[str, _PoolRoom],
    ledger: _Ledger,
    admitted: list[tuple[Work, str, bool]],
    borrowed: bool,
) -> None:
    room = rooms[pool]
    room.room -= w.accelerators
    ledger.add(w.tenant, w.accelerators, room.view.model, room.view.speed)
    admitted.append((w, pool, borrowed))


def _refuse(
    plan: Plan,
    explain: bool,
    w: Work,
    why: str,
    rooms: Mapping[str, _PoolRoom],
    ledger: _Ledger,
    blocked: set[str],
    backfill: bool,
) -> None:
    if w.running:
        return  # becomes a preemption
    if why == "capacity" and not backfill:
        blocked.add(w.tenant)
    if not explain:
        return
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
    else:
        free = sum(r.room for r in rooms.values() if _allowed(w, r.view, terms))
        reason = Reason("queue_no_capacity", {"need": w.accelerators, "free": max(free, 0)})
    plan.waits[w.id] = reason


def _wait(plan: Plan, explain: bool, w: Work, reason: Reason) -> None:
    if explain and not w.running:
        plan.waits[w.id] = reason


def _fair_order(works: Sequence[Work], ledger: _Ledger) -> Iterable[Work]:
    """Round by round, the tenant with the lowest weighted normalised share goes next."""
    if len({w.tenant for w in works}) <= 1:
        yield from works
        return
    by_tenant: dict[str, list[Work]] = defaultdict(list)
    for w in works:
        by_tenant[w.tenant].append(w)
    heads = dict.fromkeys(by_tenant, 0)
    while heads:
        tenant = min(heads, key=lambda t: (ledger.share[t], t))
        i = heads[tenant]
        yield by_tenant[tenant][i]
        if i + 1 < len(by_tenant[tenant]):
            heads[tenant] = i + 1
        else:
            del heads[tenant]


def _place(
    plan: Plan,
    admitted: list[tuple[Work, str, bool]],
    view: QueueView,
    policy: QueuePolicy,
    explain: bool,
) -> None:
    free = {p.name: list(p.free) for p in view.pools}
    per_node = {p.name: p.per_node for p in view.pools}
    # Running work kept by this plan that a gang waiting for whole nodes may displace.
    kept = [w for w, _, _ in admitted if w.running and w.nodes] if policy.reserves_nodes else []
    for w, pool, borrowed in admitted:
        if w.running:
            continue
        nodes = _fit(free[pool], per_node[pool], w.accelerators)
        if nodes is None:
            if kept:
                _reserve(plan, w, pool, free[pool], per_node[pool], kept, policy, view.now)
            if explain:
                plan.waits[w.id] = Reason(
                    "queue_awaiting_nodes", {"pool": pool, "need": w.accelerators}
                )
            continue
        for node, count in nodes:
            free[pool][node] -= count
        plan.starts.append(Start(w, pool, nodes, borrowed))


def _reserve(
    plan: Plan,
    w: Work,
    pool: str,
    free: list[int],
    per_node: int,
    kept: list[Work],
    policy: QueuePolicy,
    now: float,
) -> None:
    """Clear nodes for gang ``w``, admitted but fragmented out: running work ranking after
    it on the fewest nodes that would give it room is asked to stop, and those nodes are
    kept from later starts in this plan, so small jobs do not refill them first."""
    mine = policy.key(w, now)
    lower = [v for v in kept if v.pool == pool and policy.key(v, now) > mine]
    held: dict[int, int] = defaultdict(int)
    on: dict[int, list[Work]] = defaultdict(list)
    for v in lower:
        for node, count in v.nodes:
            held[node] += count
            on[node].append(v)
    nodes = _clearable(free, held, per_node, w.accelerators)
    if nodes is None:
        return
    victims: dict[str, Work] = {}
    for node, count in nodes:
        if free[node] < count:
            for v in on[node]:
                victims[v.id] = v
        free[node] -= count  # reserved: later starts in this plan do not take them
    for v in victims.values():
        kept.remove(v)
        ran = round(now - (v.started if v.started is not None else now))
        plan.preempts.append(Preempt(v, Reason("preempt_outranked", {"ran": ran})))


def _clearable(
    free: list[int], held: Mapping[int, int], per_node: int, need: int
) -> list[tuple[int, int]] | None:
    """Nodes that give ``need`` once the work ``held`` on them stops, fewest stopped first."""
    whole, rest = divmod(need, per_node) if need > per_node else (0, need)
    order = sorted(range(len(free)), key=lambda i: (held.get(i, 0), i))
    chosen = [(i, per_node) for i in order if free[i] + held.get(i, 0) == per_node][:whole]
    if len(chosen) < whole:
        return None
    if rest:
        taken = {i for i, _ in chosen}
        tail = next(
            (i for i in order if i not in taken and free[i] + held.get(i, 0) >= rest), None
        )
        if tail is None:
            return None
        chosen.append((tail, rest))
    return chosen


def _fit(free: list[int], per_node: int, need: int) -> tuple[tuple[int, int], ...] | None:
    """Consolidated gang placement: the fullest node that fits, or whole nodes plus one."""
    if need <= 0:
        return ()
    if need <= per_node:
        best = -1
        for i, f in enumerate(free):
            if f >= need and (best < 0 or f < free[best]):
                best = i
                if f == need:
                    break
        return ((best, need),) if best >= 0 else None
    whole, rest = divmod(need, per_node)
    empty = [i for i, f in enumerate(free) if f == per_node]
    if len(empty) < whole:
        return None
    chosen = [(i, per_node) for i in empty[:whole]]
    if rest:
        taken = set(empty[:whole])
        tail = [i for i, f in enumerate(free) if i not in taken and f >= rest]
        if not tail:
            return None
        last = min(tail, key=lambda i: free[i])
        chosen.append((last, rest))
    return tuple(chosen)

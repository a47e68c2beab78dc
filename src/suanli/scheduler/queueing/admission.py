"""One queueing decision: who runs, who is asked to stop, and why everyone else waits.

Shared by every queue policy, in the live server and in the simulator alike:

1. Work that cannot be taken back is *pinned*: work already stopping, work that is not
   preemptible, and, unless the policy is preemptive and the work resumes (it checkpoints),
   all running work that runs on its own quota. Pinned work counts against pools, quotas and
   cohorts first. Work that would restart from zero is stopped for a better rank only when
   the default's priced restart says the gain pays for the service thrown away
   (``restart.py``; off unless ``restart_price`` is set); an owner reclaiming lent quota
   stops borrowed work whether it resumes or not.
2. In-quota pass: the rest (running and waiting) in the policy's order; each gets a pool
   with room, inside its tenant's nominal quota. Gangs are all or nothing.
3. Borrowing pass: work over its tenant's quota, when the tenant may borrow, takes idle
   quota of its cohort, the tenant with the lowest weighted share of normalised compute
   first (weighted fair share by dominant resource: accelerators × dense TFLOPS).
4. Running work not admitted is asked to stop (reclaim of borrowed quota, or outranked);
   its accelerators come back after the grace period, when the engine confirms.
5. Admitted waiting work is placed on nodes now (consolidated: one node when it fits, else
   whole nodes); if the nodes are not free yet (a preempted job still stopping), it waits.

Which pool (heterogeneity): work takes a pool that can start it now before one it could only
get by pushing lower-ranked running work out (that work would restart on a slower pool),
then the pool whose model runs its class fastest (the policy's throughput table). Drivers
that can move running work (``can_move``) let it go up to a faster pool when one has room
and the gain, on the throughput table's ratio, outweighs the cost of a restart: run times
are not known, so work is started where it can run now and moved up as fast pools free.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from suanli.domain.jobs import Reason
from suanli.domain.tenants import TenantTerms
from suanli.domain.throughput import UNIFORM
from suanli.scheduler.queueing.fairshare import fair_order
from suanli.scheduler.queueing.model import (
    Plan,
    PoolView,
    Preempt,
    QueueView,
    Work,
)
from suanli.scheduler.queueing.placing import fit_nodes, place_admitted, ranker
from suanli.scheduler.queueing.policies import QueuePolicy
from suanli.scheduler.queueing.refusals import Refusals, allowed, refuse, refused_alike
from suanli.scheduler.queueing.reservation import NEVER, Reservation, ends_at, runs_for, shadow
from suanli.scheduler.queueing.restart import RestartPrice, restart_price

UNLIMITED = TenantTerms("")
_BIG = 1 << 62
MOVE_COST_GRACES = 4.0  # what a move costs (stop, restore the checkpoint), in grace periods


class _Ledger:
    """Accelerators in use per tenant and per cohort, against nominal quotas."""

    def __init__(self, tenants: Mapping[str, TenantTerms]) -> None:
        self.tenants = tenants
        self.used: dict[tuple[str, str], int] = defaultdict(int)
        self.cohort_used: dict[tuple[str, str], int] = defaultdict(int)
        self.cohort_nominal: dict[tuple[str, str], int] = defaultdict(int)
        self.share: dict[str, float] = defaultdict(float)  # normalised compute in use
        self.changes = 0  # how many times ``add`` moved usage and shares
        # Each (tenant, model)'s terms and quota entry, looked up once per decision: the
        # walk asks for them about three times per running job (most of a busy turn).
        self._keyed: dict[tuple[str, str], tuple[TenantTerms, str]] = {}
        for t in tenants.values():
            if t.cohort is not None:
                for key, count in t.quota.items():
                    self.cohort_nominal[(t.cohort, key)] += count

    def terms(self, tenant: str) -> TenantTerms:
        return self.tenants.get(tenant, UNLIMITED)

    def keyed(self, tenant: str, model: str) -> tuple[TenantTerms, str]:
        """``tenant``'s terms and the quota entry (``TenantTerms.quota_key``) of ``model``."""
        found = self._keyed.get((tenant, model))
        if found is None:
            terms = self.tenants.get(tenant, UNLIMITED)
            found = self._keyed[(tenant, model)] = (terms, terms.quota_key(model))
        return found

    def check(self, work: Work, model: str) -> str | None:
        """``"in"`` within nominal quota, ``"borrow"`` on the cohort's idle quota, or None."""
        terms, key = self.keyed(work.tenant, model)
        quota = terms.quota
        if not quota:
            return "in"
        need = work.accelerators
        if self.used[(work.tenant, key)] + need <= quota.get(key, 0):
            return "in"
        if (
            terms.borrow
            and terms.cohort is not None
            and self.cohort_used[(terms.cohort, key)] + need
            <= self.cohort_nominal[(terms.cohort, key)]
        ):
            return "borrow"
        return None

    def add_held(self, tenant: str, accelerators: int, model: str, works: int) -> None:
        """``works`` of ``tenant``'s running works holding ``accelerators`` in all on
        ``model``, counted against quota and cohort (their shares are the caller's)."""
        _, key = self.keyed(tenant, model)
        self.used[(tenant, key)] += accelerators
        cohort = self.tenants.get(tenant, UNLIMITED).cohort
        if cohort is not None:
            self.cohort_used[(cohort, key)] += accelerators
        self.changes += works

    def add(self, tenant: str, accelerators: int, model: str, speed: float) -> None:
        terms, key = self.keyed(tenant, model)
        self.used[(tenant, key)] += accelerators
        if terms.cohort is not None:
            self.cohort_used[(terms.cohort, key)] += accelerators
        self.share[tenant] += accelerators * speed / max(terms.weight, 1e-9)
        self.changes += 1


@dataclass(slots=True)
class _PoolRoom:
    view: PoolView
    room: int  # accelerators not yet promised in this decision
    idle: int  # accelerators free now and not yet promised (taking them moves no one)
    # With reservations (``QueueSettings.reserve``): (expected end, accelerators) of the work
    # counted on this pool, and the promise to the first job it refused for room.
    holding: list[tuple[float, int]] | None = None
    reservation: Reservation | None = None


def decide(
    view: QueueView,
    policy: QueuePolicy,
    explain: bool = True,
    can_move: bool = False,
    keep_refusals: bool = True,
) -> Plan:
    """The plan for ``view``; pure: the view and its work are not mutated. ``can_move``:
    the driver can move running work to another pool (``Plan.moves``). ``keep_refusals``:
    the walk's memo of refusals (``refusals.Refusals``; False: every work refused anew, the
    same plan, for the tests and bench that prove it)."""
    if view.history is not None:
        policy = policy.informed(view.history)
    now, settings = view.now, policy.settings
    rooms = {p.name: _PoolRoom(p, p.capacity, p.free_total) for p in view.pools}
    reserving = settings.reserve and settings.backfill
    if reserving:
        for r in rooms.values():
            r.holding = []
    ledger = _Ledger(view.tenants)
    plan = Plan()
    for tenant, pool_name, count in view.held:
        held = rooms.get(pool_name)
        if held is not None:
            held.room -= count
            ledger.add(tenant, count, held.view.model, held.view.speed)
            if held.holding is not None:
                held.holding.append((NEVER, count))  # summarised: its end is not shown
    price = restart_price(policy, view.waiting, view.running)
    movable = _count_pinned(view.running, policy, rooms, ledger, now, price)
    # Borrowed running work is counted last so that owners' demand comes first (reclaim).
    rank = ranker(view, policy)
    order = sorted([*movable, *view.waiting], key=rank)
    admitted: list[tuple[Work, str, bool]] = []
    over_quota: list[Work] = []
    blocked: set[str] = set()
    # Rooms and usage only shrink during a walk, so once a tenant's job of ``g``
    # accelerators is refused for a reason, its later jobs of ``g`` or more are too.
    refused: dict[tuple[str, str], int] = {}
    left = sum(r.room for r in rooms.values())
    seen: set[str] = set()  # walked, or admitted ahead of its turn by a swap
    # Waiting work of one tenant, size and models refused with nothing admitted since is
    # refused again for the same reason (``_Refusals``); not with promises (they refuse by
    # time, per work).
    known = Refusals(keep_refusals and not reserving)
    for w in order:
        if can_move:  # only a swap walks work ahead of its turn
            if w.id in seen:
                continue
            seen.add(w.id)
        if left <= 0 and not explain:
            break  # nothing more fits; what is not admitted waits or is preempted
        if w.pool is None:
            if w.tenant in blocked:
                _wait(plan, explain, w, Reason("queue_behind_head", {"tenant": w.tenant}))
                continue
            if w.accelerators >= refused.get((w.tenant, "quota"), _BIG):
                over_quota.append(w)
                continue
            if w.accelerators >= refused.get((w.tenant, "capacity"), _BIG) and not explain:
                continue
            again = known.get("in", w, len(admitted))
            if again is not None:
                why, reason = again
                if why == "quota":
                    over_quota.append(w)
                else:
                    refused_alike(plan, explain, w, why, reason, blocked, settings.backfill)
                continue
        elif not can_move:  # running work staying where it runs: ``_choose`` and ``_admit``
            here = rooms.get(w.pool)  # inlined (most of a busy walk is running work)
            need = w.accelerators
            if (
                here is not None
                and here.room >= need
                and here.holding is None
                and ledger.check(w, here.view.model) == "in"
            ):
                here.room -= need
                ledger.add(w.tenant, need, here.view.model, here.view.speed)
                admitted.append((w, w.pool, False))
                left -= need
                continue
        pool, why = _choose(w, rooms, ledger, policy, "in", now, can_move)
        if pool is not None:
            m = _partner(w, pool, movable, seen, rooms, ledger, policy, now) if can_move else None
            if m is not None and m.pool is not None:
                # A swap: ``m`` gains more on ``pool`` than ``w`` does; it moves up and
                # ``w`` takes its accelerators when it has stopped (not free ones now).
                there = m.pool
                seen.add(m.id)
                _admit(m, pool, rooms, ledger, admitted, now, borrowed=False)
                _admit(w, there, rooms, ledger, admitted, now, borrowed=False)
                rooms[there].idle += w.accelerators
                left -= w.accelerators + m.accelerators
                continue
            _admit(w, pool, rooms, ledger, admitted, now, borrowed=False)
            left -= w.accelerators
            continue
        # Kept for later jobs only while no pool holds a promise: a promise refuses by time,
        # and a larger job that ends sooner may still be let in.
        if not w.running and not (reserving and _promised(rooms)):
            key = (w.tenant, why)
            refused[key] = min(refused.get(key, _BIG), w.accelerators)
        if reserving and why == "capacity" and not w.running:
            _reserve_room(w, rooms, ledger, "in")
        if why == "quota":
            over_quota.append(w)
            known.put("in", w, len(admitted), why, None)
        else:
            reason = refuse(plan, explain, w, why, rooms, ledger, blocked, settings.backfill, now)
            known.put("in", w, len(admitted), why, reason)
    refused.clear()
    for w in fair_order(over_quota, ledger):
        if left <= 0 and not explain:
            break
        if w.pool is None and w.accelerators >= refused.get((w.tenant, ""), _BIG):
            if explain:
                again = known.get("over", w, len(admitted))
                if again is not None:
                    refused_alike(plan, explain, w, "quota", again[1], blocked, settings.backfill)
                else:
                    reason = refuse(
                        plan, explain, w, "quota", rooms, ledger, blocked, settings.backfill, now
                    )
                    known.put("over", w, len(admitted), "quota", reason)
            continue
        pool, why = _choose(w, rooms, ledger, policy, "borrow", now, can_move)
        if pool is not None:
            _admit(w, pool, rooms, ledger, admitted, now, borrowed=True)
            left -= w.accelerators
        else:
            if not w.running and not (reserving and _promised(rooms)):
                key = (w.tenant, "")
                refused[key] = min(refused.get(key, _BIG), w.accelerators)
            if reserving and why == "capacity" and not w.running:
                _reserve_room(w, rooms, ledger, "borrow")
            refuse(plan, explain, w, why, rooms, ledger, blocked, settings.backfill, now)
    kept = {w.id for w, _, _ in admitted if w.running}
    for w in movable:
        if w.id not in kept:
            reason = (
                Reason("preempt_reclaim", {"tenant": w.tenant})
                if _is_borrowed(w, ledger, rooms)
                else Reason(
                    "preempt_outranked" if w.resumes else "preempt_restart",
                    {"ran": round(now - (w.started if w.started is not None else now))},
                )
            )
            plan.preempts.append(Preempt(w, reason))
    place_admitted(plan, admitted, view, policy, explain)
    return plan


@dataclass(slots=True)
class _Held:
    """What running work of one tenant on one pool looks up once per decision."""

    room: _PoolRoom | None
    limit: int | None  # its quota on the pool's model (None: it never runs borrowed)
    speed: float
    weight: float
    accelerators: int = 0  # pinned work's, counted
    works: int = 0


def _count_pinned(
    running: Iterable[Work],
    policy: QueuePolicy,
    rooms: Mapping[str, _PoolRoom],
    ledger: _Ledger,
    now: float,
    price: RestartPrice | None = None,
) -> list[Work]:
    """Step 1: running work that cannot be taken back (``_pinned``) counted against pools,
    quotas and cohorts; returns the rest, in order. Each (tenant, pool)'s terms are looked
    up once and its counts (integers) added once; each work's share (a float: its sum
    depends on the order) is added in order, as ``_Ledger.add`` adds it, so the ledger ends
    bit for bit as when each work is counted alone with ``add``
    (tests/unit/queueing/test_pinned_count.py)."""
    movable: list[Work] = []
    grace = policy.settings.grace_s
    share = ledger.share
    groups: dict[tuple[str, str | None], _Held] = {}
    for w in running:
        g = groups.get((w.tenant, w.pool))
        if g is None:
            room = rooms.get(w.pool or "")
            terms = ledger.terms(w.tenant)
            limit = None
            if room is not None and terms.quota:
                limit = terms.quota.get(ledger.keyed(w.tenant, room.view.model)[1], 0)
            speed = room.view.speed if room is not None else 1.0
            g = groups[(w.tenant, w.pool)] = _Held(room, limit, speed, max(terms.weight, 1e-9))
        # ``_is_borrowed``, asked only where ``_pinned`` needs it.
        if (
            w.stopping
            or not w.preemptible
            or _pinned(
                w,
                policy,
                now,
                g.limit is not None and (w.borrowed or w.accelerators > g.limit),
                price,
            )
        ):
            if g.room is None:
                continue  # its pool left the fleet
            g.accelerators += w.accelerators
            g.works += 1
            share[w.tenant] += w.accelerators * g.speed / g.weight
            if g.room.holding is not None:
                g.room.holding.append((ends_at(w, now, grace), w.accelerators))
        else:
            movable.append(w)
    for (tenant, _), g in groups.items():
        if g.works and g.room is not None:
            g.room.room -= g.accelerators
            ledger.add_held(tenant, g.accelerators, g.room.view.model, g.works)
    return movable


def _pinned(
    w: Work, policy: QueuePolicy, now: float, borrowed: bool, price: RestartPrice | None = None
) -> bool:
    if w.stopping or not w.preemptible:
        return True
    if borrowed:
        return False  # reclaimable whatever the policy, resuming or not
    if not policy.preemptive:
        return True
    if now - (w.started if w.started is not None else now) < policy.settings.min_run_s:
        return True
    # A restart from zero throws its service away: only for a gain that pays for it.
    return not w.resumes and (price is None or not price.pays(w, now))


def _is_borrowed(w: Work, ledger: _Ledger, rooms: Mapping[str, _PoolRoom]) -> bool:
    """Whether running ``w`` runs on borrowed quota (or more than its tenant's quota alone)."""
    terms = ledger.terms(w.tenant)
    if not terms.quota or w.pool is None:
        return False
    room = rooms.get(w.pool)
    if room is None:
        return False
    _, key = ledger.keyed(w.tenant, room.view.model)
    return w.borrowed or w.accelerators > terms.quota.get(key, 0)


def _choose(
    w: Work,
    rooms: Mapping[str, _PoolRoom],
    ledger: _Ledger,
    policy: QueuePolicy,
    mode: str,
    now: float = 0.0,
    can_move: bool = False,
) -> tuple[str | None, str]:
    """A pool for ``w`` in this pass, or None and why not (quota, capacity, size, nowhere)."""
    if w.pool is not None:  # running
        if can_move and len(rooms) > 1:
            faster = _faster(w, rooms, ledger, policy, mode, now)
            if faster is not None:
                return faster, ""
        room = rooms.get(w.pool or "")
        if room is None or room.room < w.accelerators:
            return None, "capacity"
        ok = ledger.check(w, room.view.model)
        return (w.pool, "") if ok == mode or (ok == "in" and mode == "borrow") else (None, "quota")
    terms = ledger.terms(w.tenant)
    best: tuple[int, float, int] | None = None
    best_name: str | None = None
    why = "nowhere"
    several = len(rooms) > 1
    # A policy blind to the models (the UNIFORM table) picks among models as if at random.
    blind = (
        several
        and policy.throughput is UNIFORM
        and len({r.view.model for r in rooms.values()}) > 1
    )
    for i, room in enumerate(rooms.values()):
        p = room.view
        if not allowed(w, p, terms):
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
        if room.reservation is not None and not room.reservation.admits(w, now, p.speed):
            why = "reserved" if why not in ("quota", "capacity") else why
            continue
        rank = _rank(w, room, i, policy, blind) if several else (0, 0.0, i)
        if best is None or rank < best:
            best, best_name = rank, p.name
    return best_name, why


def _rank(
    w: Work, room: _PoolRoom, i: int, policy: QueuePolicy, blind: bool
) -> tuple[int, float, int]:
    """Lower is better: a pool that starts ``w`` now (a pool it could only get by pushing
    lower-ranked running work out is a last resort: that work would restart elsewhere,
    slower, and its grace period and restart are lost), then the fastest for its class.
    Among equals a policy blind to the models (``blind``: the UNIFORM table, pools of
    several models) picks as if at random, as Gavel's heterogeneity-agnostic baseline does,
    so that no pool order favours a model; otherwise the first pool."""
    p = room.view
    now = room.idle >= w.accelerators and fit_nodes(p.free, p.per_node, w.accelerators) is not None
    tie = zlib.crc32(f"{w.id}/{p.name}".encode()) if blind else i
    return (-int(now), -policy.throughput.rate(w.job_class, p.model), tie)


def _faster(
    w: Work,
    rooms: Mapping[str, _PoolRoom],
    ledger: _Ledger,
    policy: QueuePolicy,
    mode: str,
    now: float,
) -> str | None:
    """A pool, other than its own, where running ``w`` would gain more than a move costs.

    No run time is known, so the gain is judged on what has been seen: run times are heavy
    tailed, so work that has run ``age`` seconds is expected to run about as long again, and
    a move gains ``age x (1 - here / there)`` of it (the throughput table's ratio). Only
    free accelerators are taken: a move never pushes other work out."""
    here = rooms.get(w.pool or "")
    if here is None:
        return None
    rate = policy.throughput.rate
    current = rate(w.job_class, here.view.model)
    age = now - (w.started if w.started is not None else now)
    cost = MOVE_COST_GRACES * policy.settings.grace_s
    terms = ledger.terms(w.tenant)
    best: str | None = None
    best_rate = current * policy.settings.move_gain
    for room in rooms.values():
        p = room.view
        if room is here or room.idle < w.accelerators or room.room < w.accelerators:
            continue
        there = rate(w.job_class, p.model)
        if there < best_rate or age * (1.0 - current / there) < cost:
            continue
        if not allowed(w, p, terms) or fit_nodes(p.free, p.per_node, w.accelerators) is None:
            continue
        ok = ledger.check(w, p.model)
        if ok is None or (mode == "in" and ok == "borrow"):
            continue
        best, best_rate = p.name, there
    return best


def _partner(
    w: Work,
    pool: str,
    movable: Sequence[Work],
    seen: set[str],
    rooms: Mapping[str, _PoolRoom],
    ledger: _Ledger,
    policy: QueuePolicy,
    now: float,
) -> Work | None:
    """Running work of ``w``'s size, not yet walked, that would gain more than ``w`` from the
    free accelerators of ``pool`` that ``w`` is about to take: the one with the greatest
    comparative advantage (Gavel's heterogeneity-aware allocation gives each model to the
    work it speeds up most), when that advantage and its own move pay for a restart."""
    if w.running or len(rooms) < 2:
        return None
    fast = rooms[pool]
    if fast.idle < w.accelerators:
        return None  # ``w`` pushes work out to get ``pool``: no free accelerators to offer
    rate = policy.throughput.rate
    mine = rate(w.job_class, fast.view.model)
    cost = MOVE_COST_GRACES * policy.settings.grace_s
    best: Work | None = None
    best_edge = policy.settings.move_gain
    for m in movable:
        if m.id in seen or m.accelerators != w.accelerators or m.pool == pool:
            continue
        slow = rooms.get(m.pool or "")
        if slow is None:
            continue
        here, there = rate(m.job_class, slow.view.model), rate(m.job_class, fast.view.model)
        age = now - (m.started if m.started is not None else now)
        if there < here * policy.settings.move_gain or age * (1.0 - here / there) < cost:
            continue
        edge = (there / here) / (mine / rate(w.job_class, slow.view.model))
        if edge < best_edge:
            continue
        if not allowed(m, fast.view, ledger.terms(m.tenant)) or not allowed(
            w, slow.view, ledger.terms(w.tenant)
        ):
            continue
        if ledger.check(m, fast.view.model) != "in" or ledger.check(w, slow.view.model) != "in":
            continue
        if fit_nodes(fast.view.free, fast.view.per_node, m.accelerators) is None:
            continue
        best, best_edge = m, edge
    return best


def _admit(
    w: Work,
    pool: str,
    rooms: Mapping[str, _PoolRoom],
    ledger: _Ledger,
    admitted: list[tuple[Work, str, bool]],
    now: float,
    borrowed: bool,
) -> None:
    room = rooms[pool]
    room.room -= w.accelerators
    if pool != w.pool:  # a start or a move takes free accelerators
        room.idle -= w.accelerators
    ledger.add(w.tenant, w.accelerators, room.view.model, room.view.speed)
    admitted.append((w, pool, borrowed))
    if room.holding is not None:
        speed = room.view.speed
        end = ends_at(w, now, 0.0) if w.running else now + runs_for(w, speed)
        room.holding.append((end, w.accelerators))
        if room.reservation is not None and not w.running:
            room.reservation.take(w, now, speed)


def _promised(rooms: Mapping[str, _PoolRoom]) -> bool:
    return any(r.reservation is not None for r in rooms.values())


def _reserve_room(w: Work, rooms: Mapping[str, _PoolRoom], ledger: _Ledger, mode: str) -> None:
    """``w`` was refused for room: the pool (that takes it, on its quota in this pass, and
    has no promise yet) where the counted work frees enough soonest reserves that time."""
    terms = ledger.terms(w.tenant)
    best: tuple[Reservation, _PoolRoom] | None = None
    for room in rooms.values():
        p = room.view
        if room.reservation is not None or room.holding is None or p.capacity < w.accelerators:
            continue
        if not allowed(w, p, terms):
            continue
        ok = ledger.check(w, p.model)
        if ok is None or (mode == "in" and ok == "borrow"):
            continue
        promise = shadow(w, room.room, room.holding)
        if promise is not None and (best is None or promise.at < best[0].at):
            best = promise, room
    if best is not None:
        best[1].reservation = best[0]


def _wait(plan: Plan, explain: bool, w: Work, reason: Reason) -> None:
    if explain and not w.running:
        plan.waits[w.id] = reason

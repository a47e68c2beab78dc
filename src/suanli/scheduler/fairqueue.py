"""The live server's fair queue: the queueing core says *when* and *whose*, placement *where*.

One turn, pure (a snapshot and jobs in, decisions out), in three steps:

1. Each queued job's placement plan (the pools that pass every hard rule, in the placement
   policy's rank order: cost or time objective, vouchers, data transfer) says which
   accelerator models it may use and which it prefers.
2. ``suanli.scheduler.queueing.decide`` (the same core, policies and settings the simulator
   drives) sees one pool per accelerator model (a quota's unit, like Kueue's resource
   flavours), normalised by dense TFLOPS, and decides who starts on which model, on whose
   quota (own, or borrowed in the cohort), who is asked to stop (reclaim, or outranked
   after ``min_run_s``) and why everyone else waits. The plan's preference reaches it
   through the throughput protocol (``rate(job class, model)``), the slot the simulator
   fills with measured throughput: "how well does this model suit this job".
3. The admitted jobs, in the queue's order, go to the placement policy, each bound to the
   model it was admitted on; placement picks cluster, pool and nodes and explains them.

The queue counts thousandths of an accelerator (a job sharing half a card holds 500), so
shares and whole cards are measured alike; reasons are shown in accelerators again.
"""

from __future__ import annotations

import copy
import datetime as dt
import operator
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from suanli.domain.fleet import Fleet
from suanli.domain.ids import JobId
from suanli.domain.jobs import Decision, Job, Reason, Verdicts
from suanli.domain.services import SERVICE_ENV, holds_floor
from suanli.domain.spec import MILLI, JobSpec
from suanli.domain.tenants import TenantTerms, may_use
from suanli.domain.throughput import ThroughputTable
from suanli.domain.waits import capacity_wait
from suanli.scheduler.estimate import REFERENCE_MODEL
from suanli.scheduler.kept_plans import KeptPlans
from suanli.scheduler.plans import Option, Plan, Planner, kind_of
from suanli.scheduler.policies import collector_paused
from suanli.scheduler.queueing import (
    PoolView,
    Preempt,
    QueuePolicy,
    QueueSettings,
    QueueView,
    ServiceHistory,
    Work,
    decide,
    history_of,
    make_policy,
)
from suanli.scheduler.queueing.kept_keys import KeptKeys
from suanli.scheduler.snapshot import Snapshot, queue_order

_COUNTS = ("used", "quota", "need", "have", "free")  # reason parameters in queue units
_FREE_MILLI = operator.attrgetter("free_milli")


@dataclass(frozen=True)
class QueueTurn:
    """One turn's outcome: what placement gets, who stops, why the others wait."""

    admitted: list[Job]  # for placement, in the queue's order
    models: dict[JobId, str]  # the model each accelerator job was admitted on
    borrowed: frozenset[JobId]  # admitted on quota borrowed in the cohort
    preempts: list[tuple[Job, Reason]]  # running jobs asked to give their accelerators back
    waits: dict[JobId, Decision] = field(default_factory=dict)


def units(job: Job) -> int:
    """What ``job`` holds in the queue's unit: thousandths of an accelerator, all nodes."""
    spec = job.spec
    known = _UNITS.get(id(spec))
    if known is not None and known[0] is spec:
        return known[1]
    found = spec.share_milli * spec.total_accelerators
    if len(_UNITS) >= _UNITS_KEPT:
        _UNITS.clear()
    _UNITS[id(spec)] = (spec, found)  # the spec kept with it: its id is not reused meanwhile
    return found


# Each spec's units, by the spec's identity (specs are immutable; every cycle asks for the
# units of every waiting and running job, through pydantic properties): a memo, no state.
_UNITS: dict[int, tuple[JobSpec, int]] = {}
_UNITS_KEPT = 1 << 16
# A waiting job's work as kept from turn to turn (``KeptTurn.waiting``): the job, what else
# its work is made of (class, models, service) and its kind (``plans.kind_of``), the work,
# and whether its service moves with the clock (``current_service``: it holds a placement
# on a model and has started; else its service is the job's own, whatever the instant).
_Waiting = tuple[Job, tuple[str, frozenset[str], float, Hashable], Work, bool]
# A running job's likewise (``KeptTurn.running``): the job, the pool view and speed it runs
# at, the work, its start (microseconds since the epoch, ``_micros``), and (units, speed)
# its service accrues by.
_Running = tuple[Job, tuple[str, float], Work, int | None, tuple[int, float]]
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)
_US_PER_S = 10**6


def _micros(at: dt.datetime) -> int:
    """``at`` in whole microseconds since the epoch: two instants' difference over 10**6 is
    their ``timedelta.total_seconds()``, bit for bit (both divide the integer microseconds).
    Instants are aware, as everywhere in the platform."""
    return (at - _EPOCH) // _US


def speeds(fleet: Fleet) -> dict[str, float]:
    """Each accelerator model's dense TFLOPS over the reference card's (1.0 when unrated)."""
    ref = fleet.catalog.get(REFERENCE_MODEL)
    out: dict[str, float] = {}
    for _, pool in fleet.pools():
        model = fleet.catalog.get(pool.accelerator) if pool.accelerator else None
        if model is None or pool.accelerator is None:
            continue
        mine, theirs = model.tflops, ref.tflops if ref is not None else None
        out[pool.accelerator] = mine / theirs if mine is not None and theirs else 1.0
    return out


def attained(job: Job, now: dt.datetime, speed: Mapping[str, float]) -> float:
    """Normalised accelerator-seconds served: ended attempts plus the current one so far."""
    return job.attained + current_service(job, now, speed)


def current_service(job: Job, now: dt.datetime, speed: Mapping[str, float]) -> float:
    pl = job.placement
    if job.started_at is None or pl is None or pl.accelerator is None:
        return 0.0
    seconds = max((now - job.started_at).total_seconds(), 0.0)
    return seconds * units(job) / MILLI * speed.get(pl.accelerator, 1.0)


def finished_service(job: Job, speed: Mapping[str, float]) -> float:
    """Normalised accelerator-seconds a finished job was served (all attempts)."""
    if job.finished_at is None:
        return job.attained
    return job.attained + current_service(job, job.finished_at, speed)


def service_history(finished: Iterable[Job], fleet: Fleet) -> ServiceHistory:
    """What the queue learns from ``finished`` jobs (oldest first): each one's service, by
    tenant and size in the queue's unit, for the default policy's Gittins index."""
    speed = speeds(fleet)
    return history_of(
        (j.tenant, units(j), finished_service(j, speed)) for j in finished if units(j)
    )


@dataclass
class KeptTurn:
    """What the driver keeps of the fair queue from one turn to the next (``CycleState.turn``
    in the server and the replay). The turn decides the same with or without it
    (tests/unit/queueing/test_turn_memo.py):

    - ``policy``: the last turn's informed policy; a turn informs it anew with its history,
      which recomputes only what changed (a policy that learns keeps what the finished jobs
      it already knows taught it, e.g. the Gittins table's rows);
    - ``waiting`` and ``running``: each waiting and running job's ``Work``, by the job's
      identity (a stored job is immutable: a saved one is a new object) with what else it
      is made of: a job waits or runs many turns unchanged, and the decision never changes
      the work it is given (a running work's attained service is set anew each turn). Each
      turn keeps the entries of the jobs it was given and drops the rest, so they hold the
      jobs now waiting or running and no more."""

    policy: QueuePolicy | None = None
    waiting: dict[int, _Waiting] = field(default_factory=dict)
    running: dict[int, _Running] = field(default_factory=dict)
    keys: KeptKeys = field(default_factory=KeptKeys)  # waiting work's rank keys
    # The last turn's pools' views (``_Views.of``) and models' speeds: while both are equal,
    # a kept running job's view and speed are too.
    frame: tuple[Mapping[tuple[str, str], str], Mapping[str, float]] | None = None

    def informed(self, fresh: QueuePolicy, history: ServiceHistory | None) -> QueuePolicy:
        """``fresh`` informed by ``history``, as ``decide`` would inform it, given this
        turn's throughput (``fresh``'s: this turn's job classes); kept for the next turn."""
        if history is None:
            return fresh
        last = self.policy
        if last is None or type(last) is not type(fresh) or last.settings != fresh.settings:
            learned = fresh.informed(history)
        else:
            learned = copy.copy(last.informed(history))
            learned.throughput = fresh.throughput
        self.policy = learned
        return learned


def fair_turn(
    snapshot: Snapshot,
    holding: Iterable[Job],
    rank: Callable[[Job, Option], tuple[Any, ...]],
    tenants: Mapping[str, TenantTerms],
    settings: QueueSettings,
    history: ServiceHistory | None = None,
    kept: KeptTurn | None = None,
    plans: KeptPlans | None = None,
) -> QueueTurn:
    """The turn for ``snapshot.queue`` (queued jobs) given the jobs ``holding`` capacity;
    ``history`` (``service_history``) is what finished jobs teach the queue's ranking;
    ``kept``: what the driver keeps from the last turn (None: everything made anew);
    ``plans``: the planner it keeps (``kept_plans.KeptPlans``; None: plans made anew)."""
    with collector_paused():  # as placement's cycle: many small objects, no cycles
        return _turn(
            snapshot, holding, rank, tenants, settings, history, kept or KeptTurn(), plans
        )


def _turn(
    snapshot: Snapshot,
    holding: Iterable[Job],
    rank: Callable[[Job, Option], tuple[Any, ...]],
    tenants: Mapping[str, TenantTerms],
    settings: QueueSettings,
    history: ServiceHistory | None,
    last: KeptTurn,
    kept_plans: KeptPlans | None = None,
) -> QueueTurn:
    now = snapshot.now
    t = now.timestamp()
    speed = speeds(snapshot.fleet)
    planner = (
        Planner(snapshot, rank) if kept_plans is None else kept_plans.planner_for(snapshot, rank)
    )
    plans: dict[Hashable, tuple[str, Plan, frozenset[str]]] = {}
    rates: dict[tuple[str, str], float] = {}
    by_id: dict[JobId, Job] = {}
    waiting: list[Work] = []
    plan_of: dict[JobId, Plan] = {}
    bypass: list[Job] = []  # CPU-only jobs and jobs no pool can run: placement alone
    # Entries of the jobs of this turn, kept for the next (``KeptTurn``).
    was_waiting, now_waiting = last.waiting, {}
    was_running, now_running = last.running, {}
    waiting_by_id: dict[str, Work] = {}
    for job in snapshot.queue:
        known = was_waiting.get(id(job))
        if known is not None and known[0] is job:
            key = known[1][3]  # a job's kind is its own (the job is immutable)
        else:
            key, known = kind_of(job), None
        found = plans.get(key)
        if found is None:
            made = planner.plan(job)
            models = frozenset(m for o in made.ranked if (m := o.state.pool.accelerator))
            found = plans[key] = (f"k{len(plans)}", made, models)
            _prefer(found[0], made, rates)
        job_class, _, models = found
        # A kept job has units: its entry was made past this check.
        if not models or (known is None and not units(job)):
            bypass.append(job)
            continue
        by_id[job.id] = job
        plan_of[job.id] = found[1]
        if known is None:
            served = attained(job, now, speed)
            pl = job.placement
            moves = job.started_at is not None and pl is not None and pl.accelerator is not None
            work = _work(job, job_class, models, served)
            known = (job, (job_class, models, served, key), work, moves)
        else:
            was = known[1]
            # The very job's service is what it was unless it moves with the clock.
            served = attained(job, now, speed) if known[3] else was[2]
            if was[0] != job_class or was[1] != models or was[2] != served:
                work = _work(job, job_class, models, served)
                known = (job, (job_class, models, served, key), work, known[3])
        now_waiting[id(job)] = known
        waiting.append(known[2])
        waiting_by_id[job.id] = known[2]
    views = _pools(
        snapshot, speed, {n: t.pools for n, t in tenants.items() if t.pools is not None}
    )
    running: list[Work] = []
    # A kept running job's view and speed are what they were when the pools' views and the
    # models' speeds are (compared once per turn): only its service is set anew.
    frame = (views.of, speed)
    same_frame = frame == last.frame
    last.frame = frame
    now_us = _micros(now)
    for job in holding:
        kept = was_running.get(id(job))
        if same_frame and kept is not None and kept[0] is job:
            w, started, per_s = kept[2], kept[3], kept[4]
            # The one field time moves: ``attained`` as it computes it (the seconds as
            # ``timedelta.total_seconds`` says them: microseconds over 10**6), the job's
            # own figures looked up once when the work was made.
            if started is not None:
                seconds = max((now_us - started) / _US_PER_S, 0.0)
                w.attained = job.attained + seconds * per_s[0] / MILLI * per_s[1]
            else:
                w.attained = job.attained
            now_running[id(job)] = kept
            running.append(w)
            continue
        pl = job.placement
        if pl is None or pl.accelerator is None:
            continue
        # Kept: the very job passed the checks below when its work was made (its status
        # and units are its own), and its model's speed is still known.
        same = kept is not None and kept[0] is job and pl.accelerator in speed
        if not same and (
            not job.status.holds_capacity or pl.accelerator not in speed or not units(job)
        ):
            continue
        view_name, rate = (
            views.of.get((pl.cluster, pl.pool), pl.accelerator),
            speed[pl.accelerator],
        )
        if kept is not None and kept[0] is job and kept[1] == (view_name, rate):
            w = kept[2]
        else:
            w = _work(job, None, None, 0.0)
            w.pool, w.started, w.speed = view_name, _ts(job.started_at), rate
            w.stopping, w.borrowed = job.preempt_at is not None, job.borrowed
            # the placement has a model: it counts from its start
            started = _micros(job.started_at) if job.started_at is not None else None
            per_s = (units(job), speed.get(pl.accelerator, 1.0))
            kept = (job, (view_name, rate), w, started, per_s)
        w.attained = attained(job, now, speed)
        now_running[id(job)] = kept
        running.append(w)
    last.waiting, last.running = now_waiting, now_running
    policy = last.informed(
        make_policy(settings.policy, settings, ThroughputTable(rates, source="placement")),
        history,
    )
    keys = last.keys.for_decision(policy, history, t, waiting_by_id)
    view = QueueView(
        t, views.views, running, waiting, _scaled(tenants, views), history=history, keys=keys
    )
    decided = decide(view, policy, explain=True)
    starts = decided.starts
    waits: dict[JobId, Decision] = {}
    # Waiting work of one kind refused alike shares its reason (``decide`` says one reason
    # for each kind of work refused between admissions): one explanation for them all.
    said: dict[tuple[int, int], Decision] = {}
    for ident, reason in decided.waits.items():
        job_id = JobId(ident)
        plan = plan_of[job_id]
        why = said.get((id(reason), id(plan)))
        if why is None:
            why = said[(id(reason), id(plan))] = _waiting(reason, plan)
        waits[job_id] = why
    return QueueTurn(
        [by_id[JobId(s.work.id)] for s in starts] + sorted(bypass, key=queue_order),
        {JobId(s.work.id): views.model[s.pool] for s in starts},
        frozenset(JobId(s.work.id) for s in starts if s.borrowed),
        _preempts(decided.preempts, now_running),
        waits,
    )


def _preempts(
    preempts: Iterable[Preempt], running: Mapping[int, _Running]
) -> list[tuple[Job, Reason]]:
    """The running jobs asked to stop and why (looked up only when some are)."""
    out = list(preempts)
    if not out:
        return []
    job_of = {entry[2].id: entry[0] for entry in running.values()}
    return [(job_of[x.work.id], in_accelerators(x.reason)) for x in out]


def _work(job: Job, job_class: str | None, models: frozenset[str] | None, served: float) -> Work:
    spec = job.spec
    return Work(
        job.id,
        job.tenant,
        units(job),
        job.submitted_at.timestamp(),
        spec.priority,
        job_class,
        models,
        spec.estimated_hours * 3600 if spec.estimated_hours else None,
        served,
        queued_since=_ts(job.queued_at) or job.submitted_at.timestamp(),
        preemptible=not holds_floor(spec),  # a service's minimum replicas stay
        # Outranked only when it loses nothing: it checkpoints, or it is a replica (serves).
        resumes=spec.resumes or SERVICE_ENV in spec.env,
        limit_s=spec.time_limit_hours * 3600,
        per_card=MILLI,
    )


def _ts(at: dt.datetime | None) -> float | None:
    return at.timestamp() if at is not None else None


def _prefer(job_class: str, plan: Plan, rates: dict[tuple[str, str], float]) -> None:
    """The plan's order as rates: a model's best pool ranked earlier rates higher."""
    n = len(plan.ranked)
    for i, option in enumerate(plan.ranked):
        model = option.state.pool.accelerator
        if model is not None:
            rates.setdefault((job_class, model), float(n - i))


@dataclass(frozen=True)
class _Views:
    """What the queue sees of the pools: ``views``, the view of each (cluster, pool), each
    view's model, and the views each limited tenant may use."""

    views: list[PoolView]
    of: dict[tuple[str, str], str]
    model: dict[str, str]
    allowed: dict[str, frozenset[str]]


def _pools(
    snapshot: Snapshot, speed: Mapping[str, float], limits: Mapping[str, frozenset[str]]
) -> _Views:
    """One view per accelerator model over the pools of clusters that answer: capacity and
    free thousandths as one node (placement, not the queue, fits gangs on nodes).

    Where tenants are limited to some pools (``TenantTerms.pools``, e.g. a virtual cluster's
    own), a model's pools are split by who may use them: one view per model and set of
    limited tenants, so each tenant's turn counts only the capacity it may be placed on.
    With no limited tenant there is one view per model, named by the model. Placement is
    bound to the view's model and kept to the tenant's pools by its own rule
    (``pool_tenant_excluded``): a tenant allowed two views of one model may land on either.
    """
    capacity: dict[str, int] = {}
    free: dict[str, int] = {}
    model: dict[str, str] = {}
    of: dict[tuple[str, str], str] = {}
    users: dict[str, frozenset[str]] = {}
    names: dict[tuple[str, frozenset[str]], str] = {}
    for state in snapshot.pools:
        m = state.pool.accelerator
        if m is None or not state.available:
            continue
        cluster, pool = state.cluster.name, state.pool.name
        who = frozenset(t for t, allowed in limits.items() if may_use(allowed, cluster, pool))
        name = names.get((m, who))
        if name is None:
            name = names[(m, who)] = m if not who else f"{m}@{cluster}/{pool}"
            model[name], users[name] = m, who
        of[(cluster, pool)] = name
        capacity[name] = capacity.get(name, 0) + state.pool.accelerators * MILLI
        free[name] = free.get(name, 0) + sum(map(sum, map(_FREE_MILLI, state.nodes)))
    views = [
        PoolView(v, model[v], capacity[v], [min(free[v], capacity[v])], speed.get(model[v], 1.0))
        for v in sorted(capacity)
        if capacity[v] > 0
    ]
    allowed = {t: frozenset(v for v, who in users.items() if t in who) for t in limits}
    return _Views(views, of, model, allowed)


def _scaled(tenants: Mapping[str, TenantTerms], views: _Views) -> dict[str, TenantTerms]:
    """The terms in thousandths, each limited tenant's pools said as the views it may use."""
    return {
        name: TenantTerms(
            t.name,
            t.weight,
            {k: v * MILLI for k, v in t.quota.items()},
            t.cohort,
            t.borrow,
            views.allowed.get(name, frozenset()) if t.pools is not None else None,
        )
        for name, t in tenants.items()
    }


def in_accelerators(reason: Reason) -> Reason:
    """A queue reason with its counts said in accelerators (the queue counts thousandths)."""
    params = dict(reason.params)
    for key in _COUNTS:
        value = params.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            params[key] = show_count(value / MILLI)
    return Reason(reason.code, params)


def show_count(value: float) -> int | float:
    """3 for 3.0, 0.5 for 0.5: what a person reads."""
    return int(value) if value == int(value) else round(value, 3)


def _waiting(reason: Reason, plan: Plan) -> Decision:
    """Why a job waits: placement's own words when only capacity holds it back (pools are
    full), the queue's when quota, fair share, gang size or the order does."""
    n = len(plan.ranked)
    if reason.code == "queue_no_capacity":
        return Decision(
            capacity_wait(plan.busy[:n]),
            Verdicts((plan.busy, 0, n), (plan.excluded, 0, len(plan.excluded))),
        )
    return Decision(
        in_accelerators(reason),
        Verdicts((plan.runner_up, 0, n), (plan.excluded, 0, len(plan.excluded))),
    )

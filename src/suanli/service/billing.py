"""Meter finished attempts and settle them: price, vouchers, ledger — each step idempotent.

Steps, each keyed by the attempt (``<job>/a<attempt>``), so a crash between any two and
a restart bills every attempt exactly once:

1. meter: a usage record per attempt that ran (engine start/end, accelerators, price);
   reconcile writes it *before* the job transition that ends the attempt, and
   :func:`meter_ended` catches up on attempts that ended before a restart;
2. settle: price the record, decide the voucher (从优不重复), store amounts and the
   explanation with the ledger key — before anything is posted;
3. post: post each stored settlement (and the programme's pool opening) to the ledger
   from the stored amounts; the ledger applies a key once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from suanli.billing.claims import Claim
from suanli.billing.deployment import Deployment, decide_deployment
from suanli.billing.ledger import Entry
from suanli.billing.metering import UsageRecord
from suanli.billing.money import div
from suanli.billing.policy import VoucherKind
from suanli.billing.pricing import price_usage
from suanli.billing.redemption import redemption_entry
from suanli.billing.settlement import (
    model_redemption_entry,
    pool_opening_entry,
    provider_subsidy_entry,
    settlement_entry,
)
from suanli.billing.vouchers import Deduction, charge_for_line, decide
from suanli.domain.ids import JobId, engine_key
from suanli.domain.jobs import Job, JobStatus
from suanli.domain.services import SERVICE_ENV
from suanli.service.deps import Billing, Platform
from suanli.store.base import MeteredUsage, Settlement

log = logging.getLogger("suanli.billing")


@dataclass(frozen=True)
class SettleReport:
    metered: int = 0
    settled: int = 0
    posted: int = 0


def usage_of(p: Platform, job: Job, ended_at: dt.datetime) -> MeteredUsage | None:
    """The meter reading of ``job``'s current attempt, ended at ``ended_at``; None if it never ran."""
    pl = job.placement
    if pl is None or job.started_at is None or job.attempt < 1:
        return None
    cluster = p.fleet.cluster(pl.cluster)
    pool = next((q for q in cluster.pools if q.name == pl.pool), None) if cluster else None
    per_node = job.spec.accelerators_per_node if pl.accelerator else 1
    count = max(1, len(pl.nodes) * max(per_node, 1))
    # The pool's price now; if the fleet no longer has the pool, the placement's snapshot.
    # A job sharing an accelerator (count 0.5) pays its share of the card's price.
    share = Decimal(job.spec.share_milli) / 1000 if job.spec.is_fractional else Decimal(1)
    price = (
        pool.price_per_accelerator_hour * share
        if pool is not None
        else div(pl.price_per_hour, Decimal(count))
    )
    model = p.fleet.catalog.get(pl.accelerator) if pl.accelerator else None
    usage = UsageRecord(
        job_id=job.id,
        attempt=job.attempt,
        tenant=job.tenant,
        provider=cluster.provider if cluster else "unknown",
        cluster=pl.cluster,
        pool=pl.pool,
        region=cluster.region if cluster else "unknown",
        accelerator=pl.accelerator or "CPU",
        domestic=bool(model and model.domestic),
        accelerators=count,
        started_at=job.started_at,
        ended_at=max(ended_at, job.started_at),
    )
    return MeteredUsage(usage, price)


def meter_attempt(p: Platform, job: Job, ended_at: dt.datetime) -> bool:
    """Store the usage of ``job``'s current attempt (idempotent); True when newly stored."""
    if p.billing is None:
        return False
    usage = usage_of(p, job, ended_at)
    if usage is None:
        return False
    return p.billing.store.add_usage(usage, p.clock.now())


def meter_ended(p: Platform) -> int:
    """Meter finished jobs whose last attempt has no usage record (e.g. ended while down)."""
    if p.billing is None:
        return 0
    metered = 0
    for job in p.billing.store.unmetered_jobs():
        if job.finished_at is not None and meter_attempt(p, job, job.finished_at):
            metered += 1
    return metered


def may_resume(p: Platform, usage: UsageRecord) -> bool:
    """Whether the attempt ``usage`` reads was given up with its cluster and may come back.

    Its job waits in the queue still holding that placement and run key while the cluster
    does not answer: should the run be re-adopted when it answers again, the reading is
    replaced by one up to the run's real end, so it is not settled meanwhile.
    """
    down = p.unavailable
    if not down:
        return False
    job = p.jobs.get(JobId(usage.job_id))
    return (
        job is not None
        and job.status is JobStatus.QUEUED
        and job.engine_key == engine_key(job.id, usage.attempt)
        and job.placement is not None
        and job.placement.cluster in down
    )


# Ledger entries made while settling, by settlement key, with the settlement they were made
# from: posting in the same step uses an entry again where the stored settlement equals it
# (the entry is a function of the settlement alone), else makes it from what is stored.
Made = dict[str, tuple[Settlement, Entry]]


def settle_usage(p: Platform, made: Made | None = None) -> int:
    """Price and decide every unsettled usage record; store each before any posting
    (``made``: where to leave each entry made, for ``post_settlements``)."""
    b = p.billing
    if b is None:
        return 0
    pending = [m for m in b.store.unsettled() if not may_resume(p, m.usage)]
    if not pending:
        return 0
    counters = b.store.voucher_usage()
    claims = claimed_by_tenant(b)
    filed = programme_claims(b)
    models = any(x.kind is VoucherKind.MODEL for x in b.policies)
    settled = 0
    for m in pending:
        line = price_usage(m.usage, m.price_per_accelerator_hour)
        tenant = b.tenants.get(line.tenant)
        attributes = tenant.attributes if tenant is not None else {}
        claimed = claims.get(line.tenant, frozenset())
        mine = [c for c in filed if c.company == line.tenant]
        charge = charge_for_line(line)
        deployed = deployment_of(p, m.usage) if models else None
        if deployed is None:
            deduction = decide(charge, attributes, b.policies, counters, claimed, mine)
        else:  # 私有化部署: the model voucher or the compute voucher, the better (从优不重复)
            deduction = decide_deployment(
                charge, deployed, attributes, b.policies, counters, claimed, mine
            )
        now = p.clock.now()
        entry = settlement_entry(line, deduction, now, b.platform_fee_rate)
        settlement = Settlement(line, deduction, now, entry.key if entry else None)
        if b.store.add_settlement(settlement):
            counters = counters.plus(deduction)
            settled += 1
            if made is not None and entry is not None:
                made[line.key] = (settlement, entry)
        else:  # settled by someone else meanwhile: count what is stored, not what we decided
            counters = b.store.voucher_usage()
    return settled


def deployment_of(p: Platform, usage: UsageRecord) -> Deployment | None:
    """What the attempt served when it is a replica of an owner-paid model service (its
    time is then private-deployment spend on the service's base model); None otherwise,
    or when the service is gone (its line is then decided as compute only)."""
    job = p.jobs.get(JobId(usage.job_id))
    service_id = job.spec.env.get(SERVICE_ENV) if job is not None else None
    service = p.services.get(service_id) if service_id else None
    if service is None:
        return None
    replica = next((r for r in p.services.replicas(service.id) if r.job_id == usage.job_id), None)
    number = replica.revision if replica is not None else service.revision
    revision = next((r for r in p.services.revisions(service.id) if r.number == number), None)
    model = revision.spec.model if revision is not None else None
    if model is None or model.payer != "owner":
        return None
    return Deployment(service.id, model.base_model, model.publisher, model.domestic)


def post_settlements(p: Platform, made: Made | None = None) -> int:
    """Post every stored, unposted settlement to the ledger from its stored amounts
    (``made``: entries ``settle_usage`` made, used where the stored settlement is the one
    each was made from)."""
    b = p.billing
    if b is None:
        return 0
    posted = 0
    made = made or {}
    for s in b.store.unposted():
        kept = made.get(s.line.key)
        if kept is not None and kept[0] == s:
            entry: Entry | None = kept[1]
        else:
            entry = settlement_entry(s.line, s.deduction, s.settled_at, b.platform_fee_rate)
        if entry is None or entry.key != s.entry_key:
            log.error("settlement %s no longer yields entry %s", s.line.key, s.entry_key)
            continue
        _open_pool(b, s.deduction, s.settled_at)
        if b.ledger.post(entry).applied:
            posted += 1
    return posted


def post_redemptions(p: Platform) -> int:
    """Post every stored, unposted 模型券 redemption from its stored decision."""
    b = p.billing
    if b is None or b.contracts is None:
        return 0
    posted = 0
    for r in b.contracts.unposted_redemptions():
        entry = model_redemption_entry(r.deduction, r.settled_at)
        if entry is None or entry.key != r.entry_key:
            log.error(
                "redemption %s no longer yields entry %s", r.deduction.charge.key, r.entry_key
            )
            continue
        _open_pool(b, r.deduction, r.settled_at)
        if b.ledger.post(entry).applied:
            posted += 1
    return posted


def post_period_redemptions(p: Platform) -> int:
    """Post every stored, unposted 定期兑付 redemption from its stored amounts."""
    b = p.billing
    if b is None or b.contracts is None:
        return 0
    posted = 0
    for r in b.contracts.unposted_period_redemptions():
        entry = redemption_entry(r)
        if entry is None or entry.key != r.entry_key:
            log.error("period redemption %s no longer yields entry %s", r.key, r.entry_key)
            continue
        if b.ledger.post(entry).applied:
            posted += 1
    return posted


def post_subsidies(p: Platform) -> int:
    """Post every stored, unposted provider subsidy from its stored decision."""
    b = p.billing
    if b is None or b.purchases is None:
        return 0
    posted = 0
    for s in b.purchases.unposted_subsidies():
        entry = provider_subsidy_entry(s.deduction, s.settled_at)
        if entry is None or entry.key != s.entry_key:
            log.error("subsidy %s no longer yields entry %s", s.deduction.charge.key, s.entry_key)
            continue
        _open_pool(b, s.deduction, s.settled_at)
        if b.ledger.post(entry).applied:
            posted += 1
    return posted


def claimed_by_tenant(b: Billing) -> dict[str, frozenset[str]]:
    """The programmes each tenant has claimed (read only when some programme needs a claim)."""
    if b.contracts is None or not any(x.claim_required for x in b.policies):
        return {}
    out: dict[str, set[str]] = {}
    for c in b.contracts.claims():
        out.setdefault(c.tenant, set()).add(c.programme)
    return {k: frozenset(v) for k, v in out.items()}


def programme_claims(b: Billing) -> list[Claim]:
    """Claims that bill lines may redeem against (read only when a programme has claims)."""
    if b.contracts is None or not any(x.claim is not None for x in b.policies):
        return []
    return b.contracts.programme_claims()


def _open_pool(b: Billing, deduction: Deduction, at: dt.datetime) -> None:
    """Fund each applied programme's pool for the charge's year on first use (idempotent)."""
    for applied in deduction.applied:
        if applied.pool_left is None:
            continue
        policy = b.policy(applied.programme)
        if policy is None:
            log.error(
                "programme %s of %s is no longer loaded", applied.programme, deduction.charge.key
            )
            continue
        opening = pool_opening_entry(policy, deduction.charge.on.year, at)
        if opening is not None:
            b.ledger.post(opening)


def open_pool(b: Billing, deduction: Deduction, at: dt.datetime) -> None:
    """Fund each applied programme's pool on first use (token settlements post with it)."""
    _open_pool(b, deduction, at)


def settle(p: Platform) -> SettleReport:
    """The control loop's billing step: meter, settle, post (bills, redemptions, subsidies)."""
    made: Made = {}
    metered, settled = meter_ended(p), settle_usage(p, made)  # in this order, before posting
    posted = post_settlements(p, made) + post_redemptions(p) + post_subsidies(p)
    posted += post_period_redemptions(p)
    return SettleReport(metered, settled, posted)

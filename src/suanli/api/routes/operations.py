"""/api/v1 operations: the queue and why jobs wait, utilisation, provider settlements, job cost."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from suanli.api.auth import CallerDep, open_to
from suanli.api.convert import reason_to_response
from suanli.api.convert_billing import bill_line_to_response, yuan
from suanli.api.deps import LangDep, PlatformDep
from suanli.billing.money import total
from suanli.domain.access import TENANT_ROLES, Role
from suanli.domain.i18n import Lang
from suanli.schemas.api import BillLineResponse
from suanli.schemas.operations import (
    JobCostResponse,
    QueueResponse,
    QuotaUseResponse,
    SettlementPageResponse,
    TenantQueueResponse,
    TenantQueuesResponse,
    UtilisationPointResponse,
    UtilisationResponse,
    WaitingJobResponse,
    WaitingReasonResponse,
)
from suanli.service import access, bills, operations, queues
from suanli.service.deps import Platform
from suanli.store.base import Settlement

router = APIRouter(tags=["operations"])
Month = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-11"])]


@router.get("/queue")  # the operator's: it names every tenant's waiting jobs
def queue(p: PlatformDep, lang: LangDep) -> QueueResponse:
    """Active jobs by status, and the scheduler's reasons for the waiting ones."""
    q = operations.queue_summary(p)
    return QueueResponse(
        depth=q.depth,
        waiting=q.waiting,
        reasons=[
            WaitingReasonResponse(
                code=r.code,
                jobs=r.jobs,
                message=r.example.render(lang),
                example=reason_to_response(r.example, lang),
            )
            for r in q.reasons
        ],
        oldest_waiting_since=q.oldest_waiting_since,
    )


@router.get("/queue/tenants")
@open_to(*TENANT_ROLES)
def queue_tenants(p: PlatformDep, lang: LangDep, caller: CallerDep) -> TenantQueuesResponse:
    """Per tenant: usage against quota per model, borrowing, and why each waiting job waits
    (a tenant sees its own; the operator every tenant)."""
    return TenantQueuesResponse(
        tenants=[
            TenantQueueResponse(
                tenant=t.tenant,
                weight=t.weight,
                cohort=t.cohort,
                borrow=t.borrow,
                running=t.running,
                stopping=t.stopping,
                share=t.share,
                usage=[
                    QuotaUseResponse(
                        model=u.model, used=u.used, quota=u.quota, borrowed=u.borrowed
                    )
                    for u in t.usage
                ],
                waiting=[
                    WaitingJobResponse(
                        job_id=w.job_id,
                        name=w.name,
                        status=w.status,
                        accelerators=w.accelerators,
                        priority=w.priority,
                        since=w.since,
                        attained_hours=w.attained_hours,
                        reason=reason_to_response(w.reason, lang),
                    )
                    for w in t.waiting
                ],
            )
            for t in queues.tenant_queues(p, caller)
        ]
    )


@router.get("/utilisation")
@open_to(Role.PROVIDER_ADMIN)
def utilisation(
    p: PlatformDep,
    caller: CallerDep,
    provider: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    hours: Annotated[int, Query(ge=1, le=24 * 31)] = 24,
    points: Annotated[int, Query(ge=1, le=operations.MAX_POINTS)] = 48,
) -> UtilisationResponse:
    """Accelerators in use over the last ``hours`` (whole fleet, or one provider's pools)."""
    if provider is not None:
        access.require_provider(caller, provider)
    provider = provider if caller.is_operator else caller.provider
    u = operations.utilisation(p, provider, hours, points)
    return UtilisationResponse(
        provider=u.provider,
        capacity=u.capacity,
        start=u.start,
        step_s=u.step_s,
        points=[
            UtilisationPointResponse(
                at=x.at,
                busy_accelerators=x.busy_accelerators,
                utilisation=x.utilisation,
                peak_accelerators=x.peak_accelerators,
            )
            for x in u.points
        ],
    )


@router.get("/providers/{provider}/settlements")
@open_to(Role.PROVIDER_ADMIN)
def provider_settlements(
    provider: str,
    p: PlatformDep,
    lang: LangDep,
    caller: CallerDep,
    month: Month = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> SettlementPageResponse:
    """Settled attempts on the provider's capacity in a month, newest first, one page."""
    access.require_provider(caller, provider)
    page = operations.provider_settlements(p, provider, month, limit, offset)
    return SettlementPageResponse(
        provider=provider,
        month=bills.check_month(month, p),
        lines=_lines(p, page.settlements, lang),
        total=page.total,
        limit=limit,
        offset=offset,
    )


@router.get("/job-costs")
@open_to(*TENANT_ROLES, Role.PROVIDER_ADMIN)
def job_costs(
    p: PlatformDep,
    lang: LangDep,
    caller: CallerDep,
    job: Annotated[list[str], Query(min_length=1, max_length=100)],
) -> list[JobCostResponse]:
    """The cost of several jobs at once (a page of a job list), as ``/jobs/{id}/cost`` says
    each; jobs the caller may not see are left out (never said to exist)."""
    costs = operations.job_costs(p, caller, job)
    posted = bills.posted_keys(p, [s.entry_key for c in costs for s in c.settlements])
    return [_cost_response(p, c, lang, posted) for c in costs]


@router.get("/jobs/{job_id}/cost")
@open_to(*TENANT_ROLES, Role.PROVIDER_ADMIN)
def job_cost(job_id: str, p: PlatformDep, lang: LangDep, caller: CallerDep) -> JobCostResponse:
    """What the job's settled attempts cost: gross, voucher deduction, net, and a running
    attempt's cost so far. Its tenant and the operator see every attempt; a provider the
    attempts on its capacity (its settlement figures), without the tenant's voucher reasons."""
    return _cost_response(p, operations.job_cost(p, caller, job_id), lang)


def _cost_response(
    p: Platform, cost: operations.JobCost, lang: Lang, posted: set[str] | None = None
) -> JobCostResponse:
    found = cost.settlements
    lines = _lines(p, found, lang, posted)
    if cost.private:
        lines = [x.model_copy(update={"explanation": []}) for x in lines]
    return JobCostResponse(
        job_id=cost.job_id,
        lines=lines,
        gross=yuan(total(s.deduction.gross for s in found)),
        deduction=yuan(total(s.deduction.amount for s in found)),
        net=yuan(total(s.deduction.net for s in found)),
        running_gross=yuan(cost.running_gross) if cost.running_gross is not None else None,
        running_hours=cost.running_hours,
    )


def _lines(
    p: Platform, found: list[Settlement], lang: Lang, posted: set[str] | None = None
) -> list[BillLineResponse]:
    if posted is None:
        posted = bills.posted_keys(p, [s.entry_key for s in found])
    return [
        bill_line_to_response(s, s.entry_key is None or s.entry_key in posted, lang) for s in found
    ]

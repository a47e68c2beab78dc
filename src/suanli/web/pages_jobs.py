"""The console's job pages: one job (live panel, log, cost), its log as a file, and the
cost column of job lists. What a reader may see follows its role: a provider sees the job
on its capacity and what that capacity earned, never the tenant's log or voucher reasons."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from suanli.api.auth import public
from suanli.schemas.api import JobResponse, JobSummary, VoucherPolicyResponse
from suanli.schemas.operations import JobCostResponse
from suanli.web.caller import ApiFailure
from suanli.web.view import View, ViewDep, failure

router = APIRouter(prefix="/console", include_in_schema=False)
MAX_LOG_PAGES = 64  # a downloaded log stops after 64 MiB


async def job_costs(v: View, jobs: Sequence[JobSummary]) -> dict[str, JobCostResponse]:
    """The cost (settled, or so far) of each job of a list page that has started."""
    started = [j.id for j in jobs if j.started_at is not None]
    if not started:
        return {}
    found = await v.api.get("/job-costs", list[JobCostResponse], job=started)
    return {c.job_id: c for c in found}


def _owns(v: View, job: JobResponse) -> bool:
    """The reader acts for the job's tenant (or is the operator): log, cancel, re-submit."""
    return v.viewer is not None and v.viewer.sees_tenant(job.tenant)


async def _job_and_cost(v: View, job_id: str) -> tuple[JobResponse, JobCostResponse]:
    job, cost = await asyncio.gather(
        v.api.get(f"/jobs/{job_id}", JobResponse),
        v.api.get(f"/jobs/{job_id}/cost", JobCostResponse),
    )
    return job, cost


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
@public
async def job_page(job_id: str, v: ViewDep) -> Response:
    try:
        job, cost = await _job_and_cost(v, job_id)
        policies = await v.api.get("/voucher-policies", list[VoucherPolicyResponse])
    except ApiFailure as exc:
        return failure(v, exc)
    owner = _owns(v, job)
    back = (
        f"/console/tenant/{job.tenant}/jobs"
        if owner
        else f"/console/provider/{v.viewer.provider if v.viewer else ''}"
    )
    return v.page(
        "job.html",
        role="tenant" if owner else "provider",
        who=job.tenant,
        job=job,
        cost=cost,
        owner=owner,
        back=back,
        titles={x.programme: x.title for x in policies},
    )


@router.get("/jobs/{job_id}/panel", response_class=HTMLResponse)
@public
async def job_panel(job_id: str, v: ViewDep) -> Response:
    """The live part of the job page (status, history, placement, cost), polled by htmx."""
    try:
        job, cost = await _job_and_cost(v, job_id)
        policies = await v.api.get("/voucher-policies", list[VoucherPolicyResponse])
    except ApiFailure as exc:
        return failure(v, exc)
    return v.page(
        "_job_panel.html",
        job=job,
        cost=cost,
        owner=_owns(v, job),
        titles={x.programme: x.title for x in policies},
    )


@router.get("/jobs/{job_id}/log")
@public
async def job_log(job_id: str, v: ViewDep) -> Response:
    """The job's log as a file to save (read from the API a page at a time, at most
    MAX_LOG_PAGES pages; ``suanli logs`` reads any length)."""
    parts: list[bytes] = []
    offset = 0
    try:
        for _ in range(MAX_LOG_PAGES):
            chunk, headers = await v.api.get_bytes(f"/jobs/{job_id}/logs", offset=offset)
            if not chunk:
                break
            parts.append(chunk)
            offset = int(headers.get("x-next-offset", offset + len(chunk)))
    except ApiFailure as exc:
        return failure(v, exc)
    return Response(
        b"".join(parts),
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{job_id}.log"'},
    )

"""/api/v1/jobs: submit, list, get, logs (with follow), cancel."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from suanli.api.auth import CallerDep, open_to
from suanli.api.convert import job_to_response, job_to_summary
from suanli.api.deps import LangDep, LoopDep, PlatformDep
from suanli.domain.access import EVERYONE, TENANT_ROLES
from suanli.domain.errors import FieldError, InvalidInput
from suanli.domain.jobs import JobStatus
from suanli.schemas.api import JobListResponse, JobResponse, SubmitJobRequest
from suanli.schemas.specfile import parse_spec_data, parse_spec_text
from suanli.service import jobs as job_service
from suanli.service.deps import Platform

router = APIRouter(prefix="/jobs", tags=["jobs"])
FOLLOW_POLL_S = 0.3


@router.post("", status_code=201)
@open_to(*TENANT_ROLES)
def submit(
    body: SubmitJobRequest,
    request: Request,
    p: PlatformDep,
    loop: LoopDep,
    lang: LangDep,
    caller: CallerDep,
) -> JobResponse:
    tenant = job_service.submitting_tenant(caller, body.tenant)
    source = body.source or "request"
    if (body.spec is None) == (body.spec_yaml is None):
        raise InvalidInput(
            "invalid_request",
            errors=[FieldError("spec", "not_allowed", None, "exactly one of spec or spec_yaml")],
        )
    spec = (
        parse_spec_text(body.spec_yaml, source)
        if body.spec_yaml is not None
        else parse_spec_data(body.spec, source)
    )
    job_service.check_active_limit(p, tenant, request.app.state.max_active_jobs)
    try:
        job = job_service.submit_job(p, spec, body.cluster, tenant)
    except InvalidInput as exc:
        exc.source = source
        raise
    if loop is not None:
        loop.wake()
    return job_to_response(job, job_service.first_events(job), p.fleet, lang)


@router.get("")
@open_to(*EVERYONE)
def list_jobs(
    p: PlatformDep,
    caller: CallerDep,
    status: Annotated[list[JobStatus] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> JobListResponse:
    page = job_service.list_jobs(p, status, limit, offset, caller)
    return JobListResponse(
        jobs=[job_to_summary(j) for j in page.jobs], total=page.total, limit=limit, offset=offset
    )


@router.get("/{job_id}")
@open_to(*EVERYONE)
def get_job(job_id: str, p: PlatformDep, lang: LangDep, caller: CallerDep) -> JobResponse:
    job = job_service.visible_job(p, caller, job_id)
    return job_to_response(job, job_service.job_history(p, job_id), p.fleet, lang)


@router.post("/{job_id}/cancel")
@open_to(*TENANT_ROLES)
def cancel(
    job_id: str, p: PlatformDep, loop: LoopDep, lang: LangDep, caller: CallerDep
) -> JobResponse:
    job_service.owned_job(p, caller, job_id, "cancel this job")
    job = job_service.cancel_job(p, job_id)
    if loop is not None:
        loop.wake()
    return job_to_response(job, job_service.job_history(p, job_id), p.fleet, lang)


@router.get(
    "/{job_id}/logs", response_class=Response, responses={200: {"content": {"text/plain": {}}}}
)
@open_to(*TENANT_ROLES)
def logs(
    job_id: str,
    p: PlatformDep,
    caller: CallerDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    follow: bool = False,
) -> Response:
    """The run's output from ``offset``; with ``follow`` the stream stays open until the job ends."""
    job_service.owned_job(p, caller, job_id, "read this job's logs")  # before any streaming
    if not follow:
        chunk = job_service.read_logs(p, job_id, offset)
        return Response(
            chunk.data,
            media_type="text/plain; charset=utf-8",
            headers={"X-Next-Offset": str(chunk.next_offset)},
        )
    return StreamingResponse(_follow(p, job_id, offset), media_type="text/plain; charset=utf-8")


def _follow(p: Platform, job_id: str, offset: int) -> Iterator[bytes]:
    pause = threading.Event()
    while True:
        finished = job_service.get_job(p, job_id).status.is_terminal
        chunk = job_service.read_logs(p, job_id, offset)
        if chunk.data:
            offset = chunk.next_offset
            yield chunk.data
            continue
        if finished:
            return
        pause.wait(FOLLOW_POLL_S)

"""/api/v1/jobs: submit, list, get, logs (with follow), cancel."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, MutableMapping
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from suanli.api.audit import audit_event, record_with_change
from suanli.api.auth import CallerDep, caller_of, open_to
from suanli.api.convert import job_to_response, job_to_summary
from suanli.api.deps import LangDep, LoopDep, PlatformDep
from suanli.api.errors import request_lang
from suanli.domain.access import EVERYONE, TENANT_ROLES, Principal
from suanli.domain.jobs import JobStatus
from suanli.schemas.api import SUBMIT_JOB_SCHEMA, JobListResponse, JobResponse
from suanli.service import jobs as job_service
from suanli.service.deps import Platform
from suanli.service.submissions import SubmitQueue
from suanli.store.base import Submission
from suanli.workers.control_loop import ControlLoop

router = APIRouter(prefix="/jobs", tags=["jobs"])
FOLLOW_POLL_S = 0.3


# Bodies up to this size are parsed in the event loop (a job file is about 500 bytes); a
# larger one (up to the 1 MiB body limit) in a worker thread, so no client holds the others.
INLINE_BODY_BYTES = 16 * 1024


@router.post(
    "",
    status_code=201,
    response_model=JobResponse,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": SUBMIT_JOB_SCHEMA}},
        }
    },
)
@open_to(*TENANT_ROLES)
async def submit(request: Request) -> Response:
    # The hot path. The body is read here, not declared: it is parsed once, with bounds, by
    # the one submission path (suanli.service.jobs.admit_body) that suanli.api.fastsubmit
    # takes too. The platform, loop, language and caller are read from the request, not
    # declared as dependencies: FastAPI's solving of each costs more than the reading.
    answer = await accept(
        request.app.state, request.scope, caller_of(request), await request.body()
    )
    return Response(answer, status_code=201, media_type="application/json")


async def accept(
    state: Any, scope: MutableMapping[str, Any], caller: Principal, raw: bytes
) -> bytes:
    """Admit the submission in ``raw`` for ``caller``, store it (with the request's audit
    row) through the submission writer, and answer the job's JSON; SuanliError on refusal."""
    p: Platform = state.platform
    if len(raw) <= INLINE_BODY_BYTES:
        admitted = job_service.admit_body(p, caller, raw)
    else:
        admitted = await anyio.to_thread.run_sync(job_service.admit_body, p, caller, raw)
    audit = audit_event(p, scope, 201) if p.audit is not None else None
    queue: SubmitQueue = state.submissions
    done = queue.submit(Submission(admitted.job, admitted.events, audit))
    record_with_change(scope, done)
    await asyncio.wrap_future(done)
    loop: ControlLoop | None = state.loop
    if loop is not None:
        loop.wake()
    # Serialised here: FastAPI would validate the model it was given once more first.
    lang = request_lang(Request(scope))
    answer = job_to_response(admitted.job, admitted.events, p.fleet, lang)
    return answer.model_dump_json().encode()


@router.get("")
@open_to(*EVERYONE)
def list_jobs(
    p: PlatformDep,
    caller: CallerDep,
    status: Annotated[list[JobStatus] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    tenant: Annotated[str | None, Query(max_length=64)] = None,
    provider: Annotated[
        str | None, Query(max_length=64, description="placed on its clusters")
    ] = None,
    cluster: Annotated[str | None, Query(max_length=64)] = None,
) -> JobListResponse:
    """Newest first; filters combine (status any-of, tenant, placed on a provider or cluster),
    within what the caller may see."""
    page = job_service.list_jobs(p, status, limit, offset, caller, tenant, provider, cluster)
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
    request: Request,
    job_id: str,
    p: PlatformDep,
    caller: CallerDep,
    offset: Annotated[int, Query(ge=0, le=2**53, description="a byte offset into the output")] = 0,
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
    stopping: threading.Event = request.app.state.stopping
    return StreamingResponse(
        _follow(p, job_id, offset, stopping), media_type="text/plain; charset=utf-8"
    )


def _follow(p: Platform, job_id: str, offset: int, stopping: threading.Event) -> Iterator[bytes]:
    """Until the job ends, or the server stops (then the client sees the stream end)."""
    while not stopping.is_set():
        finished = job_service.get_job(p, job_id).status.is_terminal
        chunk = job_service.read_logs(p, job_id, offset)
        if chunk.data:
            offset = chunk.next_offset
            yield chunk.data
            continue
        if finished:
            return
        stopping.wait(FOLLOW_POLL_S)

"""/api/v1/jobs: submit, list, get, logs (with follow), cancel."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator, MutableMapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from suanli.api.audit import audit_event, record_with_change
from suanli.api.auth import CallerDep, caller_of, open_to
from suanli.api.convert import job_to_response, job_to_summary
from suanli.api.deps import LangDep, LoopDep, PlatformDep
from suanli.api.errors import request_lang
from suanli.domain.access import EVERYONE, TENANT_ROLES, Principal
from suanli.domain.errors import FieldError, InvalidInput
from suanli.domain.i18n import Lang
from suanli.domain.jobs import Job, JobEvent, JobStatus
from suanli.schemas.api import JobListResponse, JobResponse, SubmitJobRequest
from suanli.schemas.specfile import parse_spec_data, parse_spec_text
from suanli.service import jobs as job_service
from suanli.service.deps import Platform
from suanli.service.submissions import SubmitQueue
from suanli.store.base import Submission
from suanli.workers.control_loop import ControlLoop

router = APIRouter(prefix="/jobs", tags=["jobs"])
FOLLOW_POLL_S = 0.3


@router.post("", status_code=201, response_model=JobResponse)
@open_to(*TENANT_ROLES)
async def submit(body: SubmitJobRequest, request: Request) -> Response:
    # The hot path. Async, and no I/O but the store's write: validation runs in the event
    # loop; the job rows and the audit row go to the process's submission writer, one
    # transaction for all the submissions waiting then (see suanli.service.submissions).
    # The platform, loop, language and caller are read from the request, not declared as
    # dependencies: FastAPI's solving of each costs more than the reading. A plain
    # submission does not even come here: suanli.api.fastsubmit answers it the same way.
    state, scope = request.app.state, request.scope
    stored = hand_over(state, scope, prepare(state, scope, body, caller_of(request)))
    return Response(await stored, status_code=201, media_type="application/json")


@dataclass(frozen=True)
class Prepared:
    """A checked submission, not handed to the writer yet."""

    job: Job
    events: list[JobEvent]
    lang: Lang


def prepare(
    state: Any, scope: MutableMapping[str, Any], body: SubmitJobRequest, caller: Principal
) -> Prepared:
    """Check ``body`` for ``caller``: the job it submits, or InvalidInput / Forbidden."""
    p: Platform = state.platform
    lang = request_lang(Request(scope))
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
    try:
        job = job_service.new_job(p, spec, body.cluster, tenant)
    except InvalidInput as exc:
        exc.source = source
        raise
    return Prepared(job, job_service.first_events(job), lang)


def hand_over(
    state: Any, scope: MutableMapping[str, Any], prepared: Prepared
) -> Coroutine[Any, Any, bytes]:
    """Give the job and the request's audit row to the submission writer; await the result
    for the answer's JSON once they are stored (one transaction with the others waiting)."""
    p: Platform = state.platform
    audit = audit_event(p, scope, 201) if p.audit is not None else None
    queue: SubmitQueue = state.submissions
    done = queue.submit(Submission(prepared.job, prepared.events, audit))
    record_with_change(scope, done)
    return _stored(state, prepared, done)


async def _stored(state: Any, prepared: Prepared, done: Future[None]) -> bytes:
    await asyncio.wrap_future(done)
    loop: ControlLoop | None = state.loop
    if loop is not None:
        loop.wake()
    p: Platform = state.platform
    # Serialised here: FastAPI would validate the model it was given once more first.
    answer = job_to_response(prepared.job, prepared.events, p.fleet, prepared.lang)
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

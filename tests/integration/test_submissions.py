"""Submissions written in groups: every job with its first event and its audit row, the
per-tenant limit exact under concurrent requests, one bad submission failing alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from suanli.api.app import create_app
from suanli.api.limits import ApiLimits
from suanli.domain.access import AuditEvent, Role
from suanli.domain.ids import JobId
from suanli.schemas.specfile import parse_spec_data
from suanli.service import jobs as job_service
from suanli.service.deps import Platform
from suanli.service.submissions import SubmitQueue
from suanli.store.base import Submission
from tests.access import bearer, operator_token, token_for

SPEC = {"name": "tiny", "run": "true"}


@pytest.fixture
def platform(demo_platform: Platform) -> Platform:
    return demo_platform


def test_concurrent_submissions_store_job_event_and_audit_row_each(platform: Platform) -> None:
    limits = ApiLimits(rate_per_token=10_000, burst=10_000, max_active_jobs=25)
    member = bearer(token_for(platform, "m", Role.TENANT_MEMBER, "demo"))
    with TestClient(create_app(platform, run_loop=False, limits=limits)) as api:
        with ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(
                    lambda _: api.post("/api/v1/jobs", json={"spec": SPEC}, headers=member),
                    range(40),
                )
            )
        audit = api.get(
            "/api/v1/audit",
            params={"actor": "m", "limit": 1000},
            headers=bearer(operator_token(platform)),
        ).json()
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * 25 + [429] * 15  # the limit is exact within one process
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["error"]["code"] == "quota.active_jobs"
    stored = {a.json()["id"] for a in answers if a.status_code == 201}
    assert {j.id for j in platform.jobs.list(limit=100)} == stored
    for job_id in stored:
        history = [e.reason.code for e in platform.jobs.events(JobId(job_id))]
        assert history == ["reason_submitted"]
    # One audit row per request, never two: the stored ones written with their job.
    submits = [e["status"] for e in audit if e["action"] == "POST /api/v1/jobs"]
    assert sorted(submits) == codes


def test_one_bad_submission_fails_alone(platform: Platform) -> None:
    spec = parse_spec_data(SPEC, "test")
    first = job_service.new_job(platform, spec)
    platform.jobs.add(first, job_service.first_events(first))
    queue = SubmitQueue(platform.jobs)
    try:
        news = [job_service.new_job(platform, spec) for _ in range(5)]
        clash = Submission(first, job_service.first_events(first), _audit(platform))
        pending = [queue.submit(Submission(j, job_service.first_events(j))) for j in news[:2]]
        bad = queue.submit(clash)  # the same id again: the database refuses it
        pending += [queue.submit(Submission(j, job_service.first_events(j))) for j in news[2:]]
        for done in pending:
            done.result(timeout=30)
        with pytest.raises(Exception):  # noqa: B017, PT011 - the driver's own integrity error
            bad.result(timeout=30)
    finally:
        queue.close()
    assert {j.id for j in platform.jobs.list(limit=100)} == {first.id} | {j.id for j in news}
    assert platform.audit is not None
    assert platform.audit.events() == []  # the refused one's row went with it


def _audit(platform: Platform) -> AuditEvent:
    return AuditEvent(
        platform.clock.now(), "m", "tenant_member", "demo", "", "POST x", "x", 201, ""
    )

"""Bearer submissions skip FastAPI's machinery (suanli.api.fastsubmit) but take the route's
own path (``accept``): same answer, same rows, same refusals, the rate limit taken once."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pytest
from fastapi.testclient import TestClient

from suanli.api.app import create_app
from suanli.api.limits import ApiLimits
from suanli.api.routes import jobs
from suanli.domain.access import Principal, Role, Scope
from suanli.domain.ids import JobId
from suanli.service.deps import Platform
from tests.access import bearer, operator_token, token_for

SPEC = {"name": "tiny", "run": "true", "env": {"KEY": "secret"}}
JSON = "application/json"


@pytest.fixture
def platform(demo_platform: Platform) -> Platform:
    return demo_platform


@pytest.fixture
def routed(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """For each submission taken by the one submission path: whether the router matched it."""
    seen: list[bool] = []
    accept = jobs.accept

    def spy(state: Any, scope: MutableMapping[str, Any], caller: Principal, raw: bytes) -> Any:
        seen.append("route" in scope)
        return accept(state, scope, caller, raw)

    monkeypatch.setattr(jobs, "accept", spy)
    return seen


def test_a_plain_submission_is_answered_as_the_route_answers(
    platform: Platform, routed: list[bool]
) -> None:
    member = bearer(token_for(platform, "m", Role.TENANT_MEMBER, "demo"))
    with TestClient(create_app(platform, run_loop=False)) as api:
        api.get("/api/v1/jobs", headers=member)  # the token is in the cache now
        fast = api.post("/api/v1/jobs", json={"spec": SPEC}, headers=member)
        # A token the cache has not seen yet: left to the application (authorise asks the
        # store), whose route takes the same path.
        fresh = bearer(token_for(platform, "m", Role.TENANT_MEMBER, "demo"))
        slow = api.post("/api/v1/jobs", json={"spec": SPEC}, headers=fresh)
        audit = api.get(
            "/api/v1/audit", params={"actor": "m"}, headers=bearer(operator_token(platform))
        ).json()
    assert routed == [False, True]
    assert (fast.status_code, slow.status_code) == (201, 201)
    assert fast.headers["content-type"] == slow.headers["content-type"] == JSON
    one, other = fast.json(), slow.json()
    assert "secret" not in fast.text  # env values are never echoed, either way
    for answer in (one, other):
        answer.pop("id")
        answer.pop("submitted_at")
        answer.pop("updated_at")
        for event in answer["history"]:
            event.pop("at")
    assert one == other
    submits = [e for e in audit if e["action"] == "POST /api/v1/jobs"]
    assert [e["status"] for e in submits] == [201, 201]
    assert {e["actor"] for e in submits} == {"m"}
    job_id = JobId(fast.json()["id"])
    assert [e.reason.code for e in platform.jobs.events(job_id)] == ["reason_submitted"]


def test_refusals_are_the_routes_and_take_the_rate_once(
    platform: Platform, routed: list[bool]
) -> None:
    limits = ApiLimits(rate_per_token=0.001, burst=4, max_active_jobs=1)
    member = bearer(token_for(platform, "m", Role.TENANT_MEMBER, "demo"))
    reader = bearer(token_for(platform, "r", Role.TENANT_MEMBER, "demo", frozenset({Scope.READ})))
    with TestClient(create_app(platform, run_loop=False, limits=limits)) as api:
        api.get("/api/v1/jobs", headers=member)  # cached; takes 1 of the 4
        bad = api.post("/api/v1/jobs", json={"spec": {"name": "x"}}, headers=member)  # 2
        ok = api.post("/api/v1/jobs", json={"spec": SPEC}, headers=member)  # 3
        over = api.post("/api/v1/jobs", json={"spec": SPEC}, headers=member)  # 4
        api.get("/api/v1/jobs", headers=reader)
        read_only = api.post("/api/v1/jobs", json={"spec": SPEC}, headers=reader)
        spent = api.post("/api/v1/jobs", json={"spec": SPEC}, headers=member)  # 5th: refused
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_spec")
    assert bad.json()["error"]["errors"][0]["field"] == "run"
    assert ok.status_code == 201
    assert (over.status_code, over.json()["error"]["code"]) == (429, "quota.active_jobs")
    assert (read_only.status_code, read_only.json()["error"]["code"]) == (
        403,
        "access.read_only",
    )
    assert (spent.status_code, spent.json()["error"]["code"]) == (429, "quota.rate")
    assert routed == [False, False, False]  # the refused spec too; the rest never parsed

"""Tokens, roles, the audit log and the limits, through the real API on each database."""

from __future__ import annotations

import datetime as dt
import stat
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from suanli.api.app import create_app
from suanli.api.limits import ApiLimits
from suanli.domain.access import (
    ALL_SCOPES,
    ApiToken,
    Role,
    Scope,
    hash_secret,
    new_token,
    split_token,
)
from suanli.service import access
from suanli.service.deps import Platform
from tests.access import bearer, operator_token, token_for

SPEC = {"name": "tiny", "run": "true"}


@pytest.fixture
def platform(demo_platform: Platform) -> Platform:
    return demo_platform


@pytest.fixture
def api(platform: Platform) -> Iterator[TestClient]:
    limits = ApiLimits(rate_per_token=1000, burst=1000, max_active_jobs=3)
    with TestClient(create_app(platform, run_loop=False, limits=limits)) as client:
        yield client


def test_the_operator_token_file_is_private_and_reused(platform: Platform) -> None:
    path, created = access.ensure_operator_token(platform, platform.data_dir)
    assert created
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, created_again = access.ensure_operator_token(platform, platform.data_dir)
    assert (again, created_again) == (path, False)
    found = access.lookup(platform, path.read_text().strip())
    assert found is not None
    assert found[1].role is Role.OPERATOR


def test_tokens_are_hashed_at_rest(platform: Platform, database_url: str) -> None:
    token = operator_token(platform)
    parts = split_token(token)
    assert parts is not None
    secret = parts[1]
    engine = platform.jobs._engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(text("SELECT * FROM api_tokens")).all()]
    assert stored
    assert all(secret not in str(row) for row in stored)
    assert any(hash_secret(secret) in row for row in stored)


def test_no_token_bad_token_revoked_and_expired_are_refused(
    api: TestClient, platform: Platform
) -> None:
    assert api.get("/api/v1/jobs").status_code == 401
    assert api.get("/api/v1/jobs", headers=bearer("sl_0123456789ab_nope")).status_code == 401
    zh = api.get("/api/v1/jobs", headers={"Accept-Language": "zh-CN"}).json()
    assert "令牌" in zh["error"]["message"]
    member = token_for(platform, "m", Role.TENANT_MEMBER, "demo")
    assert api.get("/api/v1/jobs", headers=bearer(member)).status_code == 200
    token_id = member[3:15]
    op = bearer(operator_token(platform))
    assert api.post(f"/api/v1/tokens/{token_id}/revoke", headers=op).status_code == 200
    assert api.get("/api/v1/jobs", headers=bearer(member)).status_code == 401
    old_id, secret, old = new_token()
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    expired = ApiToken(old_id, "m", hash_secret(secret), ALL_SCOPES, past, past)
    access.store(platform).add_token(expired)
    assert api.get("/api/v1/jobs", headers=bearer(old)).status_code == 401


def test_scopes_and_roles(api: TestClient, platform: Platform) -> None:
    reader = token_for(platform, "r", Role.TENANT_MEMBER, "demo", frozenset({Scope.READ}))
    assert api.get("/api/v1/jobs", headers=bearer(reader)).status_code == 200
    r = api.post("/api/v1/jobs", json={"spec": SPEC}, headers=bearer(reader))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "access.read_only"
    admin = token_for(platform, "boss", Role.TENANT_ADMIN, "demo")
    r = api.post(
        "/api/v1/users",
        json={"name": "dev", "organisation": "demo", "role": "tenant_member"},
        headers=bearer(admin),
    )
    assert r.status_code == 201, r.text
    issued = api.post("/api/v1/tokens", json={"user": "dev"}, headers=bearer(admin))
    assert issued.status_code == 201, issued.text
    dev = issued.json()["token"]
    assert api.get("/api/v1/whoami", headers=bearer(dev)).json()["organisation"] == "demo"
    r = api.post(
        "/api/v1/users",
        json={"name": "dev2", "organisation": "demo", "role": "tenant_member"},
        headers=bearer(dev),
    )
    assert r.status_code == 403
    escalate = api.post(
        "/api/v1/tokens", json={"scopes": ["read", "write"]}, headers=bearer(reader)
    )
    assert escalate.status_code == 403  # a read-only token cannot even ask (POST is a write)
    r = api.post(
        "/api/v1/users",
        json={"name": "op2", "organisation": "demo", "role": "operator"},
        headers=bearer(admin),
    )
    assert r.status_code == 422  # an operator in a tenant's organisation: never


def test_audit_log_records_who_what_when_where(api: TestClient, platform: Platform) -> None:
    member = token_for(platform, "m", Role.TENANT_MEMBER, "demo")
    job = api.post("/api/v1/jobs", json={"spec": SPEC}, headers=bearer(member)).json()
    api.post(f"/api/v1/jobs/{job['id']}/cancel", headers=bearer(member))
    api.post("/api/v1/jobs", json={"spec": SPEC})  # anonymous, refused: recorded too
    assert api.get("/api/v1/audit", headers=bearer(member)).status_code == 403
    events = api.get("/api/v1/audit", headers=bearer(operator_token(platform))).json()
    actions = [(e["actor"], e["action"], e["status"]) for e in events]
    assert ("m", "POST /api/v1/jobs", 201) in actions
    assert ("m", "POST /api/v1/jobs/{job_id}/cancel", 200) in actions
    assert ("anonymous", "POST /api/v1/jobs", 401) in actions
    mine = next(e for e in events if e["action"] == "POST /api/v1/jobs/{job_id}/cancel")
    assert mine["target"] == f"/api/v1/jobs/{job['id']}/cancel"
    assert mine["organisation"] == "demo"
    assert mine["remote"]
    assert all(e["action"].split()[0] != "GET" for e in events)  # reads are not state changes


def test_concurrent_job_limit_per_tenant(api: TestClient, platform: Platform) -> None:
    member = token_for(platform, "m", Role.TENANT_MEMBER, "demo")
    for _ in range(3):
        assert (
            api.post("/api/v1/jobs", json={"spec": SPEC}, headers=bearer(member)).status_code
            == 201
        )
    r = api.post(
        "/api/v1/jobs",
        json={"spec": SPEC},
        headers={**bearer(member), "Accept-Language": "zh-CN"},
    )
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "quota.active_jobs"
    assert "同时最多 3 个" in r.json()["error"]["message"]
    other = token_for(platform, "o", Role.TENANT_MEMBER, "etown-robotics")
    assert api.post("/api/v1/jobs", json={"spec": SPEC}, headers=bearer(other)).status_code == 201


def test_rate_limit_per_token(platform: Platform) -> None:
    limits = ApiLimits(rate_per_token=0.5, burst=3)
    with TestClient(create_app(platform, run_loop=False, limits=limits)) as api:
        member = token_for(platform, "m", Role.TENANT_MEMBER, "demo")
        answers = [api.get("/api/v1/jobs", headers=bearer(member)) for _ in range(5)]
        codes = [a.status_code for a in answers]
        assert codes.count(200) == 3
        assert codes[-1] == 429
        assert int(answers[-1].headers["Retry-After"]) >= 1
        assert answers[-1].json()["error"]["code"] == "quota.rate"
        other = token_for(platform, "o", Role.TENANT_MEMBER, "demo")
        assert api.get("/api/v1/jobs", headers=bearer(other)).status_code == 200


def test_spec_and_request_size_limits(api: TestClient, platform: Platform) -> None:
    member = bearer(token_for(platform, "m", Role.TENANT_MEMBER, "demo"))
    huge = "name: big\nrun: echo " + "x" * 200_000 + "\n"
    r = api.post("/api/v1/jobs", json={"spec_yaml": huge}, headers=member)
    assert r.status_code in (413, 422)
    body = "x" * (2 * 1024 * 1024)
    r = api.post(
        "/api/v1/jobs", content=body, headers={**member, "content-type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "too_large"


def test_the_console_cookie_reads_and_writes_only_from_its_own_origin(
    api: TestClient, platform: Platform
) -> None:
    member = token_for(platform, "m", Role.TENANT_MEMBER, "demo")
    api.cookies.set("suanli_token", member)
    assert api.get("/api/v1/whoami").json()["user"] == "m"
    evil = api.post(
        "/api/v1/jobs", json={"spec": SPEC}, headers={"Origin": "https://evil.example"}
    )
    assert evil.status_code == 403
    own = api.post("/api/v1/jobs", json={"spec": SPEC}, headers={"Origin": "http://testserver"})
    assert own.status_code == 201, own.text

"""What the console shows, as the API serves it: filters, queue, utilisation, settlements, cost,
paged bills; and the console's pages themselves (language, pagination), in-process."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from suanli.api.auth import TOKEN_COOKIE
from suanli.domain.access import Role
from suanli.service.bootstrap import open_platform
from suanli.web.app import create_app
from tests.access import bearer, operator_token, signed_in, token_for
from tests.conftest import wait_until

ONE_T4 = (
    "name: {name}\nresources: {{accelerator: {{model: T4, count: {count}}}}}\nrun: echo {name}\n"
)
A100 = "name: big\nresources: {accelerator: {model: A100, count: 8}}\nrun: echo big\n"


def _submit(client: TestClient, text: str, tenant: str = "demo") -> dict[str, Any]:
    response = client.post("/api/v1/jobs", json={"spec_yaml": text, "tenant": tenant})
    assert response.status_code == 201, response.text
    return dict(response.json())


def _settled(client: TestClient, job_id: str) -> dict[str, Any] | None:
    cost = client.get(f"/api/v1/jobs/{job_id}/cost").json()
    return dict(cost) if cost["lines"] else None


@pytest.fixture
def ran(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, list[str]]]:
    """A running platform on each database where three jobs of two tenants ran and settled."""
    platform = open_platform(tmp_path / "data", database_url=database_url, detect_gpus=False)
    try:
        with TestClient(create_app(platform, interval_s=0.1)) as client:
            signed_in(client, platform)
            ids = [
                _submit(client, ONE_T4.format(name="a", count=1))["id"],
                _submit(client, ONE_T4.format(name="b", count=2), "etown-robotics")["id"],
                _submit(client, A100)["id"],
            ]
            for job_id in ids:
                wait_until(functools.partial(_settled, client, job_id), timeout=60)
            yield client, ids
    finally:
        platform.close()


def test_filters_costs_settlements_and_use(ran: tuple[TestClient, list[str]]) -> None:
    client, (a, _, big) = ran
    jobs = client.get("/api/v1/jobs", params={"tenant": "demo"}).json()
    assert {j["id"] for j in jobs["jobs"]} == {a, big}
    assert jobs["total"] == 2
    placed = client.get(f"/api/v1/jobs/{big}").json()["placement"]
    provider = client.get("/api/v1/fleet").json()
    owner = next(c["provider"] for c in provider["clusters"] if c["name"] == placed["cluster"])
    on_owner = client.get("/api/v1/jobs", params={"provider": owner}).json()
    assert big in {j["id"] for j in on_owner["jobs"]}
    on_cluster = client.get("/api/v1/jobs", params={"cluster": placed["cluster"]}).json()
    assert all(j["cluster"] == placed["cluster"] for j in on_cluster["jobs"])
    assert client.get("/api/v1/jobs", params={"provider": "nobody"}).json()["total"] == 0

    cost = client.get(f"/api/v1/jobs/{big}/cost").json()
    line = cost["lines"][0]
    assert (line["job_id"], line["accelerators"], line["pool"]) == (big, 8, placed["pool"])
    assert cost["net"] == line["net"]

    settled = client.get(f"/api/v1/providers/{owner}/settlements", params={"limit": 1}).json()
    assert settled["total"] >= 1
    assert len(settled["lines"]) == 1
    assert all(x["provider"] == owner for x in settled["lines"])
    assert client.get("/api/v1/providers/nobody/settlements").status_code == 404

    use = client.get("/api/v1/utilisation", params={"provider": owner, "hours": 1, "points": 1})
    assert use.json()["points"][0]["busy_accelerators"] > 0
    # the 8 A100s (with the provider's other jobs) held at once, however short the runs
    # were against the hour: not the hour's average (issue 21)
    point = use.json()["points"][0]
    assert point["peak_accelerators"] >= 8 > point["busy_accelerators"]
    assert client.get("/api/v1/utilisation", params={"provider": "nobody"}).status_code == 422


def test_a_paged_bill_keeps_the_month_totals(ran: tuple[TestClient, list[str]]) -> None:
    client, _ = ran
    whole = client.get("/api/v1/bills/demo").json()
    first = client.get("/api/v1/bills/demo", params={"limit": 1}).json()
    second = client.get("/api/v1/bills/demo", params={"limit": 1, "offset": 1}).json()
    assert first["totals"] == whole["totals"] == second["totals"]
    assert whole["totals"]["lines"] == 2
    paged = {first["lines"][0]["key"], second["lines"][0]["key"]}
    assert paged == {x["key"] for x in whole["lines"]}


def test_queue_says_why_jobs_wait(tmp_path: Path) -> None:
    platform = open_platform(tmp_path / "data", detect_gpus=False)
    try:
        # No control loop: the submitted jobs stay pending with their first reason.
        with TestClient(create_app(platform, run_loop=False)) as client:
            signed_in(client, platform)
            for name in ("w1", "w2"):
                _submit(client, ONE_T4.format(name=name, count=1))
            queue = client.get("/api/v1/queue", headers={"Accept-Language": "zh-CN"}).json()
    finally:
        platform.close()
    assert queue["depth"]["pending"] == 2
    assert queue["waiting"] == 2
    assert queue["reasons"][0]["jobs"] == 2
    assert queue["reasons"][0]["message"] == "已提交"
    assert queue["oldest_waiting_since"] is not None


def test_console_pages_language_and_pagination(tmp_path: Path) -> None:
    platform = open_platform(tmp_path / "data", detect_gpus=False)
    try:
        with TestClient(create_app(platform, run_loop=False)) as client:
            signed_in(client, platform)
            client.cookies.set(TOKEN_COOKIE, operator_token(platform))
            for i in range(23):
                _submit(client, ONE_T4.format(name=f"p{i}", count=1))
            zh = client.get("/console/tenant/demo/jobs", headers={"Accept-Language": "zh-CN"})
            assert '<html lang="zh-CN">' in zh.text
            assert "第 1-20 条，共 23 条" in zh.text
            en = client.get("/console/tenant/demo/jobs?page=2&lang=en")
            assert '<html lang="en">' in en.text
            assert "21-23 of 23" in en.text
            assert en.text.count('href="/console/jobs/') == 3
            # the choice is remembered over the browser's language
            again = client.get("/console/operator", headers={"Accept-Language": "zh-CN"})
            assert '<html lang="en">' in again.text
            missing = client.get("/console/jobs/j-nothere")
            assert missing.status_code == 404
            assert "j-nothere" in missing.text
    finally:
        platform.close()


def test_each_role_sees_its_own_part_of_the_console_api(
    ran: tuple[TestClient, list[str]],
) -> None:
    client, (a, b, big) = ran
    platform = client.app.state.platform  # type: ignore[attr-defined]
    demo = bearer(token_for(platform, "demo-member", Role.TENANT_MEMBER, "demo"))
    owner = client.get(f"/api/v1/jobs/{big}").json()["placement"]["cluster"]
    provider = next(
        c["provider"] for c in client.get("/api/v1/fleet").json()["clusters"] if c["name"] == owner
    )
    host = bearer(token_for(platform, "host-admin", Role.PROVIDER_ADMIN, provider))

    mine = client.get("/api/v1/jobs", headers=demo).json()
    assert {j["id"] for j in mine["jobs"]} == {a, big}
    # a tenant filtering for another tenant gets nothing, not the other's jobs
    assert (
        client.get("/api/v1/jobs", params={"tenant": "etown-robotics"}, headers=demo).json()[
            "total"
        ]
        == 0
    )
    assert client.get(f"/api/v1/jobs/{big}/cost", headers=demo).status_code == 200
    assert client.get(f"/api/v1/jobs/{b}/cost", headers=demo).status_code == 404
    assert client.get("/api/v1/bills/etown-robotics", headers=demo).status_code == 404
    for path in ("/api/v1/queue", "/api/v1/voucher-pools", "/api/v1/utilisation"):
        assert client.get(path, headers=demo).status_code == 403, path

    assert client.get(f"/api/v1/providers/{provider}/settlements", headers=host).status_code == 200
    assert client.get("/api/v1/providers/nobody/settlements", headers=host).status_code == 404
    use = client.get("/api/v1/utilisation", headers=host).json()
    assert use["provider"] == provider  # its own capacity, asked or not
    # A job on its capacity: what that capacity earned, as on its settlements page, without
    # the tenant's voucher reasons (issue 21: the provider's job links must open).
    earned = client.get(f"/api/v1/jobs/{big}/cost", headers=host)
    assert earned.status_code == 200
    tenant_view = client.get(f"/api/v1/jobs/{big}/cost", headers=demo).json()
    assert earned.json()["net"] == tenant_view["net"]
    assert all(line["provider"] == provider for line in earned.json()["lines"])
    assert all(line["explanation"] == [] for line in earned.json()["lines"])
    assert any(line["explanation"] for line in tenant_view["lines"])
    elsewhere = [
        j
        for j in (a, b)
        if client.get(f"/api/v1/jobs/{j}").json()["placement"]["cluster"]
        not in {
            c["name"]
            for c in client.get("/api/v1/fleet").json()["clusters"]
            if c["provider"] == provider
        }
    ]
    for job in elsewhere:  # not on its capacity: not said to exist
        assert client.get(f"/api/v1/jobs/{job}/cost", headers=host).status_code == 404
    assert client.get("/api/v1/queue", headers=host).status_code == 403
    # A page of a job list asks the costs at once: each as /cost says, others left out.
    many = {"job": [a, b, big, "j-nothere"]}
    costs = client.get("/api/v1/job-costs", params=many, headers=demo).json()
    assert [c["job_id"] for c in costs] == [a, big]
    assert costs[1] == client.get(f"/api/v1/jobs/{big}/cost", headers=demo).json()
    hosted = client.get("/api/v1/job-costs", params=many, headers=host).json()
    assert big in [c["job_id"] for c in hosted]
    assert all(c["job_id"] not in elsewhere for c in hosted)
    too_many = {"job": [a] * 101}
    assert client.get("/api/v1/job-costs", params=too_many, headers=demo).status_code == 422


def test_console_pages_need_a_signed_in_reader(tmp_path: Path) -> None:
    platform = open_platform(tmp_path / "data", detect_gpus=False)
    try:
        with TestClient(create_app(platform, run_loop=False)) as client:
            gone = client.get("/console/operator?page=2", follow_redirects=False)
            assert gone.status_code == 303
            assert (
                gone.headers["location"]
                == "/console/sign-in?next=%2Fconsole%2Foperator%3Fpage%3D2"
            )
            bad = client.post("/console/sign-in", data={"token": "sl_x_y", "next": "/console"})
            assert bad.status_code == 401
            assert TOKEN_COOKIE not in client.cookies
            token = token_for(platform, "demo-member", Role.TENANT_MEMBER, "demo")
            ok = client.post(
                "/console/sign-in",
                data={"token": token, "next": "https://elsewhere.example/"},
                follow_redirects=False,
            )
            assert ok.status_code == 303
            assert ok.headers["location"] == "/console"  # never off the console
            cookie = ok.headers["set-cookie"]
            assert "HttpOnly" in cookie
            assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
            home = client.get("/console", follow_redirects=False)
            assert home.headers["location"] == "/console/tenant/demo/jobs"
            assert client.get("/console/tenant/demo/jobs").status_code == 200
            other = client.get("/console/tenant/etown-robotics/bills")
            assert other.status_code == 404
            assert client.get("/console/operator").status_code == 403
            client.post("/console/sign-out", follow_redirects=False)
            assert TOKEN_COOKIE not in client.cookies
            assert client.get("/console", follow_redirects=False).status_code == 303
    finally:
        platform.close()

"""GET /api/v1/queue/tenants: a tenant sees its own standing and waiting jobs, the operator all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from suanli.api.app import create_app
from suanli.domain.access import Role
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform
from suanli.service.scheduling import run_scheduling_cycle
from tests.access import bearer, operator_token, token_for

TENANTS = """
format: suanli/tenants/v1
tenants:
  - {name: demo}
  - {name: haidian-vision, quota: {T4: 4}}
  - {name: etown-robotics, quota: {"*": 2}, weight: 3}
"""
BIG = "name: big\nresources: {accelerator: {model: A100, count: 2}}\nrun: echo\n"
ONE = "name: one\nresources: {accelerator: {model: T4, count: 1}}\nrun: echo\n"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[TestClient, Platform]]:
    (tmp_path / "tenants.yaml").write_text(TENANTS)
    platform = open_platform(
        tmp_path / "data", detect_gpus=False, tenants_file=tmp_path / "tenants.yaml"
    )
    try:
        with TestClient(create_app(platform, run_loop=False)) as client:
            yield client, platform
    finally:
        platform.close()


def test_each_tenant_sees_its_own_rows_and_the_operator_all(
    world: tuple[TestClient, Platform],
) -> None:
    client, p = world
    op = bearer(operator_token(p))
    for spec, tenant in (
        (ONE, "haidian-vision"),
        (BIG, "etown-robotics"),
        (BIG, "etown-robotics"),
    ):
        r = client.post("/api/v1/jobs", json={"spec_yaml": spec, "tenant": tenant}, headers=op)
        assert r.status_code == 201, r.text
    run_scheduling_cycle(p)

    everyone = client.get("/api/v1/queue/tenants", headers=op).json()["tenants"]
    assert {t["tenant"] for t in everyone} == {"demo", "haidian-vision", "etown-robotics"}
    by_name = {t["tenant"]: t for t in everyone}
    hv = by_name["haidian-vision"]
    assert hv["usage"] == [{"model": "T4", "used": 1.0, "quota": 4, "borrowed": 0.0}]
    assert (hv["cohort"], hv["borrow"], hv["running"]) == (None, False, 1)
    robotics = by_name["etown-robotics"]
    assert robotics["weight"] == 3
    assert robotics["usage"] == [{"model": "*", "used": 2.0, "quota": 2, "borrowed": 0.0}]
    [waiting] = robotics["waiting"]
    assert waiting["accelerators"] == 2
    assert waiting["reason"]["code"] == "queue_quota_full"
    assert waiting["reason"]["message"] == (
        "etown-robotics uses 2 of its quota of 2 accelerators; this job needs 2"
    )

    member = bearer(token_for(p, "r-member", Role.TENANT_MEMBER, "etown-robotics"))
    own = client.get("/api/v1/queue/tenants", headers=member).json()["tenants"]
    assert [t["tenant"] for t in own] == ["etown-robotics"]
    assert [w["job_id"] for w in own[0]["waiting"]] == [waiting["job_id"]]
    zh = client.get("/api/v1/queue/tenants", headers={**member, "Accept-Language": "zh-CN"}).json()
    assert zh["tenants"][0]["waiting"][0]["reason"]["message"] != waiting["reason"]["message"]


def test_a_job_wider_than_the_tenant_can_ever_hold_is_refused_with_the_bound(
    world: tuple[TestClient, Platform],
) -> None:
    client, p = world
    op = bearer(operator_token(p))
    wide = BIG.replace("count: 2", "count: 4")
    r = client.post(
        "/api/v1/jobs", json={"spec_yaml": wide, "tenant": "etown-robotics"}, headers=op
    )
    assert r.status_code == 422, r.text
    [error] = r.json()["error"]["errors"]
    assert (error["field"], error["code"], error["value"], error["allowed"]) == (
        "resources.accelerator.count",
        "over_quota",
        4,
        "A100 ≤ 2",
    )
    assert "etown-robotics" in error["message"]
    assert p.jobs.list() == []  # nothing stored
    # The same job for a tenant with no quota is accepted.
    r = client.post("/api/v1/jobs", json={"spec_yaml": wide, "tenant": "demo"}, headers=op)
    assert r.status_code == 201, r.text

"""The REST API in-process, with its control loop and the real local engine."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from suanli.api.app import create_app
from suanli.service.bootstrap import open_platform
from tests.access import signed_in
from tests.builders import HAPPY_PATH
from tests.conftest import wait_until

HELLO = Path(__file__).parents[2] / "examples" / "hello.yaml"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    platform = open_platform(tmp_path / "data", detect_gpus=False)
    with TestClient(create_app(platform, interval_s=0.1)) as client:
        signed_in(client, platform)
        yield client
    platform.close()


def test_the_platform_runs_on_each_database(tmp_path: Path, database_url: str) -> None:
    platform = open_platform(tmp_path / "data", database_url=database_url, detect_gpus=False)
    try:
        with TestClient(create_app(platform, interval_s=0.1)) as client:
            signed_in(client, platform)
            job = submit(client, HELLO.read_text()).json()
            done = wait_until(lambda: finished(client, job["id"]))
            assert done["status"] == "succeeded"
            assert [e["to_status"] for e in done["history"]] == HAPPY_PATH
            assert "hello from suanli" in client.get(f"/api/v1/jobs/{job['id']}/logs").text
    finally:
        platform.close()


def submit(api: TestClient, text: str, **extra: Any) -> Any:
    return api.post("/api/v1/jobs", json={"spec_yaml": text, **extra})


def finished(api: TestClient, job_id: str) -> dict[str, Any] | None:
    body = api.get(f"/api/v1/jobs/{job_id}").json()
    return body if body["status"] in ("succeeded", "failed", "cancelled") else None


def test_health_and_openapi(api: TestClient) -> None:
    assert api.get("/healthz").json()["status"] == "ok"
    doc = api.get("/api/v1/openapi.json").json()
    assert {
        "/api/v1/jobs",
        "/api/v1/jobs/{job_id}",
        "/api/v1/jobs/{job_id}/logs",
        "/api/v1/jobs/{job_id}/cancel",
        "/api/v1/fleet",
    } <= set(doc["paths"])


def test_submit_run_and_read_logs(api: TestClient) -> None:
    r = submit(api, HELLO.read_text(), source="hello.yaml")
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["status"] == "pending"
    done = wait_until(lambda: finished(api, job["id"]))
    assert done["status"] == "succeeded"
    assert done["exit_code"] == 0
    assert [e["to_status"] for e in done["history"]] == HAPPY_PATH
    assert done["placement"]["accelerator"] == "T4"
    assert done["decision"]["chosen"] == [done["placement"]["cluster"], done["placement"]["pool"]]
    logs = api.get(f"/api/v1/jobs/{job['id']}/logs")
    assert "hello from suanli" in logs.text
    tail = api.get(f"/api/v1/jobs/{job['id']}/logs", params={"offset": 6})
    assert tail.text == logs.text[6:]
    assert int(logs.headers["X-Next-Offset"]) == len(logs.content)
    followed = api.get(f"/api/v1/jobs/{job['id']}/logs", params={"follow": True})
    assert followed.text == logs.text


def test_env_secrets_are_not_echoed(api: TestClient) -> None:
    text = HELLO.read_text() + "env:\n  API_KEY: very-secret\n"
    body = submit(api, text).json()
    assert body["spec"]["env"] == {"API_KEY": "***"}
    assert "very-secret" not in api.get(f"/api/v1/jobs/{body['id']}").text


def test_cancel_a_running_job(api: TestClient) -> None:
    text = "name: long\nresources: {accelerator: {model: T4}}\nrun: sleep 60\n"
    job = submit(api, text).json()
    wait_until(lambda: api.get(f"/api/v1/jobs/{job['id']}").json()["status"] == "running")
    r = api.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert r.status_code == 200
    assert r.json()["cancel_requested"]
    done = wait_until(lambda: finished(api, job["id"]))
    assert done["status"] == "cancelled"
    again = api.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_finished"


def test_cancel_before_start_is_immediate(api: TestClient) -> None:
    # 16 T4 on one node never fits now but the job is valid for a 4-node... use a pinned gang
    text = (
        "name: gang\nresources: {accelerator: {model: A100, count: 8}, nodes: 4}\nrun: sleep 30\n"
    )
    first = submit(api, text).json()
    second = submit(api, text).json()  # the A100 pool has 4 nodes: the second must wait
    wait_until(lambda: api.get(f"/api/v1/jobs/{first['id']}").json()["status"] == "running")
    waiting = api.get(f"/api/v1/jobs/{second['id']}").json()
    assert waiting["status"] == "queued"
    assert waiting["decision"]["summary"]["code"] == "waiting_for_capacity"
    r = api.post(f"/api/v1/jobs/{second['id']}/cancel").json()
    assert r["status"] == "cancelled"
    api.post(f"/api/v1/jobs/{first['id']}/cancel")
    assert wait_until(lambda: finished(api, first["id"]))["status"] == "cancelled"


class TestErrors:
    def test_invalid_spec_is_422_with_fields_and_nothing_stored(self, api: TestClient) -> None:
        r = submit(
            api,
            "name: x\nresources: {accelerator: {model: T4, count: -1}}\nrun: a\n",
            source="bad.yaml",
        )
        assert r.status_code == 422
        err = r.json()["error"]
        assert err["code"] == "invalid_spec"
        assert err["source"] == "bad.yaml"
        assert err["errors"][0]["field"] == "resources.accelerator.count"
        assert err["errors"][0]["value"] == -1
        assert api.get("/api/v1/jobs").json()["total"] == 0

    def test_messages_follow_accept_language(self, api: TestClient) -> None:
        r = api.post(
            "/api/v1/jobs",
            json={"spec_yaml": "name: [x"},
            headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"},
        )
        assert r.json()["error"]["message"].startswith("不是合法的 YAML")
        r2 = api.post(
            "/api/v1/jobs",
            json={"spec_yaml": "name: x\nrun: a\nfoo: 1\n"},
            headers={"Accept-Language": "zh-CN"},
        )
        assert r2.json()["error"]["message"] == "作业描述无效"
        assert r2.json()["error"]["errors"][0]["message"].startswith("未知字段")

    def test_unknown_accelerator_names_the_field(self, api: TestClient) -> None:
        r = submit(api, "name: x\nresources: {accelerator: {model: X9000}}\nrun: a\n")
        assert r.status_code == 422
        assert r.json()["error"]["errors"][0]["field"] == "resources.accelerator.model[0]"

    def test_both_or_neither_spec_forms_is_refused(self, api: TestClient) -> None:
        assert api.post("/api/v1/jobs", json={}).status_code == 422
        r = api.post("/api/v1/jobs", json={"spec": {"name": "a"}, "spec_yaml": "name: a"})
        assert r.status_code == 422

    def test_structured_spec_is_validated_too(self, api: TestClient) -> None:
        r = api.post(
            "/api/v1/jobs", json={"spec": {"name": "a", "run": "x", "resources": {"nodes": 10000}}}
        )
        assert r.status_code == 422
        assert r.json()["error"]["errors"][0]["field"] == "resources.nodes"

    def test_oversized_body_is_413(self, api: TestClient) -> None:
        r = api.post(
            "/api/v1/jobs",
            content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "too_large"

    def test_unknown_job_is_404(self, api: TestClient) -> None:
        for path in ("/api/v1/jobs/j-nope", "/api/v1/jobs/j-nope/logs"):
            r = api.get(path)
            assert r.status_code == 404
            assert r.json()["error"]["code"] == "job_not_found"
        assert api.post("/api/v1/jobs/j-nope/cancel").status_code == 404

    def test_bad_query_is_422_not_500(self, api: TestClient) -> None:
        r = api.get("/api/v1/jobs", params={"limit": 100000})
        assert r.status_code == 422
        assert r.json()["error"]["errors"][0]["field"] == "query.limit"


def test_fleet_totals_and_free_capacity(api: TestClient) -> None:
    fleet = api.get("/api/v1/fleet").json()
    assert fleet["total"]["accelerators"] == sum(
        p["nodes"] * p["accelerators_per_node"] for c in fleet["clusters"] for p in c["pools"]
    )
    assert set(fleet["by_region"]) >= {"beijing", "tianjin", "hebei", "inner-mongolia"}
    assert all(
        p["free_accelerators"] == p["nodes"] * p["accelerators_per_node"]
        for c in fleet["clusters"]
        for p in c["pools"]
    )
    catalog = api.get("/api/v1/accelerators").json()
    assert any(a["model"] == "Ascend910B" and a["domestic"] for a in catalog)


def test_listing_is_paginated(api: TestClient) -> None:
    text = "name: q\nresources: {cpus: 1}\nrun: 'true'\n"
    ids = [submit(api, text).json()["id"] for _ in range(3)]
    page = api.get("/api/v1/jobs", params={"limit": 2}).json()
    assert page["total"] == 3
    assert len(page["jobs"]) == 2
    rest = api.get("/api/v1/jobs", params={"limit": 2, "offset": 2}).json()
    assert {j["id"] for j in page["jobs"] + rest["jobs"]} == set(ids)


def test_every_example_runs_to_success(api: TestClient) -> None:
    examples = sorted(p for p in HELLO.parent.glob("*.yaml") if not p.name.startswith("fleet-"))
    assert len(examples) >= 6
    ids = {}
    for path in examples:
        r = submit(api, path.read_text(), source=path.name)
        assert r.status_code == 201, (path.name, r.text)
        ids[path.name] = r.json()["id"]
    for name, job_id in ids.items():
        done = wait_until(functools.partial(finished, api, job_id), timeout=60)
        assert done["status"] == "succeeded", (name, api.get(f"/api/v1/jobs/{job_id}/logs").text)

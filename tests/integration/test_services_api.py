"""/api/v1/services in-process: the control loop on simulated engines, a probe that says
every addressed replica is ready, tenants' tokens, and the control plane's metrics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from suanli.api.app import create_app
from suanli.api.auth import TOKEN_COOKIE
from suanli.domain.access import Role, Scope
from suanli.domain.serving import LoadSample
from suanli.service.bootstrap import open_platform
from suanli.service.services_probe import ProbeTarget
from suanli.store.stores import MEMORY_URL
from suanli.web.app import create_app as create_console
from tests.access import bearer, operator_token, signed_in, token_for
from tests.conftest import wait_until

SPEC = """
name: chat
resources: {accelerator: {model: T4, count: 1}}
run: server --port $PORT
replicas: {min: 1, max: 3}
model:
  served_name: tiny
  base_model: tiny-llama
  publisher: lab
  payer: owner
"""


class AlwaysReady:
    def check(self, targets: Sequence[ProbeTarget], now: float) -> dict[str, bool]:
        return {t.replica_id: True for t in targets}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str]]]:
    platform = open_platform(
        tmp_path / "data", database_url=MEMORY_URL, detect_gpus=False, simulated_engines=True
    )
    platform.readiness = AlwaysReady()
    demo = bearer(token_for(platform, "ana", Role.TENANT_MEMBER, "demo"))
    other = bearer(token_for(platform, "bo", Role.TENANT_MEMBER, "haidian-vision"))
    with TestClient(create_app(platform, interval_s=0.05)) as client:
        signed_in(client, platform)
        yield client, demo, other
    platform.close()


def deploy(client: TestClient, who: dict[str, str], text: str = SPEC) -> Any:
    return client.post("/api/v1/services", json={"spec_yaml": text}, headers=who)


def test_deploy_show_scale_roll_back_and_delete(
    api: tuple[TestClient, dict[str, str], dict[str, str]],
) -> None:
    client, demo, _ = api
    r = deploy(client, demo)
    assert r.status_code == 201, r.text
    assert r.json()["created"]
    assert r.json()["served_name"] == "tiny"
    assert deploy(client, demo).status_code == 200  # the same spec: nothing changes

    def ready(count: int) -> dict[str, Any] | None:
        body = client.get("/api/v1/services/chat", headers=demo).json()
        return body if body["ready"] == count else None

    body = wait_until(lambda: ready(1))
    [replica] = [r for r in body["replicas"] if r["status"] == "ready"]
    assert replica["cluster"]
    assert replica["url"]
    assert client.post(
        "/api/v1/services/chat/scale", json={"replicas": 2}, headers=demo
    ).is_success
    wait_until(lambda: ready(2))
    changed = deploy(client, demo, SPEC.replace("min: 1", "min: 2"))
    assert changed.json()["revision"] == 2
    assert changed.json()["changed"]
    back = client.post("/api/v1/services/chat/rollback", json={}, headers=demo).json()
    assert (back["revision"], back["latest"]) == (1, 2)
    metrics = client.get("/metrics", headers=demo)
    assert metrics.status_code == 200
    assert 'suanli_service_replicas_desired{owner="demo",service="chat"} 2' in metrics.text
    assert client.delete("/api/v1/services/chat", headers=demo).json()["deleting"]
    wait_until(lambda: client.get("/api/v1/services", headers=demo).json()["services"] == [])


def test_another_tenant_sees_nothing_and_the_operator_sees_all(
    api: tuple[TestClient, dict[str, str], dict[str, str]],
) -> None:
    client, demo, other = api
    assert deploy(client, demo).status_code == 201
    assert client.get("/api/v1/services/chat", headers=other).status_code == 404
    assert client.get("/api/v1/services", headers=other).json()["services"] == []
    scaled = client.post("/api/v1/services/chat/scale", json={"replicas": 2}, headers=other)
    assert scaled.status_code == 404
    asked = client.get("/api/v1/services", params={"tenant": "demo"}, headers=other)
    assert asked.status_code == 403
    everyone = client.get("/api/v1/services").json()["services"]
    assert [s["owner"] for s in everyone] == ["demo"]
    assert "chat" not in client.get("/metrics", headers=other).text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"spec_yaml": SPEC.replace("max: 3", "max: 0")}, "replicas.max"),
        ({"spec_yaml": SPEC.replace("$PORT", "8080")}, "run"),
        ({"spec_yaml": SPEC.replace("T4", "Z9000")}, "resources.accelerator"),
        ({"spec_yaml": SPEC.replace("payer: owner", "payer: nobody")}, "model.payer"),
        ({"spec_yaml": SPEC, "spec": {"name": "x"}}, "spec_yaml"),
        ({"spec": {"name": "x", "run": "s $PORT", "rollout": {"surge": 0}}}, "rollout"),
    ],
)
def test_a_bad_spec_is_422_naming_the_field_and_stores_nothing(
    api: tuple[TestClient, dict[str, str], dict[str, str]], body: dict[str, Any], field: str
) -> None:
    client, demo, _ = api
    r = client.post("/api/v1/services", json=body, headers=demo)
    assert r.status_code == 422, r.text
    fields = [e["field"] for e in r.json()["error"]["errors"]]
    assert any(f.startswith(field) for f in fields), fields
    assert client.get("/api/v1/services", headers=demo).json()["services"] == []


def test_out_of_range_scale_and_unknown_revision_are_refused(
    api: tuple[TestClient, dict[str, str], dict[str, str]],
) -> None:
    client, demo, _ = api
    deploy(client, demo)
    assert (
        client.post("/api/v1/services/chat/scale", json={"replicas": 9}, headers=demo).status_code
        == 422
    )
    assert (
        client.post(
            "/api/v1/services/chat/rollback", json={"revision": 5}, headers=demo
        ).status_code
        == 422
    )
    assert client.get("/api/v1/services/nope", headers=demo).status_code == 404


def test_console_pages_show_services_replicas_and_load_in_both_languages(
    tmp_path: Path,
) -> None:
    platform = open_platform(
        tmp_path / "data", database_url=MEMORY_URL, detect_gpus=False, simulated_engines=True
    )
    platform.readiness = AlwaysReady()
    try:
        with TestClient(create_console(platform, interval_s=0.05)) as client:
            signed_in(client, platform)
            client.cookies.set(TOKEN_COOKIE, operator_token(platform))
            assert deploy(client, {}).status_code == 201
            wait_until(lambda: client.get("/api/v1/services/chat").json()["ready"] == 1)
            service_id = client.get("/api/v1/services/chat").json()["id"]
            now = platform.clock.now()
            for i in range(12):  # a gateway's reports: 4 requests a second
                end = now - dt.timedelta(seconds=60 - 5 * i)
                start = end - dt.timedelta(seconds=5)
                platform.load_sink.observe(LoadSample(service_id, "gw:1", start, end, 1, 20, 0, 0))
            zh = client.get("/console/services", headers={"Accept-Language": "zh-CN"})
            assert zh.status_code == 200
            assert "服务" in zh.text
            assert 'href="/console/services/demo/chat"' in zh.text
            en = client.get("/console/services/demo/chat?lang=en")
            assert en.status_code == 200
            assert "Requests per second" in en.text
            assert "4.0" in en.text  # the chart's points
            assert 'data-replica="r-' in en.text
            assert "ready" in en.text
            page = client.get("/console/services/demo/chat?lang=zh")
            assert "就绪" in page.text
            assert client.get("/console/services/demo/nope").status_code == 404
    finally:
        platform.close()


def test_metrics_take_a_token_and_show_a_tenant_only_its_own_services(tmp_path: Path) -> None:
    """One /metrics for the gateway and the control plane: no token 401, a provider 403, a
    tenant its own services' lines, the operator (or its read-only scrape token) all."""
    platform = open_platform(
        tmp_path / "data", database_url=MEMORY_URL, detect_gpus=False, simulated_engines=True
    )
    platform.readiness = AlwaysReady()
    demo = bearer(token_for(platform, "ana", Role.TENANT_MEMBER, "demo"))
    other = bearer(token_for(platform, "bo", Role.TENANT_MEMBER, "haidian-vision"))
    host = bearer(token_for(platform, "pat", Role.PROVIDER_ADMIN, "tj-cloud"))
    scrape = bearer(token_for(platform, "prom", Role.OPERATOR, "platform", frozenset({Scope.READ})))  # fmt: skip
    try:
        with TestClient(create_console(platform, interval_s=0.05)) as client:
            assert deploy(client, demo).status_code == 201
            wait_until(lambda: client.get("/api/v1/services/chat", headers=demo).json()["ready"] == 1)  # fmt: skip
            anonymous = client.get("/metrics")
            seen = {who: client.get("/metrics", headers=h) for who, h in
                    (("demo", demo), ("other", other), ("host", host), ("scrape", scrape))}  # fmt: skip
    finally:
        platform.close()
    assert anonymous.status_code == 401
    assert seen["host"].status_code == 403
    for who in ("demo", "scrape"):
        text = seen[who].text
        assert seen[who].status_code == 200
        assert 'suanli_gateway_replicas_ready{service="demo/chat"} 1.0' in text  # the gateway
        assert 'suanli_service_replicas_desired{owner="demo",service="chat"} 1' in text
    assert seen["other"].status_code == 200
    assert "demo" not in seen["other"].text
    assert "# TYPE suanli_gateway_requests_total counter" in seen["other"].text

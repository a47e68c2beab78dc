"""Isolation matrix: every route of the app × every role; nobody reaches what is not theirs.

Routes are enumerated from the application itself, so a route added later is probed too
(with the sample body below when it has one, an empty body otherwise).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from suanli.api.app import create_app
from suanli.api.auth import AUDIENCE, Audience, audiences
from suanli.api.routes.metrics import metrics as metrics_route
from suanli.domain.access import Role, Scope
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform
from suanli.service.scheduling import run_scheduling_cycle
from tests.access import bearer, operator_token, token_for

VICTIM = "haidian-vision"  # tenant A: owns the job, the contract, the secret
OTHER = "etown-robotics"  # tenant B
HOST = "tj-cloud"  # provider P: A's job runs on its cluster
STRANGER = "bj-etown-aic"  # provider Q
CLUSTER = "tj-binhai-1"  # HOST's


@dataclass
class World:
    client: TestClient
    platform: Platform
    tokens: dict[str, str]  # actor -> token text ("" for anonymous)
    ids: dict[str, str]  # path parameter -> A's (or HOST's) object
    secret: str
    job_a: str
    contract_a: str


def sample_bodies(w: World) -> dict[tuple[str, str], dict[str, Any]]:
    """Bodies aimed at A's and HOST's things (a route without one is probed with {})."""
    hello = "name: probe\nresources: {accelerator: {model: T4, count: 1}}\nrun: echo hi\n"
    return {
        ("POST", "/api/v1/jobs"): {"spec_yaml": hello, "tenant": VICTIM},
        ("POST", "/api/v1/jobs/{job_id}/cancel"): {},
        ("POST", "/api/v1/vouchers/quote"): {
            "amount": "100.00",
            "domestic": True,
            "tenant": VICTIM,
        },
        ("POST", "/api/v1/contracts"): {
            "tenant": VICTIM,
            "vendor": "Zhipu AI",
            "model": "GLM-4",
            "kind": "api_calls",
            "domestic": True,
            "amount": "1000.00",
            "evidence": "probe",
            "signed": "2026-06-01",
        },
        ("POST", "/api/v1/contracts/{contract_id}/redemptions"): {
            "period": "2026-07",
            "completed": "10.00",
        },
        ("POST", "/api/v1/voucher-claims"): {
            "tenant": VICTIM,
            "programme": "beijing-etown-compute-2024",
        },
        ("POST", "/api/v1/purchases"): {
            "provider": HOST,
            "project": "probe",
            "accelerator": "Ascend910B",
            "servers": 1,
            "amount": "1000.00",
            "evidence": "probe",
            "signed": "2026-09-01",
        },
        ("POST", "/api/v1/organisations"): {"name": OTHER, "kind": "tenant"},
        ("POST", "/api/v1/users"): {
            "name": "intruder",
            "organisation": VICTIM,
            "role": "tenant_admin",
        },
        ("POST", "/api/v1/tokens"): {"user": "a-admin"},
    }


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    platform = open_platform(tmp_path / "data", detect_gpus=False)
    try:
        with TestClient(create_app(platform, run_loop=False)) as client:
            op = operator_token(platform)
            tokens = {
                "operator": op,
                "a-member": token_for(platform, "a-member", Role.TENANT_MEMBER, VICTIM),
                "a-admin": token_for(platform, "a-admin", Role.TENANT_ADMIN, VICTIM),
                "a-readonly": token_for(
                    platform, "a-reader", Role.TENANT_MEMBER, VICTIM, frozenset({Scope.READ})
                ),
                "b-admin": token_for(platform, "b-admin", Role.TENANT_ADMIN, OTHER),
                "host-admin": token_for(platform, "p-admin", Role.PROVIDER_ADMIN, HOST),
                "stranger-admin": token_for(platform, "q-admin", Role.PROVIDER_ADMIN, STRANGER),
                "anonymous": "",
            }
            secret = "s3cret-" + secrets.token_hex(8)
            spec = {
                "name": "victim",
                "resources": {"accelerator": {"model": "T4", "count": 1}},
                "run": "echo hi",
                "env": {"API_KEY": secret},
            }
            r = client.post(
                "/api/v1/jobs",
                json={"spec": spec, "cluster": CLUSTER},
                headers=bearer(tokens["a-member"]),
            )
            assert r.status_code == 201, r.text
            job_a = r.json()["id"]
            run_scheduling_cycle(platform)  # placed on HOST's cluster: HOST may see it
            # A's model service (no replica): its name must reach no one else, /metrics too.
            service = "name: victim-chat\nresources: {cpus: 1}\nrun: server --port $PORT\n"
            service += "replicas: {min: 0, max: 1}\n"
            r = client.post(
                "/api/v1/services", json={"spec_yaml": service}, headers=bearer(tokens["a-member"])
            )
            assert r.status_code == 201, r.text
            w = World(client, platform, tokens, {}, secret, job_a, "")
            body = sample_bodies(w)[("POST", "/api/v1/contracts")]
            r = client.post("/api/v1/contracts", json=body, headers=bearer(op))
            assert r.status_code == 201, r.text
            w.contract_a = r.json()["contract_id"]
            r = client.post(
                "/api/v1/purchases",
                json=sample_bodies(w)[("POST", "/api/v1/purchases")],
                headers=bearer(op),
            )
            assert r.status_code == 201, r.text
            a_tokens = client.get("/api/v1/tokens", headers=bearer(tokens["a-admin"])).json()
            w.ids = {
                "job_id": job_a,
                "tenant": VICTIM,
                "contract_id": w.contract_a,
                "purchase_id": r.json()["purchase_id"],
                "token_id": next(t["id"] for t in a_tokens if t["user"] == "a-reader"),
            }
            yield w
    finally:
        platform.close()


def routes(w: World) -> list[tuple[str, str, Audience]]:
    """Every route of the app; checked against the OpenAPI document so none is missed."""
    found = audiences(w.client.app)  # type: ignore[arg-type]
    documented = {
        (m.upper(), path)
        for path, ops in w.client.app.openapi()["paths"].items()  # type: ignore[attr-defined]
        for m in ops
        if path.startswith("/api/v1/")
    }
    assert documented <= {(m, p) for m, p, _ in found}
    # Outside /api/v1 and the OpenAPI document: Prometheus' scrape (gateway + control plane).
    return [*found, ("GET", "/metrics", getattr(metrics_route, AUDIENCE))]


def call(w: World, method: str, path: str, actor: str) -> Any:
    url = re.sub(r"\{(\w+)\}", lambda m: w.ids.get(m.group(1), "x"), path)
    headers = bearer(w.tokens[actor]) if w.tokens[actor] else {}
    body = sample_bodies(w).get((method, path), {}) if method not in ("GET", "HEAD") else None
    return w.client.request(method, url, json=body, headers=headers)


OUTSIDERS = ("b-admin", "stranger-admin", "anonymous")  # nothing of A's, ever
SELF_SERVICE = {("POST", "/api/v1/tokens")}  # a write everyone may do for themselves
# What the host of A's job may read of it: the job, and what its capacity earned from it
# (the figures of its settlements, without A's voucher reasons; issue 21).
HOST_READS = {"/api/v1/jobs/{job_id}", "/api/v1/jobs", "/api/v1/jobs/{job_id}/cost"}


def test_isolation_matrix_has_no_leaks(world: World) -> None:
    w = world
    leaks: list[str] = []
    probes = 0
    table = routes(w)
    assert len(table) >= 25  # the matrix covers the whole API, not a sample
    assert ("GET", "/metrics") in {(m, p) for m, p, _ in table}  # Prometheus' scrape too
    for method, path, audience in table:
        for actor in w.tokens:
            if method == "POST" and path.endswith("/revoke") and actor in ("operator", "a-admin"):
                continue  # revoking A's token would lock A out of the rest of the matrix
            probes += 1
            r = call(w, method, path, actor)
            where = f"{actor} {method} {path} -> {r.status_code}"
            text = r.text
            if w.secret in text:
                leaks.append(f"env secret echoed: {where}")
            if r.status_code >= 500:
                leaks.append(f"server error: {where}: {text[:200]}")
            if audience.public:
                continue
            ok = 200 <= r.status_code < 300
            if actor == "anonymous" and r.status_code != 401:
                leaks.append(f"anonymous not refused: {where}")
            if (
                actor != "anonymous"
                and ok
                and audience.roles
                and _role(actor) not in audience.roles
            ):
                leaks.append(f"outside the route's audience: {where}")
            writes = method not in ("GET", "HEAD") and audience.scope is not Scope.READ
            if actor == "a-readonly" and writes and ok:
                leaks.append(f"read-only token wrote: {where}")
            if actor in OUTSIDERS and ok:
                if (
                    w.job_a in text
                    or w.contract_a in text
                    or VICTIM in text
                    or "victim-chat" in text
                ):
                    leaks.append(f"A's data shown to an outsider: {where}: {text[:200]}")
                if method != "GET" and (method, path) not in SELF_SERVICE:
                    leaks.append(f"outsider changed something: {where}")
            if actor == "host-admin" and ok:
                if path not in HOST_READS and (w.job_a in text or VICTIM in text):
                    leaks.append(f"A's data shown to the host beyond its jobs: {where}")
                if "{job_id}" in path and path not in HOST_READS:
                    leaks.append(f"the host reached A's job beyond reading it: {where}")
                if path == "/api/v1/jobs/{job_id}/cost" and any(
                    line["explanation"] for line in r.json()["lines"]
                ):
                    leaks.append(f"A's voucher reasons shown to the host: {where}")
                if method != "GET" and (method, path) not in SELF_SERVICE:
                    leaks.append(f"the host changed something: {where}")
            if actor == "operator" and r.status_code in (401, 403):
                leaks.append(f"the operator was refused: {where}")
    revokes = sum(m == "POST" and p.endswith("/revoke") for m, p, _ in table)
    assert probes >= len(table) * len(w.tokens) - 2 * revokes  # the two skips per revoke route
    assert leaks == []


def _role(actor: str) -> Role:
    return {
        "operator": Role.OPERATOR,
        "a-member": Role.TENANT_MEMBER,
        "a-admin": Role.TENANT_ADMIN,
        "a-readonly": Role.TENANT_MEMBER,
        "b-admin": Role.TENANT_ADMIN,
        "host-admin": Role.PROVIDER_ADMIN,
        "stranger-admin": Role.PROVIDER_ADMIN,
    }[actor]


def test_each_party_sees_its_own(world: World) -> None:
    w = world

    def jobs(actor: str) -> set[str]:
        r = w.client.get("/api/v1/jobs", headers=bearer(w.tokens[actor]))
        assert r.status_code == 200, r.text
        return {j["id"] for j in r.json()["jobs"]}

    assert w.job_a in jobs("a-member")
    assert w.job_a in jobs("host-admin")  # placed on its cluster
    assert w.job_a in jobs("operator")
    assert w.job_a not in jobs("b-admin")
    assert w.job_a not in jobs("stranger-admin")
    seen = w.client.get(f"/api/v1/jobs/{w.job_a}", headers=bearer(w.tokens["host-admin"]))
    assert seen.status_code == 200
    assert seen.json()["spec"]["env"] == {"API_KEY": "***"}
    logs = w.client.get(f"/api/v1/jobs/{w.job_a}/logs", headers=bearer(w.tokens["host-admin"]))
    assert logs.status_code == 403
    fleet = w.client.get("/api/v1/fleet", headers=bearer(w.tokens["host-admin"])).json()
    assert {c["provider"] for c in fleet["clusters"]} == {HOST}
    # Inventory read from the engines: the operator's whole fleet, a provider's own clusters.
    every = {c.name for x in w.platform.fleet.providers for c in x.clusters}
    hosts = {c.name for x in w.platform.fleet.providers if x.name == HOST for c in x.clusters}

    def inventory(actor: str) -> set[str]:
        r = w.client.get("/api/v1/inventory", headers=bearer(w.tokens[actor]))
        assert r.status_code == 200, r.text
        return {x["cluster"] for x in r.json()}

    assert inventory("operator") == every
    assert inventory("host-admin") == hosts
    assert CLUSTER in hosts
    assert CLUSTER not in inventory("stranger-admin")
    for tenant in ("a-member", "a-admin", "b-admin"):
        refused = w.client.get("/api/v1/inventory", headers=bearer(w.tokens[tenant]))
        assert refused.status_code == 403
    bill = w.client.get(f"/api/v1/bills/{VICTIM}", headers=bearer(w.tokens["b-admin"]))
    assert bill.status_code == 404
    own = w.client.post(
        "/api/v1/jobs",
        json={"spec": {"name": "mine", "run": "true"}},
        headers=bearer(w.tokens["b-admin"]),
    )
    assert own.status_code == 201, own.text
    assert own.json()["tenant"] == OTHER

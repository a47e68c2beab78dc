"""Tenants kept in the database (issue 21): the operator adds one through the API with its
eligibility attributes and it is billed and checked at once, on each database, without a
restart; the tenants file only seeds them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from suanli.api.app import create_app
from suanli.domain.access import Role
from suanli.service.deps import Platform
from tests.access import bearer, signed_in, token_for
from tests.integration.fixed_platform import open_test_platform

COMPUTE = "beijing-etown-compute-2024"
ETOWN = {
    "registered_zone": "yizhuang-new-town",
    "independent_legal_person": True,
    "no_major_penalty_3y": True,
    "no_criminal_record_3y": True,
    "not_on_dishonesty_list": True,
}


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, Platform]]:
    platform = open_test_platform(tmp_path, database_url)
    try:
        with TestClient(create_app(platform, run_loop=False)) as client:
            yield signed_in(client, platform), platform
    finally:
        platform.close()


def test_a_new_tenant_is_billed_and_checked_at_once(
    api: tuple[TestClient, Platform], tmp_path: Path, database_url: str
) -> None:
    client, _ = api
    r = client.post(
        "/api/v1/tenants",
        json={"name": "acme", "display_name": "亦庄阿克米 (Acme)", "attributes": ETOWN},
    )
    assert r.status_code == 201, r.text
    assert r.json() == {"name": "acme", "display_name": "亦庄阿克米 (Acme)", "attributes": ETOWN}
    assert "acme" in {t["name"] for t in client.get("/api/v1/tenants").json()}
    assert client.get("/api/v1/tenants/acme").json()["attributes"] == ETOWN
    assert client.get("/api/v1/bills/acme").status_code == 200
    standing = client.get("/api/v1/vouchers/acme").json()["programmes"]
    assert next(x for x in standing if x["programme"] == COMPUTE)["eligible"] is True
    orgs = {o["name"]: o["kind"] for o in client.get("/api/v1/organisations").json()}
    assert orgs["acme"] == "tenant"
    # A job for it is accepted straight away (no restart), and billed to it.
    job = client.post(
        "/api/v1/jobs", json={"spec": {"name": "t", "run": "true"}, "tenant": "acme"}
    )
    assert job.status_code == 201, job.text
    # Another server on the same database sees it too (every read asks the database).
    again = open_test_platform(tmp_path / "second", database_url)
    try:
        assert again.billing is not None
        found = again.billing.tenants.get("acme")
        assert found is not None
        assert dict(found.attributes) == ETOWN
    finally:
        again.close()


def test_org_add_for_a_new_tenant_name_creates_the_tenant(
    api: tuple[TestClient, Platform],
) -> None:
    """What `suanli org add acme --kind tenant` asks: once "not a tenant on this platform"."""
    client, _ = api
    r = client.post("/api/v1/organisations", json={"name": "acme", "kind": "tenant"})
    assert r.status_code == 201, r.text
    tenant = client.get("/api/v1/tenants/acme").json()
    assert (tenant["display_name"], tenant["attributes"]) == ("acme", {})
    standing = client.get("/api/v1/vouchers/acme").json()["programmes"]
    compute = next(x for x in standing if x["programme"] == COMPUTE)
    assert compute["eligible"] is False
    assert "registered zone" in compute["why_not"]  # said in words, not registered_zone
    # a member of it can be added and signs in to its (empty) jobs
    r = client.post(
        "/api/v1/users", json={"name": "acme-dev", "organisation": "acme", "role": "tenant_member"}
    )
    assert r.status_code == 201, r.text


def test_a_taken_name_or_bad_attributes_are_refused_with_the_field(
    api: tuple[TestClient, Platform],
) -> None:
    client, _ = api
    taken = client.post("/api/v1/tenants", json={"name": "demo"})
    assert taken.status_code == 422
    assert taken.json()["error"]["errors"][0]["field"] == "name"
    zh = client.post(
        "/api/v1/tenants", json={"name": "demo"}, headers={"Accept-Language": "zh-CN"}
    )
    assert "已存在" in zh.json()["error"]["errors"][0]["message"]
    for body, field in (
        ({"name": "Bad Name"}, "name"),
        ({"name": "ok", "attributes": {"Bad Key": "x"}}, "attributes"),
        ({"name": "ok", "attributes": {"zone": "x" * 101}}, "attributes"),
        ({"name": "ok", "attributes": {"zone": 3}}, "attributes"),
        ({"name": "ok", "display_name": "x" * 201}, "display_name"),
        ({"name": "ok", "extra": 1}, "extra"),
    ):
        r = client.post("/api/v1/tenants", json=body)
        assert r.status_code == 422, (body, r.text)
        assert any(field in e["field"] for e in r.json()["error"]["errors"]), r.text
    assert "ok" not in {t["name"] for t in client.get("/api/v1/tenants").json()}


def test_only_the_operator_adds_tenants_and_others_see_only_their_own(
    api: tuple[TestClient, Platform],
) -> None:
    client, platform = api
    admin = bearer(token_for(platform, "demo-admin", Role.TENANT_ADMIN, "demo"))
    host = bearer(token_for(platform, "host", Role.PROVIDER_ADMIN, "tj-cloud"))
    for who in (admin, host):
        assert client.post("/api/v1/tenants", json={"name": "x1"}, headers=who).status_code == 403
    assert client.get("/api/v1/tenants/demo", headers=admin).status_code == 200
    assert client.get("/api/v1/tenants/etown-robotics", headers=admin).status_code == 404
    assert client.get("/api/v1/tenants/nobody", headers=admin).status_code == 404
    assert client.get("/api/v1/tenants/demo", headers=host).status_code == 403


def test_the_file_seeds_and_never_overwrites(tmp_path: Path, database_url: str) -> None:
    first = open_test_platform(tmp_path, database_url)
    try:
        with TestClient(create_app(first, run_loop=False)) as client:
            signed_in(client, first)
            r = client.post("/api/v1/tenants", json={"name": "acme", "attributes": ETOWN})
            assert r.status_code == 201
    finally:
        first.close()
    again = open_test_platform(tmp_path, database_url)  # a restart: the file seeds again
    try:
        assert again.billing is not None
        names = [t.name for t in again.billing.tenants.all()]
        assert names == sorted(names)
        assert {"acme", "demo", "etown-robotics"} <= set(names)
        demo = again.billing.tenants.get("demo")
        assert demo is not None
        assert demo.terms is not None
        acme = again.billing.tenants.get("acme")
        assert acme is not None
        assert acme.terms is None
    finally:
        again.close()

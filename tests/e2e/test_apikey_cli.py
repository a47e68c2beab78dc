"""API keys against the real server: made and revoked with the CLI, used at its gateway."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import wait_until
from tests.e2e.server import Server, kill_leftover_runs

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("apikeys") / "data"
    s = Server(data_dir)
    try:
        s.start()
        yield s
    finally:
        s.stop()
        kill_leftover_runs(data_dir)


def test_a_key_made_with_the_cli_calls_the_gateway_until_it_is_revoked(server: Server) -> None:
    assert server.cli("org", "add", "acme", "--kind", "tenant").returncode == 0
    made = server.cli("apikey", "create", "ci", "--tenant", "acme", "--rate", "5", "--json")
    assert made.returncode == 0, made.stderr
    issued = json.loads(made.stdout)
    assert issued["info"]["burst"] == 10
    assert issued["info"]["services"] == []
    listed = json.loads(server.cli("apikey", "list", "--json").stdout)
    assert [k["id"] for k in listed] == [issued["info"]["id"]]
    assert issued["key"][18:] not in json.dumps(listed)  # the secret shows once
    key = {"Authorization": f"Bearer {issued['key']}"}
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        models = client.get("/v1/models", headers=key)
        assert (models.status_code, models.json()) == (200, {"object": "list", "data": []})
        revoked = server.cli("apikey", "revoke", issued["info"]["id"])
        assert revoked.returncode == 0, revoked.stderr
        wait_until(lambda: client.get("/v1/models", headers=key).status_code == 401, timeout=10)
        again = server.cli("apikey", "revoke", "000000000000")
    assert again.returncode == 2


def test_the_demo_tenant_of_the_tenants_file_gets_a_key(server: Server) -> None:
    # demo comes from the tenants file (the tenant directory), not from `org add`: the
    # quick start's own tenant, whose jobs and services already exist.
    made = server.cli("apikey", "create", "notebook", "--tenant", "demo", "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["info"]["tenant"] == "demo"


def test_bad_key_requests_name_the_field(server: Server) -> None:
    no_tenant = server.cli("apikey", "create", "ci")  # the operator belongs to no tenant
    assert no_tenant.returncode == 2
    assert "--tenant" in no_tenant.stderr
    unknown = server.cli("apikey", "create", "ci", "--tenant", "nobody")
    assert unknown.returncode == 2
    assert "nobody" in unknown.stderr
    with server.http() as client:
        bad = client.post(
            "/api/v1/apikeys", json={"name": "x", "tenant": "acme", "services": ["A B"]}
        )
    assert bad.status_code == 422
    assert "services" in bad.text

"""The CLI and tokens against the real server: no steps on the same machine, login elsewhere."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import Server, kill_leftover_runs

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("access") / "data"
    s = Server(data_dir)
    try:
        s.start()
        yield s
    finally:
        s.stop()
        kill_leftover_runs(data_dir)


def test_first_start_makes_a_private_operator_token_the_cli_uses(server: Server) -> None:
    token_file = server.data_dir / "operator.token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    me = server.cli("whoami", "--json")
    assert me.returncode == 0, me.stderr
    assert json.loads(me.stdout)["role"] == "operator"


def test_tenant_user_token_login_and_revoke(server: Server, tmp_path: Path) -> None:
    assert server.cli("org", "add", "haidian-vision", "--kind", "tenant").returncode == 0
    added = server.cli("user", "add", "li", "--org", "haidian-vision", "--role", "tenant_member")
    assert added.returncode == 0, added.stderr
    made = server.cli("token", "create", "--user", "li", "--json")
    assert made.returncode == 0, made.stderr
    issued = json.loads(made.stdout)
    creds = tmp_path / "creds.json"
    away = {"SUANLI_DATA_DIR": str(tmp_path / "elsewhere"), "SUANLI_CREDENTIALS": str(creds)}
    anonymous = server.cli("status", env=away)
    assert anonymous.returncode == 2
    assert "token" in anonymous.stderr
    login = server.cli("login", "--token", issued["token"], env=away)
    assert login.returncode == 0, login.stderr
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    me = server.cli("whoami", "--json", env=away)
    assert json.loads(me.stdout)["user"] == "li"
    assert server.cli("audit", env=away).returncode == 2  # the operator's, not a tenant's
    revoked = server.cli("token", "revoke", issued["info"]["id"])
    assert revoked.returncode == 0, revoked.stderr
    assert server.cli("whoami", env=away).returncode == 2
    log = json.loads(server.cli("audit", "--json").stdout)
    assert any(e["action"] == "POST /api/v1/tokens/{token_id}/revoke" for e in log)

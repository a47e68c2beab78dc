"""Model services end to end: the real `suanli up` server, the real CLI, the local engine
running a real HTTP server as each replica (Python's http.server on its $PORT)."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import wait_until
from tests.e2e.server import Server, kill_leftover_runs

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
ECHO = REPO / "examples" / "services" / "echo-http.yaml"
TIMEOUT_S = 90.0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "data")
    try:
        running.start()
        yield running
    finally:
        running.stop()
        kill_leftover_runs(tmp_path / "data")


def status(server: Server, name: str = "echo") -> dict[str, Any]:
    done = server.cli("serve", "status", name, "--json")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def ready(s: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in s["replicas"] if r["status"] == "ready"]


def answers(url: str) -> bool:
    try:
        with httpx.Client(trust_env=False, timeout=2) as client:
            return client.get(url + "/").status_code == 200
    except httpx.HTTPError:
        return False


def wait_ready(server: Server, count: int, revision: int) -> dict[str, Any]:
    def enough() -> dict[str, Any] | None:
        s = status(server)
        found = [r for r in ready(s) if r["revision"] == revision]
        live = [r for r in s["replicas"] if r["status"] in ("starting", "ready")]
        return s if len(found) == count and len(live) == count else None

    return wait_until(enough, timeout=TIMEOUT_S)


def _group_of(data_dir: Path, job_id: str) -> int:
    [started] = data_dir.glob(f"runs/*/suanli-{job_id}-a*/started.json")
    return int(json.loads(started.read_text())["group"])


def test_an_invalid_service_spec_exits_2_naming_the_field(server: Server, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: echo\nrun: serve $PORT\nreplicas: {min: 3, max: 1}\n")
    done = server.cli("serve", "up", str(bad))
    assert done.returncode == 2
    assert "replicas.max" in done.stderr
    assert server.cli("serve", "list", "--json").stdout.count('"name"') == 0


def test_a_real_service_deploys_scales_rolls_out_survives_a_kill_and_is_deleted(
    server: Server, tmp_path: Path
) -> None:
    done = server.cli("serve", "up", str(ECHO), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["created"]
    [first] = ready(wait_ready(server, 1, 1))
    assert first["url"].startswith("http://127.0.0.1:")
    assert answers(first["url"])  # the engine's PORT is where the replica serves

    assert server.cli("serve", "scale", "echo", "2").returncode == 0
    s = wait_ready(server, 2, 1)

    # A rollout: the ready count never drops below 2 while revision 2 replaces revision 1.
    v2 = tmp_path / "echo-v2.yaml"
    v2.write_text(ECHO.read_text().replace("  max: 3", "  max: 3\nenv: {VERSION: '2'}", 1))
    done = server.cli("serve", "rollout", str(v2), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["revision"] == 2
    seen: list[int] = []

    def rolled() -> bool:
        now = status(server)
        seen.append(sum(answers(r["url"]) for r in ready(now)))
        fresh = [r for r in ready(now) if r["revision"] == 2]
        return len(fresh) == 2 and len(ready(now)) == 2

    wait_until(rolled, timeout=TIMEOUT_S)
    assert min(seen) >= 2, seen
    old_urls = [r["url"] for r in s["replicas"] if r["status"] == "ready"]
    wait_until(lambda: not any(map(answers, old_urls)), timeout=TIMEOUT_S)

    # kill -9 one replica's server: it is replaced.
    victim = ready(status(server))[0]
    os.killpg(_group_of(server.data_dir, victim["job_id"]), signal.SIGKILL)

    def replaced() -> bool:
        now = status(server)
        ids = {r["id"] for r in ready(now)}
        return len(ids) == 2 and victim["id"] not in ids

    wait_until(replaced, timeout=TIMEOUT_S)
    gone = [r for r in status(server)["replicas"] if r["id"] == victim["id"]]
    assert gone[0]["status"] == "failed"

    logs = server.cli("serve", "logs", "echo")
    assert logs.returncode == 0
    assert "GET / HTTP" in logs.stdout  # the probes' requests, as the server logged them

    back = server.cli("serve", "rollback", "echo", "--json")
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout)["revision"] == 1
    wait_ready(server, 2, 1)

    urls = [r["url"] for r in ready(status(server))]
    assert server.cli("serve", "delete", "echo").returncode == 0
    wait_until(lambda: server.cli("serve", "list", "--json").stdout.count('"name"') == 0)
    wait_until(lambda: not any(map(answers, urls)), timeout=TIMEOUT_S)

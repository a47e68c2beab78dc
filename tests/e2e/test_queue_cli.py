"""Fair queues end to end: `suanli up` with two tenants' quotas and the real local engine.

One tenant floods the fleet (borrowing the other's idle quota); the other submits and gets
its quota back by preemption of the borrower; the preempted job runs again and succeeds,
billed once per attempt; its history shows the preemption; `suanli queue` says who waits
and why, in English and Chinese.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_until
from tests.e2e.server import Server, serve

pytestmark = pytest.mark.e2e

FLEET = """
providers:
  - name: local
    clusters:
      - name: lab
        region: beijing
        engine: {type: local}
        pools:
          - {name: t4, accelerator: T4, nodes: 1, accelerators_per_node: 2,
             cpus_per_node: 8, memory_gb_per_node: 32, price_per_accelerator_hour: "3600.00"}
"""
TENANTS = """
format: suanli/tenants/v1
tenants:
  - {name: alpha, quota: {T4: 1}, cohort: lab, borrow: true}
  - {name: beta, quota: {T4: 1}, cohort: lab, borrow: true}
queue: {grace_s: 5, min_run_s: 600}
"""
SPEC = """
name: {name}
resources: {{accelerator: {{model: T4, count: 1}}}}
run: |
  echo "attempt $SUANLI_ATTEMPT of {name}"
  while [ ! -e '{gate}' ]; do sleep 0.1; done
time_limit_hours: 0.1
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    yield from serve(tmp_path, FLEET, TENANTS)


def submit(server: Server, tmp_path: Path, name: str, tenant: str) -> str:
    """Over HTTP as the operator, for the tenant (each CLI start costs seconds here)."""
    spec = SPEC.format(name=name, gate=tmp_path / f"gate-{name}")
    with server.http() as client:
        r = client.post("/api/v1/jobs", json={"spec_yaml": spec, "tenant": tenant})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def queue(server: Server, *args: str) -> str:
    done = server.cli("queue", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_owner_reclaims_its_quota_and_the_borrower_reruns(
    server: Server, exchange: Path
) -> None:
    tmp_path = exchange  # the gates: jobs see only their work dir and the shared mounts
    a1 = submit(server, tmp_path, "a1", "alpha")
    server.wait_for(a1, "running")
    a2 = submit(server, tmp_path, "a2", "alpha")
    server.wait_for(a2, "running")

    b1 = submit(server, tmp_path, "b1", "beta")
    server.wait_for(b1, "running")
    a2_now = server.job(a2)
    assert a2_now["status"] == "queued"
    assert a2_now["attempt"] == 1
    shown = queue(server)
    assert a2 in shown
    assert "cohort lab has no idle quota" in shown
    assert "alpha" in shown
    assert "beta" in shown
    zh_table = server.cli("--lang", "zh", "queue")
    assert zh_table.returncode == 0, zh_table.stderr
    assert "资源组 lab 没有可借出的空闲配额" in zh_table.stdout

    history = server.cli("status", a2)
    assert history.returncode == 0, history.stderr
    assert "borrowed quota that its owner needs back" in history.stdout
    assert "stopped for a preemption" in history.stdout

    for name in ("a1", "a2", "b1"):
        (tmp_path / f"gate-{name}").touch()
    done = server.wait_for(a2, "succeeded")
    assert done["attempt"] == 2
    assert done["preemptions"] == 1
    for job_id in (a1, b1):
        server.wait_for(job_id, "succeeded")

    def billed() -> list[dict[str, Any]] | None:
        with server.http() as client:
            lines = client.get(f"/api/v1/jobs/{a2}/cost").json()["lines"]
        return lines if len(lines) == 2 else None

    lines = wait_until(billed, timeout=30)
    assert sorted(line["attempt"] for line in lines) == [1, 2]
    with server.http() as client:
        logs = client.get(f"/api/v1/jobs/{a2}/logs").text
    assert "attempt 2 of a2" in logs

"""`suanli up` with a fleet whose only cluster is a real Ray head: run, cancel, crash, re-adopt."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from suanli.domain.clock import SystemClock
from suanli.engines.base import RunState
from suanli.engines.ray import RayEngine
from tests.builders import HAPPY_PATH
from tests.conftest import wait_until
from tests.e2e.server import Server
from tests.rayhead import require_ray

pytestmark = [pytest.mark.e2e, pytest.mark.ray]

FLEET = """\
providers:
  - name: ai-cloud
    display_name: An AI cloud on Ray
    clusters:
      - name: ray-1
        region: guizhou
        engine: {{type: ray, endpoint: "{url}"}}
        pools:
          - {{name: h100, accelerator: H100, nodes: 1, accelerators_per_node: 8,
             cpus_per_node: 2, memory_gb_per_node: 16, price_per_accelerator_hour: "15.00"}}
"""


@pytest.fixture
def ray_url() -> str:
    return require_ray()


@pytest.fixture
def engine(ray_url: str) -> Iterator[RayEngine]:
    """suanli's adapter, used here to read Ray's own view of the jobs."""
    ray = RayEngine(ray_url, SystemClock())
    yield ray
    ray.close()


@pytest.fixture
def server(tmp_path: Path, ray_url: str, engine: RayEngine) -> Iterator[Server]:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(FLEET.format(url=ray_url))
    running = Server(tmp_path / "data", fleet)
    try:
        running.start()
        yield running
    finally:
        left = _ray_jobs(engine, running) if running.proc is not None else []
        running.stop()
        for job in left:  # stop what the test left going on Ray
            if job["status"] in ("PENDING", "RUNNING"):
                engine.cancel(job["submission_id"])


def _ray_jobs(engine: RayEngine, server: Server) -> list[dict[str, Any]]:
    """Ray's own record of the jobs this server submitted."""
    with server.http() as client:
        ours = {j["id"] for j in client.get("/api/v1/jobs", params={"limit": 500}).json()["jobs"]}
    return [
        j for j in engine.list_jobs() if (j.get("metadata") or {}).get("suanli_job_id") in ours
    ]


def _spec(path: Path, run: str) -> Path:
    body = "\n".join("  " + line for line in run.splitlines())
    path.write_text(
        "name: on-ray\nresources: {accelerator: {model: H100, count: 2}, cpus: 1, memory_gb: 1}\n"
        f"run: |\n{body}\n"
    )
    return path


def _gated(tmp_path: Path) -> tuple[Path, Path, Path]:
    marker, gate = tmp_path / "marker", tmp_path / "gate"
    run = (
        f"echo \"attempt $SUANLI_ATTEMPT\" >> '{marker}'\n"
        f"for i in $(seq 1 600); do [ -e '{gate}' ] && break; sleep 0.1; done\n"
        "echo finished"
    )
    return _spec(tmp_path / "gated.yaml", run), marker, gate


def _transitions(job: dict[str, Any]) -> list[str]:
    return [e["to_status"] for e in job["history"] if e["from_status"] != e["to_status"]]


class TestJobsOnRay:
    def test_a_job_runs_on_ray_and_its_logs_come_back(
        self, server: Server, engine: RayEngine
    ) -> None:
        spec = _spec(Path(server.data_dir.parent) / "hello.yaml", 'echo "hi from $SUANLI_JOB_ID"')
        job_id = server.submit(spec)["id"]

        job = server.wait_for(job_id, "succeeded")

        assert job["placement"]["cluster"] == "ray-1"
        assert job["exit_code"] == 0
        assert _transitions(job) == HAPPY_PATH
        logs = server.cli("logs", job_id)
        assert logs.returncode == 0, logs.stderr
        assert f"hi from {job_id}" in logs.stdout
        assert engine.status(job["engine_key"]).state is RunState.SUCCEEDED

    def test_cancel_stops_the_ray_job(
        self, server: Server, tmp_path: Path, engine: RayEngine
    ) -> None:
        spec, marker, _ = _gated(tmp_path)
        job_id = server.submit(spec)["id"]
        server.wait_for(job_id, "running")
        wait_until(marker.exists)

        done = server.cli("cancel", job_id)

        assert done.returncode == 0, done.stderr
        job = server.wait_for(job_id, "cancelled")
        assert wait_until(
            lambda: engine.status(job["engine_key"]).state is RunState.CANCELLED, timeout=60
        )


class TestControlPlaneCrash:
    def test_a_restarted_server_readopts_the_ray_job_and_runs_it_once(
        self, server: Server, tmp_path: Path, engine: RayEngine
    ) -> None:
        spec, marker, gate = _gated(tmp_path)
        job_id = server.submit(spec)["id"]
        server.wait_for(job_id, "running")
        wait_until(marker.exists)

        server.kill9()
        server.start()  # same data directory, new process
        reasons = [e["reason"]["code"] for e in server.job(job_id)["history"]]
        assert "reason_adopted" in reasons
        gate.touch()

        job = server.wait_for(job_id, "succeeded")
        assert marker.read_text().splitlines() == ["attempt 1"]
        assert job["attempt"] == 1
        ray_jobs = _ray_jobs(engine, server)
        assert [(j["submission_id"], j["status"]) for j in ray_jobs] == [
            (job["engine_key"], "SUCCEEDED")
        ]
        shown = json.loads(server.cli("status", job_id, "--json").stdout)
        assert shown["status"] == "succeeded"

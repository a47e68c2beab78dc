"""The real `suanli up` server driving the real test Slurm, through the real CLI."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_until
from tests.e2e.server import Server, kill_leftover_runs
from tests.slurm import SlurmCluster, fleet_yaml, slurm_cluster

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cluster() -> SlurmCluster:
    return slurm_cluster()


@pytest.fixture
def server(tmp_path: Path, cluster: SlurmCluster) -> Iterator[Server]:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(fleet_yaml(cluster))
    running = Server(tmp_path / "data", fleet)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        for key in _keys(tmp_path / "data"):
            cluster.cli("scancel", "--name", key)
        kill_leftover_runs(tmp_path / "data")


def _keys(data_dir: Path) -> list[str]:
    root = data_dir / "runs" / "slurm-bj"
    return [d.name for d in root.iterdir()] if root.exists() else []


def _gated(path: Path, gate: Path, marker: Path, nodes: int = 1) -> Path:
    """A job that records each start per node rank, then waits for the gate file."""
    path.write_text(
        f"""name: gated
resources: {{accelerator: {{model: H100, count: 1}}, nodes: {nodes}}}
run: |
  echo "attempt $SUANLI_ATTEMPT on $SUANLI_CLUSTER" >> {marker}-$SUANLI_NODE_RANK
  echo started
  while [ ! -e {gate} ]; do sleep 0.5; done
  echo finished
"""
    )
    return path


def _codes(job: dict[str, Any]) -> list[str]:
    return [e["reason"]["code"] for e in job["history"]]


def test_jobs_run_and_cancel_on_slurm_through_the_server(
    server: Server, cluster: SlurmCluster, tmp_path: Path
) -> None:
    gate, marker = tmp_path / "gate", tmp_path / "marker"
    job_id = server.submit(_gated(tmp_path / "a.yaml", gate, marker))["id"]
    job = server.wait_for(job_id, "running")
    assert job["placement"]["cluster"] == "slurm-bj"
    wait_until(lambda: "started" in server.cli("logs", job_id).stdout)
    gate.touch()
    job = server.wait_for(job_id, "succeeded")
    assert "finished" in server.cli("logs", job_id).stdout
    assert [s for _, s in cluster.jobs_named(job["engine_key"])] == ["COMPLETED"]

    gate.unlink()
    other = server.submit(_gated(tmp_path / "b.yaml", gate, tmp_path / "other"))["id"]
    server.wait_for(other, "running")
    assert server.cli("cancel", other).returncode == 0
    job = server.wait_for(other, "cancelled")
    wait_until(lambda: [s for _, s in cluster.jobs_named(job["engine_key"])] == ["CANCELLED"])


def test_a_killed_server_readopts_its_slurm_jobs_and_starts_none_twice(
    server: Server, cluster: SlurmCluster, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    specs = [
        _gated(tmp_path / f"job{i}.yaml", gate, tmp_path / f"marker{i}", nodes=1 + i % 2)
        for i in range(3)
    ]
    ids = [server.submit(spec)["id"] for spec in specs]
    for job_id in ids:
        server.wait_for(job_id, "running")

    server.kill9()
    server.start()  # same data directory, new process
    for job_id in ids:
        assert "reason_adopted" in _codes(server.job(job_id))
    gate.touch()
    for i, job_id in enumerate(ids):
        job = server.wait_for(job_id, "succeeded")
        assert job["attempt"] == 1
        # Slurm's own view: one job by this key, ever.
        assert [s for _, s in cluster.jobs_named(job["engine_key"])] == ["COMPLETED"]
        for rank in range(1 + i % 2):
            started = (tmp_path / f"marker{i}-{rank}").read_text().splitlines()
            assert started == ["attempt 1 on slurm-bj"]
    assert server.jobs_total() == 3


def test_clusters_shows_what_each_engine_reports(server: Server, cluster: SlurmCluster) -> None:
    done = server.cli("clusters", "--json")
    assert done.returncode == 0, done.stderr
    found = {x["cluster"]: x for x in json.loads(done.stdout)}

    slurm = found["slurm-bj"]
    assert slurm["state"] == "read"
    assert (slurm["provider"], slurm["engine"]) == ("hpc-center", "slurm")
    assert len(slurm["nodes"]) == cluster.nodes  # read from sinfo, not the fleet file
    kind = os.environ.get("SUANLI_TEST_SLURM_GPU_TYPE", "h100")
    assert all(n["accelerators"] == {kind: cluster.gpus_per_node} for n in slurm["nodes"])
    assert all(0 <= n["free_cpus"] <= n["cpus"] for n in slurm["nodes"])
    local = found["fallback-tj"]  # the local engine: its pools as emulated nodes
    assert local["state"] == "read"
    assert local["nodes"]
    assert all(n["available"] for n in local["nodes"])

    text = server.cli("clusters", "--nodes", env={"SUANLI_LANG": "zh"})
    assert text.returncode == 0, text.stderr
    assert "集群" in text.stdout
    assert "slurm-bj" in text.stdout
    assert slurm["nodes"][0]["name"] in text.stdout

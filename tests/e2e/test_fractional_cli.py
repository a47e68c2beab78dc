"""Two half-T4 jobs share one accelerator on the local engine and each sees its share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import Server, serve

pytestmark = pytest.mark.e2e

# One node with one T4: two halves fit together, a third half must wait.
FLEET = """
providers:
  - name: local
    clusters:
      - name: lab
        region: beijing
        engine: {type: local}
        pools:
          - {name: t4, accelerator: T4, nodes: 1, accelerators_per_node: 1,
             cpus_per_node: 8, memory_gb_per_node: 32, price_per_accelerator_hour: "1.60"}
"""
SPEC = """
name: half-{i}
resources: {{accelerator: {{model: T4, count: 0.5}}}}
run: |
  echo "share=$SUANLI_ACCELERATOR_SHARE slots=$SUANLI_SLOTS mem=$SUANLI_ACCELERATOR_MEMORY_MB"
  echo "hami=$CUDA_DEVICE_MEMORY_LIMIT sm=$CUDA_DEVICE_SM_LIMIT"
  while [ ! -e '{gate}' ]; do sleep 0.1; done
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    yield from serve(tmp_path, FLEET)


def test_two_halves_run_together_on_one_t4_and_a_third_waits(
    server: Server, tmp_path: Path, exchange: Path
) -> None:
    gate = exchange / "gate"
    ids = []
    for i in range(3):
        spec = tmp_path / f"half-{i}.yaml"
        spec.write_text(SPEC.format(i=i, gate=gate))
        ids.append(server.submit(spec)["id"])
    first, second = (server.wait_for(j, "running") for j in ids[:2])
    for job in (first, second):
        assert job["placement"]["nodes"] == [{"node": "t4-n0", "slots": [0]}]
    third = server.job(ids[2])
    assert third["status"] == "queued"
    assert third["decision"]["summary"]["code"] == "waiting_for_capacity"

    gate.touch()
    for job_id in ids:
        server.wait_for(job_id, "succeeded")
    logs = server.cli("logs", ids[0])
    assert logs.returncode == 0, logs.stderr
    assert "share=0.5 slots=0 mem=8192" in logs.stdout
    assert "hami=8192m sm=50" in logs.stdout
    explained = server.cli("explain", ids[0])
    assert explained.returncode == 0, explained.stderr
    assert "lab/t4" in explained.stdout

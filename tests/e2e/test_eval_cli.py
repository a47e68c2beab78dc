"""`suanli eval` end to end: `suanli up` with the real local engine, the suite submitted by
the CLI as ordinary jobs, waited for, and reported in English and Chinese."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import Server, serve
from tests.evalreach import CLOSED, REASON

pytestmark = pytest.mark.e2e
SUITE_TIMEOUT_S = 600.0  # conformance with PyTorch on a loaded two-core host

FLEET = """
providers:
  - name: local
    clusters:
      - name: lab
        region: beijing
        engine: {type: local}
        pools:
          - {name: cpu, nodes: 1, cpus_per_node: 2, memory_gb_per_node: 4,
             price_per_accelerator_hour: "1.00"}
          - {name: t4, accelerator: T4, nodes: 1, accelerators_per_node: 1,
             cpus_per_node: 2, memory_gb_per_node: 4, price_per_accelerator_hour: "2.00"}
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    yield from serve(tmp_path, FLEET)


@pytest.mark.skipif(CLOSED is not None, reason=REASON)
def test_eval_run_waits_for_the_jobs_and_the_report_reads_them(server: Server) -> None:
    done = server.cli(
        "eval", "run", "--suite", "conformance", "--wait", "--json", timeout=SUITE_TIMEOUT_S
    )
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    by_pool = {r["pool"]: r for r in run["records"]}
    assert set(by_pool) == {"cpu", "t4"}
    assert all(r["state"] == "measured" for r in run["records"]), run
    assert by_pool["cpu"]["hardware_is_model"]
    assert by_pool["cpu"]["backend"] == "cpu"
    assert not by_pool["t4"]["hardware_is_model"]  # the local engine's T4 is this CPU
    report = server.cli("eval", "report", "--json")
    assert report.returncode == 0, report.stderr
    matrix = json.loads(report.stdout)["matrix"]
    assert {(m["model"], m["framework"]) for m in matrix} >= {("CPU", "numpy"), ("T4", "numpy")}
    zh = server.cli("--lang", "zh", "eval", "report")
    assert zh.returncode == 0, zh.stderr
    assert "兼容性矩阵" in zh.stdout
    assert "numpy" in zh.stdout
    bad = server.cli("eval", "run", "--pool", "Nope!")
    assert bad.returncode == 2
    assert "pool" in bad.stderr
    unknown = server.cli("eval", "run", "--pool", "gpu")
    assert unknown.returncode == 2
    assert "cpu, t4" in unknown.stderr

"""The simulator on two accelerator models: a trace's arrivals can be squeezed to a chosen
offered load, and the replay runs at that load through the live cycle."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from suanli.cli.sim import app
from suanli.domain.errors import InvalidInput
from suanli.domain.throughput import ThroughputTable
from suanli.sim.load import at_load, offered_load
from suanli.sim.scenario import load_scenario, setup_for
from suanli.sim.traces import Trace, TraceJob

TABLE = ThroughputTable({("resnet@1", "V100"): 4.0, ("resnet@1", "K80"): 1.0})
FLEET = """
format: suanli/sim-scenario/v1
fleet:
  accelerators:
    - model: K80
      name: "NVIDIA Tesla K80 (one GK210)"
      vendor: NVIDIA
      domestic: false
      stack: cuda
      fp16_tflops: {value: 4.37, source: "datasheet"}
      memory_gb: {value: 12, source: "datasheet"}
  providers:
    - name: lab
      clusters:
        - name: lab
          region: local
          engine: {type: local}
          pools:
            - {name: v100, accelerator: V100, nodes: 1, accelerators_per_node: 1, cpus_per_node: 8, memory_gb_per_node: 64, price_per_accelerator_hour: "8.00"}
            - {name: k80, accelerator: K80, nodes: 1, accelerators_per_node: 1, cpus_per_node: 8, memory_gb_per_node: 64, price_per_accelerator_hour: "2.00"}
queue: {grace_s: 30, min_run_s: 600, backfill: true, aging_s: 14400}
"""


def job(ident: str, at: float, v100_s: float) -> TraceJob:
    return TraceJob(ident, "lab", at, 1, v100_s * 4.0, "resnet@1")


def test_load_squeezes_arrivals_to_the_offered_load_asked(tmp_path: Path) -> None:
    (tmp_path / "fleet.yaml").write_text(FLEET)
    fleet = load_scenario(tmp_path / "fleet.yaml").fleet
    # Each job: 1 accelerator, 1,000 s on a V100, 4,000 s on a K80: 2,500 s on average
    # over the fleet's two accelerators; one every 10,000 s on 2 accelerators: load 0.125.
    jobs = [job(f"j{i}", 5 + 10_000 * i, 1000) for i in range(11)]
    assert offered_load(jobs, fleet, TABLE) == pytest.approx(11 * 2500 / (2 * 100_000))
    squeezed, offered, factor = at_load(jobs, 0.5, fleet, TABLE)
    assert offered_load(squeezed, fleet, TABLE) == pytest.approx(0.5)
    assert factor == pytest.approx(offered / 0.5)
    assert [j.submit for j in squeezed[:3]] == pytest.approx(
        [5, 5 + 10_000 * factor, 5 + 20_000 * factor]
    )
    assert [(j.id, j.work) for j in squeezed] == [(j.id, j.work) for j in jobs]
    with pytest.raises(InvalidInput) as bad:
        at_load(jobs, 0, fleet, TABLE)
    assert bad.value.errors[0].field == "load"
    with pytest.raises(InvalidInput):
        at_load(jobs[:1], 1.0, fleet, TABLE)  # one arrival: no rate to change


def test_cli_replays_at_a_load_and_refuses_a_bad_one(tmp_path: Path) -> None:
    (tmp_path / "fleet.yaml").write_text(FLEET)
    rows = [f"ResNet-18\tcmd\t-n\t1\t{1000 * (i + 1)}\t{3600 * i}\t1" for i in range(4)]
    (tmp_path / "t.trace").write_text("\n".join(rows) + "\n")
    args = ["replay", "--trace", f"gavel:{tmp_path / 't.trace'}"]
    args += ["--fleet", str(tmp_path / "fleet.yaml"), "--json"]
    result = CliRunner().invoke(app, [*args, "--load", "2"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    # No matrix beside the trace: run time = steps; 10,000 accelerator-s over 2 x 10,800 s.
    assert body["load"]["offered"] == pytest.approx(10_000 / 21_600, abs=1e-4)
    assert body["load"]["stretch"] == pytest.approx(10_000 / 21_600 / 2, rel=1e-3)
    assert body["finished"] == 4
    bad = CliRunner().invoke(app, [*args, "--load", "0"])
    assert bad.exit_code == 2
    assert "load" in bad.output
    assert "Traceback" not in bad.output


def test_the_live_replay_runs_work_at_the_placed_models_rate(tmp_path: Path) -> None:
    (tmp_path / "fleet.yaml").write_text(FLEET)
    # "short" (1,000 s on a V100) gets the V100, the model its class runs fastest on;
    # "long" arrives while it runs and gets the K80, where its work takes 4x a V100's.
    trace = Trace([job("short", 0, 1000), job("long", 10, 20_000)], TABLE)
    setup = setup_for(load_scenario(tmp_path / "fleet.yaml"), trace)
    report = setup.replay("default").run(trace.jobs)
    assert report.finished == 2
    assert sorted(report.jcts) == pytest.approx([1000, 80_000], abs=2)
    # Billed per attempt at each pool's price: 1,000 s at 8.00/h and 80,000 s at 2.00/h.
    assert report.cost_yuan == Decimal("2.22") + Decimal("44.44")
    blind = dataclasses.replace(setup, throughput=None).replay("default").run(trace.jobs)
    assert sorted(blind.jcts) == pytest.approx([4000, 80_000], abs=2)  # work as seconds

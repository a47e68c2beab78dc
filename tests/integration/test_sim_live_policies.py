"""`suanli sim replay` replays each `--policy` through the server's own cycle."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from suanli.cli.sim import app

SCENARIO = """\
format: suanli/sim-scenario/v1
description: one accelerator, one tenant
fleet:
  providers:
    - name: lab
      clusters:
        - name: lab
          region: local
          engine: {type: local}
          pools:
            - {name: v100, accelerator: V100, nodes: 1, accelerators_per_node: 1,
               cpus_per_node: 8, memory_gb_per_node: 32, price_per_accelerator_hour: "8.00"}
tenants:
  - {name: vc1, quota: {V100: 1}}
queue: {grace_s: 30, min_run_s: 600}
jobs: {checkpoint: {every_minutes: 10}}
"""
# Without ``jobs.checkpoint`` no trace job checkpoints: none is stopped for a rank.
RESTARTING = SCENARIO.replace("jobs: {checkpoint: {every_minutes: 10}}\n", "")
# A 10-hour job holds the only accelerator; a 10-minute one arrives a minute later.
TRACE = """\
timestamp,duration,num_gpus,gpu_time,cluster
2017-10-02 00:00:00,36000.0,1,36000.0,vc1
2017-10-02 00:01:00,600.0,1,600.0,vc1
"""


def test_live_replay_runs_each_policy_named(tmp_path: Path) -> None:
    (tmp_path / "scenario.yaml").write_text(SCENARIO)
    (tmp_path / "philly.csv").write_text(TRACE)
    args = ["replay", "--trace", f"philly:{tmp_path / 'philly.csv'}"]
    args += ["--fleet", str(tmp_path / "scenario.yaml"), "--no-window", "--json"]
    result = CliRunner().invoke(app, [*args, "--policy", "fifo", "--policy", "las-plain"])
    assert result.exit_code == 0, result.output
    fifo, las = json.loads(result.output)
    assert (fifo["policy"], las["policy"]) == ("fifo", "las-plain")
    assert (fifo["finished"], las["finished"]) == (2, 2)
    assert fifo["preemptions"] == 0
    assert las["preemptions"] >= 1
    assert las["avg_jct_s"] < fifo["avg_jct_s"]


def test_exact_estimates_let_srtf_run_the_short_job_first(tmp_path: Path) -> None:
    (tmp_path / "scenario.yaml").write_text(SCENARIO)
    (tmp_path / "philly.csv").write_text(TRACE)
    args = ["replay", "--trace", f"philly:{tmp_path / 'philly.csv'}", "--policy", "srtf"]
    args += ["--fleet", str(tmp_path / "scenario.yaml"), "--no-window", "--json"]
    blind = json.loads(CliRunner().invoke(app, args).output)
    oracle = json.loads(CliRunner().invoke(app, [*args, "--estimates", "exact"]).output)
    # Knowing run times, srtf stops the 10-hour job for the 10-minute one once the long
    # job's minimum run (600 s) is over; knowing none, every job looks the same length.
    assert oracle["preemptions"] >= 1
    assert blind["preemptions"] == 0
    assert oracle["avg_queue_s"] < blind["avg_queue_s"]


def test_trace_jobs_that_do_not_checkpoint_are_never_stopped_for_a_rank(tmp_path: Path) -> None:
    assert "checkpoint" not in RESTARTING
    (tmp_path / "scenario.yaml").write_text(RESTARTING)
    (tmp_path / "philly.csv").write_text(TRACE)
    args = ["replay", "--trace", f"philly:{tmp_path / 'philly.csv'}"]
    args += ["--fleet", str(tmp_path / "scenario.yaml"), "--no-window", "--json"]
    result = CliRunner().invoke(app, [*args, "--policy", "fifo", "--policy", "las-plain"])
    assert result.exit_code == 0, result.output
    fifo, las = json.loads(result.output)
    assert (fifo["preemptions"], las["preemptions"]) == (0, 0)
    assert las["avg_jct_s"] == fifo["avg_jct_s"]  # the short job waits, nothing is lost


def test_a_bad_checkpoint_interval_in_a_scenario_is_refused_naming_it(tmp_path: Path) -> None:
    (tmp_path / "scenario.yaml").write_text(
        SCENARIO.replace("every_minutes: 10", "every_minutes: 0")
    )
    (tmp_path / "philly.csv").write_text(TRACE)
    args = ["replay", "--trace", f"philly:{tmp_path / 'philly.csv'}", "--no-window"]
    result = CliRunner().invoke(app, [*args, "--fleet", str(tmp_path / "scenario.yaml")])
    assert result.exit_code == 2
    assert "jobs.checkpoint.every_minutes" in result.output
    assert "1 to 10080" in result.output
    assert "Traceback" not in result.output

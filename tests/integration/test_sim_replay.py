"""`suanli sim replay`: slices of the real Philly and Gavel traces through the live cycle.

The live cycle replays ~100 jobs per CPU second: the slices are small (300 jobs)."""

from __future__ import annotations

import itertools
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from suanli.cli.sim import app
from suanli.sim.scenario import load_scenario, repeated, setup_for
from suanli.sim.traces import read_trace

ROOT = Path(__file__).resolve().parents[2]
TRACES = Path(os.environ.get("SUANLI_TRACES", ROOT.parent / "shared" / "traces"))
PHILLY = TRACES / "sia-sosp23" / "traces" / "philly.csv"
GAVEL = TRACES / "gavel-osdi20" / "traces" / "msr" / "seed=0" / "0e4a51.trace"
EXAMPLES = ROOT / "examples" / "sim"
# CI always has shared/ beside the clone: there a missing trace fails instead of skipping.
needs_traces = pytest.mark.skipif(
    not (PHILLY.exists() and GAVEL.exists()) and not os.environ.get("CI"),
    reason=f"traces not found in {TRACES}",
)
FIELDS = {
    "jobs",
    "avg_jct_s",
    "p50_jct_s",
    "p99_jct_s",
    "avg_queue_s",
    "makespan_s",
    "utilization",
    "cost_yuan",
    "voucher_yuan",
    "domestic_share",
    "preemptions",
    "per_tenant",
}
JOBS = 300


def write_philly_slice(folder: Path, jobs: int = JOBS) -> Path:
    """The first ``jobs`` jobs submitted on or after 2017-10-01 (the Helios window)."""
    lines = PHILLY.read_text().splitlines()
    rows = sorted((r for r in lines[1:] if r >= "2017-10-01"), key=lambda r: r[:19])[:jobs]
    path = folder / "philly.csv"
    path.write_text("\n".join([lines[0], *rows]) + "\n")
    return path


@pytest.fixture(scope="module")
def philly_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_philly_slice(tmp_path_factory.mktemp("philly"))


def replay(
    path: Path, fmt: str, scenario: str, policy: str, estimates: str = "none"
) -> dict[str, Any]:
    scen = load_scenario(EXAMPLES / scenario)
    trace = read_trace(fmt, path)
    return setup_for(scen, trace).replay(policy, estimates).run(trace.jobs).to_dict()


@needs_traces
@pytest.mark.parametrize("policy", ["fifo", "sjf", "srtf", "default"])
def test_every_job_of_a_philly_slice_finishes(philly_slice: Path, policy: str) -> None:
    out = replay(philly_slice, "philly", "philly-helios.yaml", policy, "exact")
    assert out.keys() >= FIELDS
    assert out["policy"] == policy
    assert out["jobs"] == JOBS
    assert out["finished"] == out["jobs"] - out["rejected"] > JOBS - 10
    assert out["avg_jct_s"] >= out["avg_queue_s"] >= 0
    assert out["p50_jct_s"] <= out["p99_jct_s"]
    assert 0 < out["utilization"] <= 1
    # The cost is the live billing's: every attempt settled, priced at its pool's price.
    assert Decimal(out["cost_yuan"]) == Decimal(out["billed_yuan"]) > 0
    assert sum(row["jobs"] for row in out["per_tenant"].values()) == out["finished"]


@needs_traces
def test_repeat_replays_the_trace_again_later(philly_slice: Path) -> None:
    scen = load_scenario(EXAMPLES / "philly-helios.yaml")
    trace = read_trace("philly", philly_slice)
    jobs = repeated(trace.jobs[:100], 3)
    assert len(jobs) == 300
    assert len({j.id for j in jobs}) == len(jobs)
    assert all(a.submit <= b.submit for a, b in itertools.pairwise(jobs))
    once = setup_for(scen, trace).replay("fifo").run(trace.jobs[:100])
    report = setup_for(scen, trace).replay("fifo").run(jobs)
    assert report.jobs == 300
    assert report.finished == 3 * once.finished
    assert report.makespan_s > once.makespan_s
    # Three copies, shifted apart: each job billed per attempt as in the single replay.
    assert report.cost_yuan == 3 * once.cost_yuan


@needs_traces
def test_a_cohort_lends_idle_quota(philly_slice: Path) -> None:
    isolated = replay(philly_slice, "philly", "philly-helios.yaml", "fifo")
    cohort = replay(philly_slice, "philly", "philly-helios-cohort.yaml", "fifo")
    assert cohort["avg_queue_s"] <= isolated["avg_queue_s"]
    # Lending does not cost an owner its quota: borrowed work is reclaimed when it asks.
    asked = {t: row for t, row in cohort["per_tenant"].items() if "quota_met" in row}
    assert asked
    assert all(row["quota_asked_s"] > 0 for row in asked.values())
    assert cohort["quota_met_worst"] == min(row["quota_met"] for row in asked.values())
    assert cohort["quota_met_worst"] >= 0.9


@needs_traces
def test_a_gavel_slice_replays_through_the_live_cycle(tmp_path: Path) -> None:
    # The first 100 jobs, with the matrix beside them as the adapter expects it.
    (tmp_path / "simulation_throughputs.json").write_bytes(
        (TRACES / "gavel-osdi20" / "simulation_throughputs.json").read_bytes()
    )
    trace = tmp_path / "0e4a51.trace"
    trace.write_text("\n".join(GAVEL.read_text().splitlines()[:100]) + "\n")
    agnostic = replay(trace, "gavel", "gavel-36x3.yaml", "fifo-agnostic")
    default = replay(trace, "gavel", "gavel-36x3.yaml", "default")
    assert agnostic["finished"] == default["finished"] == agnostic["jobs"] == 100
    assert default["domestic_share"] == 0.0  # no domestic model in the fleet
    assert Decimal(default["cost_yuan"]) > 0


@needs_traces
def test_cli_prints_json_and_writes_a_report(philly_slice: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "replay",
            "--trace",
            f"philly:{philly_slice}",
            "--fleet",
            str(EXAMPLES / "philly-helios.yaml"),
            "--policy",
            "fifo",
            "--policy",
            "default",
            "--json",
            "--report",
            str(tmp_path / "r"),
        ],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert [r["policy"] for r in body] == ["fifo", "default"]
    assert all(r["finished"] == r["jobs"] - r["rejected"] for r in body)
    pytest.importorskip("matplotlib")
    assert {p.name for p in (tmp_path / "r").iterdir()} >= {
        "index.html",
        "queued.png",
        "utilization.png",
        "jct_cdf.png",
    }


def test_bad_arguments_name_the_field(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "replay",
            "--trace",
            "nope:x",
            "--fleet",
            str(EXAMPLES / "gavel-36x3.yaml"),
            "--policy",
            "lottery",
        ],
    )
    assert result.exit_code == 2
    assert "policy" in result.stderr
    assert "lottery" in result.stderr
    assert "Traceback" not in result.output


@needs_traces
def test_the_table_shows_each_policy_with_its_live_cost(philly_slice: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "replay",
            "--trace",
            f"philly:{philly_slice}",
            "--fleet",
            str(EXAMPLES / "philly-helios.yaml"),
            "--policy",
            "fifo",
        ],
    )
    assert result.exit_code == 0, result.output
    for col in ("policy", "avg JCT s", "p99 JCT s", "avg queue s", "util", "cost"):
        assert col in result.stdout
    cost = replay(philly_slice, "philly", "philly-helios.yaml", "fifo")["cost_yuan"]
    assert f"{Decimal(cost):,.2f}" in result.stdout


def test_a_bad_estimate_is_refused_with_the_choices(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "replay",
            "--trace",
            f"philly:{tmp_path / 'none.csv'}",
            "--fleet",
            str(EXAMPLES / "gavel-36x3.yaml"),
            "--estimates",
            "psychic",
        ],
    )
    assert result.exit_code == 2
    assert "estimates" in result.stderr
    assert "psychic" in result.stderr
    assert "exact" in result.stderr

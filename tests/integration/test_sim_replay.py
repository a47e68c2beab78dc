"""`suanli sim replay`: slices of the real Philly and Gavel traces through the queueing core."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from suanli.cli.sim import app
from suanli.domain.clock import SystemClock
from suanli.sim import replay as replay_module
from suanli.sim.replay import Replay
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
    "seconds",
}


@pytest.fixture(scope="module")
def philly_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 3,000 jobs submitted on or after 2017-10-01 (the Helios window)."""
    lines = PHILLY.read_text().splitlines()
    rows = sorted((r for r in lines[1:] if r >= "2017-10-01"), key=lambda r: r[:19])[:1500]
    path = tmp_path_factory.mktemp("philly") / "philly.csv"
    path.write_text("\n".join([lines[0], *rows]) + "\n")
    return path


def replay(
    path: Path, fmt: str, scenario: str, policy: str, estimates: str = "none"
) -> dict[str, Any]:
    scen = load_scenario(EXAMPLES / scenario)
    trace = read_trace(fmt, path)
    report = Replay(setup_for(scen, trace), policy, estimates, SystemClock()).run(trace.jobs)
    return report.to_dict()


@needs_traces
@pytest.mark.parametrize("policy", ["fifo", "sjf", "srtf", "default"])
def test_every_job_of_a_philly_slice_finishes(philly_slice: Path, policy: str) -> None:
    out = replay(philly_slice, "philly", "philly-helios.yaml", policy, "exact")
    assert out.keys() >= FIELDS
    assert out["jobs"] + out["dropped"] + out["rejected"] == 1500
    assert out["finished"] == out["jobs"] > 1450
    assert out["avg_jct_s"] >= out["avg_queue_s"] >= 0
    assert out["p50_jct_s"] <= out["p99_jct_s"]
    assert 0 < out["utilization"] <= 1
    assert float(out["cost_yuan"]) > 0


@needs_traces
def test_oracle_sjf_and_default_beat_fifo_on_the_slice(philly_slice: Path) -> None:
    fifo = replay(philly_slice, "philly", "philly-helios.yaml", "fifo")
    sjf = replay(philly_slice, "philly", "philly-helios.yaml", "sjf", "exact")
    default = replay(philly_slice, "philly", "philly-helios.yaml", "default")
    assert sjf["avg_queue_s"] < fifo["avg_queue_s"]
    assert default["avg_queue_s"] < fifo["avg_queue_s"]


@needs_traces
def test_the_default_learns_from_the_jobs_the_replay_finished(philly_slice: Path) -> None:
    trace = read_trace("philly", philly_slice)
    replay = Replay(
        setup_for(load_scenario(EXAMPLES / "philly-helios.yaml"), trace),
        "default",
        "none",
        SystemClock(),
    )
    out = replay.run(trace.jobs)
    # Finished jobs only (refreshed every LEARN_S), never a waiting job's trace duration.
    assert replay.history is not None
    assert 0 < replay.history.count <= out.finished
    assert replay.policy.informed(replay.history) is replay.policy


@needs_traces
@pytest.mark.parametrize(
    ("scenario", "policy"),
    [("philly-helios.yaml", "default"), ("philly-helios-cohort.yaml", "default")],
)
def test_showing_decisions_only_each_class_head_changes_nothing(
    philly_slice: Path, scenario: str, policy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cut = replay(philly_slice, "philly", scenario, policy)
    monkeypatch.setattr(replay_module, "HEAD", 1 << 30)  # every waiting job, every time
    whole = replay(philly_slice, "philly", scenario, policy)
    for key in ("avg_jct_s", "p99_jct_s", "avg_queue_s", "preemptions", "cost_yuan"):
        assert cut[key] == whole[key]


@needs_traces
@pytest.mark.parametrize(
    ("scenario", "policy", "jobs"),
    [
        ("philly-helios.yaml", "default", 1500),
        ("philly-helios-cohort.yaml", "default", 600),
        ("philly-helios.yaml", "srtf", 1500),
        ("philly-helios-cohort.yaml", "fifo", 600),
    ],
)
def test_the_replays_shortcuts_decide_as_plain_decisions_do(
    philly_slice: Path, scenario: str, policy: str, jobs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Shortcuts: heads of classes, held running work, kept orders, unexplained decisions.
    scen = load_scenario(EXAMPLES / scenario)
    trace = read_trace("philly", philly_slice)

    def figures() -> dict[str, Any]:
        replay = Replay(setup_for(scen, trace), policy, "exact", SystemClock())
        out = replay.run(trace.jobs[:jobs]).to_dict(full=True)
        return {k: v for k, v in out.items() if k not in ("seconds", "decisions")}

    fast = figures()
    monkeypatch.setattr(replay_module, "SHORTCUTS", False)
    assert figures() == fast
    if policy == "default" and scenario == "philly-helios.yaml":
        assert fast["preemptions"] > 0  # the preempting paths were walked


@needs_traces
def test_the_shortcuts_decide_as_plain_decisions_do_on_gavels_mixed_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One domain of three models: running work may move, so none is held by rank.
    (tmp_path / "simulation_throughputs.json").write_bytes(
        (TRACES / "gavel-osdi20" / "simulation_throughputs.json").read_bytes()
    )
    trace = tmp_path / "0e4a51.trace"
    trace.write_text("\n".join(GAVEL.read_text().splitlines()[:200]) + "\n")

    def figures() -> dict[str, Any]:
        out = replay(trace, "gavel", "gavel-36x3.yaml", "default")
        return {k: v for k, v in out.items() if k not in ("seconds", "decisions")}

    fast = figures()
    monkeypatch.setattr(replay_module, "SHORTCUTS", False)
    assert figures() == fast


@needs_traces
def test_repeat_replays_the_trace_again_later(philly_slice: Path) -> None:
    scen = load_scenario(EXAMPLES / "philly-helios.yaml")
    trace = read_trace("philly", philly_slice)
    jobs = repeated(trace.jobs, 3)
    assert len(jobs) == 3 * len(trace.jobs)
    assert len({j.id for j in jobs}) == len(jobs)
    assert all(a.submit <= b.submit for a, b in itertools.pairwise(jobs))
    report = Replay(setup_for(scen, trace), "fifo", "none", SystemClock()).run(jobs)
    assert report.finished == report.jobs == 3 * (len(trace.jobs) - report.dropped // 3)


@needs_traces
def test_a_cohort_lends_idle_quota(philly_slice: Path) -> None:
    isolated = replay(philly_slice, "philly", "philly-helios.yaml", "fifo")
    cohort = replay(philly_slice, "philly", "philly-helios-cohort.yaml", "fifo")
    assert cohort["avg_queue_s"] < isolated["avg_queue_s"]
    # Lending does not cost an owner its quota: borrowed work is reclaimed when it asks.
    asked = {t: row for t, row in cohort["per_tenant"].items() if "quota_met" in row}
    assert asked
    assert all(row["quota_asked_s"] > 0 for row in asked.values())
    assert cohort["quota_met_worst"] == min(row["quota_met"] for row in asked.values())
    assert cohort["quota_met_worst"] >= 0.9


@needs_traces
def test_gavel_default_uses_the_matrix_better_than_agnostic_fifo(tmp_path: Path) -> None:
    # The first 300 jobs, with the matrix beside them as the adapter expects it.
    (tmp_path / "simulation_throughputs.json").write_bytes(
        (TRACES / "gavel-osdi20" / "simulation_throughputs.json").read_bytes()
    )
    trace = tmp_path / "0e4a51.trace"
    trace.write_text("\n".join(GAVEL.read_text().splitlines()[:300]) + "\n")
    agnostic = replay(trace, "gavel", "gavel-36x3.yaml", "fifo-agnostic")
    default = replay(trace, "gavel", "gavel-36x3.yaml", "default")
    assert agnostic["finished"] == default["finished"] == agnostic["jobs"]
    assert default["avg_jct_s"] < agnostic["avg_jct_s"]


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

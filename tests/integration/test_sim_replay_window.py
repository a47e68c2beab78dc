"""`suanli sim replay --skip M --jobs N` (a window of a big trace) and its progress line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from suanli.cli.main import app as root
from suanli.cli.sim import app
from suanli.cli.sim_progress import ProgressLine, progress_text, simulated
from suanli.sim.progress import ReplayProgress
from suanli.sim.replay_args import MAX_JOBS
from suanli.sim.scenario import load_scenario, setup_for, windowed
from suanli.sim.traces import read_trace
from tests.integration.test_sim_replay import EXAMPLES, needs_traces, write_philly_slice

HELIOS = EXAMPLES / "philly-helios.yaml"
ROWS = 400  # of the Helios window, from its start


@pytest.fixture(scope="module")
def philly_rows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_philly_slice(tmp_path_factory.mktemp("philly"), ROWS)


def _replay(trace: Path, *extra: str) -> list[str]:
    return [
        "replay",
        "--trace",
        f"philly:{trace}",
        "--fleet",
        str(HELIOS),
        "--policy",
        "fifo",
        *extra,
    ]


@needs_traces
def test_skip_and_jobs_replay_that_window_of_the_trace(philly_rows: Path) -> None:
    result = CliRunner().invoke(
        app, [*_replay(philly_rows, "--skip", "150", "--jobs", "120", "--json")]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["jobs"] == 120
    # The same jobs replayed directly: the CLI picked jobs 150..270 in submission order.
    scenario = load_scenario(HELIOS)
    loaded = read_trace("philly", philly_rows)
    chosen = sorted(windowed(scenario, loaded.jobs), key=lambda j: j.submit)[150:270]
    direct = setup_for(scenario, loaded).replay("fifo").run(chosen).to_dict()
    assert body == direct
    # The progress line is off under --json (and off when stderr is not a terminal).
    assert result.stderr == ""


@needs_traces
def test_jobs_past_the_end_replays_to_the_end(philly_rows: Path) -> None:
    result = CliRunner().invoke(
        app, [*_replay(philly_rows, "--skip", "390", "--jobs", "50", "--json")]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["jobs"] == ROWS - 390


@needs_traces
def test_a_skip_beyond_the_window_names_its_bounds(philly_rows: Path) -> None:
    result = CliRunner().invoke(app, _replay(philly_rows, "--skip", str(ROWS)))
    assert result.exit_code == 2
    assert "skip" in result.stderr
    assert f"0 .. {ROWS - 1}" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("option", "value", "allowed"),
    [
        ("--jobs", "-1", f"0 .. {MAX_JOBS:,}"),
        ("--jobs", str(MAX_JOBS + 1), f"0 .. {MAX_JOBS:,}"),
        ("--skip", "-5", "≥ 0"),
    ],
)
def test_hostile_window_values_exit_2_before_the_trace_is_read(
    tmp_path: Path, option: str, value: str, allowed: str
) -> None:
    # The trace does not exist: the bounds are checked first.
    missing = tmp_path / "none.csv"
    result = CliRunner().invoke(app, _replay(missing, option, value))
    assert result.exit_code == 2
    assert option.removeprefix("--") in result.stderr
    assert value in result.stderr
    assert allowed in result.stderr
    assert "Traceback" not in result.output


def test_the_window_message_is_in_the_readers_language(tmp_path: Path) -> None:
    args = ["--lang", "zh", "sim", *_replay(tmp_path / "none.csv", "--jobs", "-7")]
    result = CliRunner().invoke(root, args)
    assert result.exit_code == 2
    assert "超出范围" in result.stderr
    assert "-7" in result.stderr


@needs_traces
def test_progress_asked_for_shows_the_final_counts_on_stderr(philly_rows: Path) -> None:
    args = _replay(philly_rows, "--jobs", "100", "--json", "--progress")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)  # stdout stays the JSON alone
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("fifo · simulated ")
    assert "arrived 100/100" in last
    assert f"finished {body['finished']}" in last
    assert "waiting 0 · running 0" in last


def _progress(ticks: int, finished: int = 0) -> ReplayProgress:
    return ReplayProgress(90061.0, 10, 20, 1, 2, 3, finished, ticks)


def test_the_line_is_shown_once_per_wall_second_with_the_latest_counts() -> None:
    wall = iter([0.0, 0.2, 0.9, 1.1, 1.5, 2.3])
    cpu = iter([5.0, 6.25, 7.5])
    console = Console(record=True, width=400, force_terminal=False)
    line = ProgressLine(console, "default", "en", wall=lambda: next(wall), cpu=lambda: next(cpu))
    for t in range(1, 6):
        line(_progress(t, finished=t))
    lines = console.export_text().splitlines()
    # Ticks 1-5 heard at 0.2, 0.9 (quiet), 1.1 (shown), 1.5 (quiet), 2.3 (shown).
    assert len(lines) == line.shown == 2
    assert "· 3 ticks ·" in lines[0]
    assert "finished 3" in lines[0]
    assert "1.2 CPU s" in lines[0]
    assert "· 5 ticks ·" in lines[1]
    assert "2.5 CPU s" in lines[1]
    assert "simulated 1d 01:01:01" in lines[1]
    assert "rejected 1" in lines[1]


def test_the_line_in_chinese() -> None:
    text = progress_text(_progress(7), "fifo", 3.0, "zh")
    assert text.startswith("fifo · 模拟时间 1 天 01:01:01 · 已到达 10/20")
    assert "等待 2 · 运行 3" in text
    assert "7 轮调度" in text
    assert "CPU 3.0 秒" in text
    assert "拒绝 1" in text
    assert simulated(59.9, "en") == "00:00:59"

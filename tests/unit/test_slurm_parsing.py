"""What the Slurm engine reads from Slurm's output and the sbatch script it writes."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from suanli.domain.errors import EngineFailure
from suanli.domain.ids import JobId, engine_key, parse_engine_key
from suanli.domain.jobs import NodeAssignment, Placement
from suanli.engines.base import LaunchRequest, RunState
from suanli.engines.slurm import (
    SlurmOptions,
    _exit_code,
    _gres,
    _job,
    _node,
    _status,
    render_batch_script,
)
from suanli.service.fleet import load_fleet
from tests.builders import make_spec

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"


@pytest.mark.parametrize(
    ("raw", "want"),
    [("0", 0), ("768", 3), ("15", 143), ("9", 137), ("", None), ("N/A", None)],
    ids=["ok", "exit-3", "sigterm", "sigkill", "empty", "unknown"],
)
def test_exit_code_from_the_wait_status(raw: str, want: int | None) -> None:
    assert _exit_code(raw) == want


@pytest.mark.parametrize(
    ("line", "want_state", "want_code", "want_reason"),
    [
        (
            "7|COMPLETED|0|2026-11-23T13:01:07|2026-11-23T13:01:08|1:00|None|k",
            RunState.SUCCEEDED,
            0,
            None,
        ),
        (
            "7|FAILED|768|2026-11-23T13:01:07|2026-11-23T13:01:08|1:00|NonZeroExitCode|k",
            RunState.FAILED,
            3,
            None,
        ),
        (
            "7|TIMEOUT|15|2026-11-23T13:01:07|2026-11-23T13:02:08|1:00|TimeLimit|k",
            RunState.FAILED,
            143,
            "reason_time_limit",
        ),
        (
            "7|CANCELLED by 0|0|2026-11-23T13:01:07|2026-11-23T13:01:08|1:00|None|k",
            RunState.CANCELLED,
            None,
            None,
        ),
        (
            "7|NODE_FAIL|0|2026-11-23T13:01:07|2026-11-23T13:01:08|1:00|NodeDown|k",
            RunState.LOST,
            None,
            "reason_lost",
        ),
        ("7|PENDING|0|N/A|N/A|1:00|Resources|k", RunState.PENDING, None, None),
        ("7|RUNNING|0|2026-11-23T13:01:07|N/A|1:00|None|k", RunState.RUNNING, None, None),
        ("7|BRAND_NEW|0|N/A|N/A|1:00|None|k", RunState.LOST, None, "reason_lost"),
    ],
    ids=[
        "completed",
        "failed",
        "timeout",
        "cancelled",
        "node-fail",
        "pending",
        "running",
        "unknown",
    ],
)
def test_squeue_lines_map_onto_run_states(
    line: str, want_state: RunState, want_code: int | None, want_reason: str | None
) -> None:
    job = _job(line)
    assert job is not None
    status = _status(job)
    assert (status.state, status.exit_code) == (want_state, want_code)
    assert (status.reason.code if status.reason else None) == want_reason


def test_a_job_name_may_hold_the_separator() -> None:
    job = _job("9|RUNNING|0|N/A|N/A|1:00|None|odd|name")
    assert job is not None
    assert job.name == "odd|name"


def test_gres_with_types_sockets_and_indices() -> None:
    assert _gres("gpu:h100:4(S:0-1),gpu:a100:2") == {"h100": 4, "a100": 2}
    assert _gres("gpu:h100:3(IDX:0-2)") == {"h100": 3}
    assert _gres("gpu:2") == {"gpu": 2}
    assert _gres("(null)") == {}


def test_sinfo_node_line() -> None:
    node = _node("node0|mixed|3/13/0/16|16384|2048|gpu:h100:4|gpu:h100:3(IDX:0-2)")
    assert node is not None
    assert (node.name, node.available, node.cpus, node.free_cpus) == ("node0", True, 16, 13)
    assert (node.memory_mb, node.free_memory_mb) == (16384, 14336)
    assert (node.accelerators, node.free_accelerators) == ({"h100": 4}, {"h100": 1})
    drained = _node("node1|drained|0/0/16/16|16384|0|gpu:h100:4|gpu:h100:0(IDX:N/A)")
    assert drained is not None
    assert not drained.available


def test_engine_keys_round_trip() -> None:
    assert parse_engine_key(engine_key(JobId("j-abc123"), 7)) == ("j-abc123", 7)
    assert parse_engine_key("someone-elses-job") is None
    assert parse_engine_key("suanli-j-x-aX") is None


def test_the_batch_script_for_a_two_node_gang_matches_the_golden_file() -> None:
    spec = make_spec(
        name="train",
        resources={
            "accelerator": {"model": "H100", "count": 4},
            "nodes": 2,
            "cpus": 8,
            "memory_gb": 64,
        },
        setup="pip install -r requirements.txt",
        run="torchrun --nnodes=$WORLD_SIZE --node_rank=$NODE_RANK train.py 'quoted arg'",
        env={"EPOCHS": "3"},
        time_limit_hours=1.5,
    )
    request = LaunchRequest(
        "suanli-j-golden0001-a2",
        "j-golden0001",
        2,
        spec,
        Placement(
            "hpc-slurm",
            "h100",
            "H100",
            (NodeAssignment("h100-n0", (0, 1, 2, 3)), NodeAssignment("h100-n1", (0, 1, 2, 3))),
            Decimal("96"),
        ),
    )
    options = SlurmOptions(partition="gpu", account="team-a")
    got = render_batch_script(request, Path("/shared/runs/suanli-j-golden0001-a2"), options)
    golden = GOLDEN / "slurm-gang.sbatch"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(got)
    assert got == golden.read_text()


def test_the_example_fleet_has_a_local_a_slurm_and_a_ray_cluster_in_different_regions() -> None:
    fleet = load_fleet(REPO / "examples" / "fleet-engines.yaml")
    engines = {c.engine.type: c.region for c in fleet.clusters()}
    assert sorted(engines) == ["local", "ray", "slurm"]
    assert len(set(engines.values())) == 3


def test_tenant_users_needs_run_dir_and_a_boolean() -> None:
    assert SlurmOptions.parse({"tenant_users": "true", "run_dir": "/shared/suanli"}).tenant_users
    assert not SlurmOptions.parse({}).tenant_users
    for bad in ({"tenant_users": "true"}, {"tenant_users": "yes", "run_dir": "/shared"}):
        with pytest.raises(EngineFailure, match="tenant_users"):
            SlurmOptions.parse(bad)

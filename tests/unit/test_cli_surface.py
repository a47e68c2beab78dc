"""The CLI's surface: light to import, `--json` on every command, tables that keep what a
reader copies whole at 80 columns, one error prefix in the reader's language."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from suanli.api.limits import ApiLimits
from suanli.cli import clusters, context, jobs, main, queue, sim
from suanli.cli.tables import fitted
from suanli.client.http import DEFAULT_SERVER
from suanli.domain.spec import MAX_NODES
from suanli.domain.tenants import DEMO_TENANT
from suanli.scheduler.packing import POLICIES
from suanli.schemas.api import (
    ClusterInventoryResponse,
    DecisionResponse,
    NodeInventoryResponse,
    ReasonResponse,
    VerdictResponse,
)
from suanli.schemas.operations import TenantQueueResponse, WaitingJobResponse

HEAVY = ("numpy", "sqlalchemy", "alembic", "scipy", "fastapi", "httpx", "pydantic", "suanli.sim")


def test_importing_the_cli_imports_no_server_database_or_simulator_module() -> None:
    probe = (
        f"import sys, suanli.cli.main\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""


def test_help_renders_without_importing_the_heavy_modules() -> None:
    probe = (
        "import sys\n"
        "from suanli.cli.main import app\n"
        "try:\n"
        "    app(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert "submit" in done.stdout
    assert done.stdout.strip().endswith("HEAVY=")


def test_the_constants_kept_beside_their_sources_are_equal() -> None:
    assert context.DEFAULT_SERVER == DEFAULT_SERVER
    assert main.DEMO_TENANT == DEMO_TENANT
    assert ApiLimits.rate_per_token == main.RATE_PER_TOKEN
    assert ApiLimits.max_active_jobs == main.MAX_ACTIVE_JOBS
    assert set(sim.PACKING_POLICIES) == set(POLICIES)
    assert main.MAX_RANK == MAX_NODES - 1


def _leaves(group: Any, prefix: str = "") -> list[tuple[str, Any]]:
    # Typer vendors click (typer._click): walk groups by their commands, duck-typed; the
    # root's lazy commands (suanli.cli.lazy) are loaded by asking for them.
    found: list[tuple[str, Any]] = []
    ctx = typer.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        path = f"{prefix} {name}".strip()
        if hasattr(command, "list_commands"):
            found += _leaves(command, path)
        else:
            found.append((path, command))
    return found


def test_every_command_accepts_json() -> None:
    leaves = _leaves(typer.main.get_command(main.app))
    assert len(leaves) > 30  # the walk reached the sub-apps
    missing = [
        path
        for path, command in leaves
        if not any("--json" in getattr(p, "opts", ()) for p in command.params)
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "error: --format: 'xml' is not allowed; allowed: table, json, csv"),
        ("zh", "错误：--format：不允许取值 'xml'；可选：table, json, csv"),
    ],
)
def test_a_bad_option_value_is_named_with_what_is_allowed(lang: str, expected: str) -> None:
    result = CliRunner().invoke(main.app, ["--lang", lang, "report", "--format", "xml"])
    assert result.exit_code == 2
    assert expected in result.output


def _render(width: int, draw: Callable[[], None]) -> str:
    """What ``draw`` prints on the CLI's console ``width`` cells wide."""
    console = context.out
    saved = console.width
    console.width = width
    try:
        with console.capture() as captured:
            draw()
    finally:
        console.width = saved
    return str(captured.get())


def _cells(text: str) -> str:
    """The table's text with borders and line breaks gone: what a reader can piece together."""
    return re.sub(r"[\s│┃┏┓┗┛┡┩└┘┌┐━─╇┳┻┼╋├┤┣┫]", "", text)


def _column(text: str, index: int) -> str:
    """One column of a rendered table's body, its folded lines joined."""
    cells = [
        line.split("│")[1 + index] for line in text.splitlines() if line.count("│") > index + 1
    ]
    return "".join(c.strip() for c in cells)


def _reason(code: str, message: str) -> ReasonResponse:
    return ReasonResponse(code=code, params={}, message=message)


def test_at_80_columns_pool_names_stay_whole_and_the_reason_folds() -> None:
    long_pool = "h100-sxm-pool"  # 25 cells with its cluster, as long as the demo's longest
    decision = DecisionResponse(
        summary=_reason("waiting_for_capacity", "waiting: 1 pool could run it"),
        chosen=None,
        verdicts=[
            VerdictResponse(
                cluster="tj-binhai-1",
                pool=long_pool,
                feasible=False,
                price_per_hour_yuan="16.00",
                reason=_reason("pool_busy", "full now: the job needs 2 node(s) with room"),
            ),
            VerdictResponse(
                cluster="bj-etown-1",
                pool="t4",
                feasible=False,
                price_per_hour_yuan=None,
                reason=_reason("pool_model_mismatch", "accelerator T4 is not among H100"),
            ),
        ],
    )
    text = _render(80, lambda: jobs.print_decision("en", "j-1", decision))
    assert f"tj-binhai-1/{long_pool}" in text  # one line, not cut
    assert text.startswith(" Why it waits: ") or "Why it waits:" in text
    assert "Why this placement" not in text
    assert "full now" in text.split(long_pool)[1].splitlines()[0]  # the busy pool's verdict
    assert "excluded" in text
    assert "fullnow:thejobneeds2node(s)withroom" in _cells(text)
    # A far longer name folds, whole, and still leaves the reason its room.
    decision.verdicts[0].pool = "a-far-longer-pool-name-than-any-in-the-demo-fleet"
    text = _render(80, lambda: jobs.print_decision("en", "j-1", decision))
    assert "a-far-longer-pool-name-than-any-in-the-demo-fleet" in _column(text, 0)
    assert "full now: the job" in text
    assert all(len(line) <= 80 for line in text.splitlines())
    assert text.splitlines()[1].endswith("┓")  # the right border is there: nothing cropped


def test_zh_queue_reason_is_not_cut_at_80_columns() -> None:
    why = "排队中：1 个资源池可运行此作业，但当前已满：tj-binhai-1/h100-pool"
    tenant = TenantQueueResponse(
        tenant="acme-ai",
        weight=1,
        cohort=None,
        borrow=False,
        running=0,
        stopping=0,
        share=0,
        usage=[],
        waiting=[
            WaitingJobResponse(
                job_id="j-4kc5fzd6ec",
                name="finetune-llama",
                status="queued",
                accelerators=8,
                priority=0,
                since=dt.datetime(2026, 12, 7, 4, 0, tzinfo=dt.UTC),
                attained_hours=0,
                reason=_reason("waiting_for_capacity", why),
            )
        ],
    )
    text = _render(80, lambda: queue._print_waiting([tenant], "zh"))
    assert "…" not in text
    assert "j-4kc5fzd6ec" in text  # the id whole, on one line
    assert _column(text, 5) == why.replace(" ", "")  # the whole reason, folded
    assert all(line.endswith(("┓", "┃", "│", "┩", "┘")) for line in text.splitlines()[1:])


def test_statuses_and_regions_are_said_in_chinese_under_zh() -> None:
    assert "成功" in jobs.status_text("succeeded", "zh")
    assert jobs.status_text("succeeded", "en") == "[green]succeeded[/green]"
    assert jobs.region_text("tianjin", "zh") == "天津（tianjin）"
    assert jobs.region_text("tianjin", "en") == "tianjin"
    assert jobs.region_text("atlantis", "zh") == "atlantis"


def test_cluster_and_node_names_stay_whole_at_80_columns() -> None:
    node = NodeInventoryResponse(
        name="ascend-910b-n0",
        state="idle",
        available=True,
        cpus=192,
        free_cpus=192,
        memory_mb=1536 * 1024,
        free_memory_mb=1536 * 1024,
        accelerators={"Ascend910B": 8},
        free_accelerators={"Ascend910B": 8},
    )
    found = ClusterInventoryResponse(
        cluster="tj-binhai-1",
        provider="tj-cloud-computing-centre",
        region="tianjin",
        engine="local",
        state="read",
        nodes=[node],
        free_accelerators={"Ascend910B": 8},
    )
    text = _render(80, lambda: context.out.print(clusters._node_table(found, "zh")))
    assert "ascend-910b-n0" in text
    assert all(len(line) <= 80 for line in text.splitlines())
    summary = [found.cluster, found.provider, found.engine, "read", *clusters._sums(found)]
    table = fitted(
        "t",
        ["Cluster", "Provider", "Engine", "State", "Nodes", "Acc", "CPUs"],
        [summary],
        80,
        5,
        (1, 3, 6, 4, 2),
    )
    text = _render(80, lambda: context.out.print(table))
    assert "tj-binhai-1" in text
    assert "Ascend910B 8/8" in text

"""LocalEngine with real runner processes: launch, status, logs, limits, cancel, crashes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from suanli.domain.clock import SystemClock
from suanli.domain.errors import EngineFailure
from suanli.domain.jobs import NodeAssignment, Placement
from suanli.engines.base import LaunchRequest, RunState, RunStatus
from suanli.engines.local import LocalEngine
from tests.builders import make_spec
from tests.conftest import wait_until
from tests.procs import alive as _alive
from tests.procs import group_members as _group_members
from tests.procs import is_runner as _is_runner
from tests.procs import kill as _kill
from tests.procs import pids as _pids

RUN_TIMEOUT_S = 60.0  # generous: only a failing test waits this long


def _started(engine: LocalEngine, key: str) -> dict[str, Any]:
    """The runner's started.json once it has started the job's process group."""

    def probe() -> dict[str, Any] | None:
        try:
            data = json.loads((engine.root / key / "started.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return data if "group" in data else None

    return wait_until(probe, timeout=RUN_TIMEOUT_S)


def _stop_runs(engine: LocalEngine) -> None:
    """Kill whatever the test's runs left behind, by PID, and reap the runners."""
    if not engine.root.exists():
        return
    runs = [d for d in engine.root.iterdir() if (d / "launch.json").exists()]
    groups: list[int] = []
    runners: list[int] = []
    for run_dir in runs:
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
            group = json.loads((run_dir / "started.json").read_text()).get("group")
            if group and _group_members(int(group)):
                groups.append(int(group))
        runners += [p for p in _pids() if _is_runner(p, run_dir)]
    for pid in runners:
        _kill(pid)
    for group in groups:
        _kill(group, group=True)
    wait_until(
        lambda: not any(_alive(p) for p in runners) and not any(map(_group_members, groups)),
        timeout=10,
    )
    for run_dir in runs:
        engine.status(run_dir.name)  # reaps the runner the engine started


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[LocalEngine]:
    eng = LocalEngine(tmp_path / "runs", SystemClock())
    try:
        yield eng
    finally:
        _stop_runs(eng)


# --- requests ---------------------------------------------------------------------------


def _placement(nodes: int = 1, slots: tuple[int, ...] = (0,)) -> Placement:
    return Placement(
        cluster="tj-binhai-1",
        pool="t4",
        accelerator="T4",
        nodes=tuple(NodeAssignment(f"t4-n{i}", slots) for i in range(nodes)),
        price_per_hour=Decimal("1.60"),
    )


def _request(
    key: str,
    run: str,
    *,
    nodes: int = 1,
    slots: tuple[int, ...] = (0,),
    attempt: int = 1,
    extra_env: dict[str, str] | None = None,
    **spec: Any,
) -> LaunchRequest:
    resources = {"accelerator": {"model": "T4", "count": len(slots)}, "nodes": nodes}
    return LaunchRequest(
        key=key,
        job_id="j-enginetest",
        attempt=attempt,
        spec=make_spec(run=run, resources=resources, **spec),
        placement=_placement(nodes, slots),
        extra_env=extra_env or {},
    )


def _final(engine: LocalEngine, key: str, timeout: float = RUN_TIMEOUT_S) -> RunStatus:
    def probe() -> RunStatus | None:
        status = engine.status(key)
        return status if status.state.is_final else None

    return wait_until(probe, timeout=timeout)


def _running(engine: LocalEngine, key: str) -> RunStatus:
    def probe() -> RunStatus | None:
        status = engine.status(key)
        return status if status.state is RunState.RUNNING else None

    return wait_until(probe, timeout=RUN_TIMEOUT_S)


def _argv(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().split("\0")[:-1]
    except OSError:
        return []


def _log(engine: LocalEngine, key: str) -> str:
    return engine.read_log(key, 0).data.decode()


# A job that takes ``handler_s`` seconds to checkpoint when it gets SIGTERM.
CHECKPOINTING = (
    "trap 'echo checkpointing; sleep {handler_s}; echo checkpoint saved; exit 0' TERM; "
    "echo job-is-up; while true; do sleep 0.1; done"
)


# --- tests ------------------------------------------------------------------------------


class TestSuccessAndLogs:
    def test_a_run_succeeds_and_its_output_is_readable(self, engine: LocalEngine) -> None:
        engine.launch(_request("ok", "echo alpha; echo beta"))

        status = _final(engine, "ok")

        assert status.state is RunState.SUCCEEDED
        assert status.exit_code == 0
        assert status.reason is None
        assert status.started_at is not None
        assert status.finished_at is not None
        assert status.started_at <= status.finished_at
        assert _log(engine, "ok") == "alpha\nbeta\n"

    def test_read_log_honours_offsets_and_limits(self, engine: LocalEngine) -> None:
        engine.launch(_request("offsets", "echo alpha; echo beta"))
        _final(engine, "offsets")

        whole = engine.read_log("offsets", 0)
        tail = engine.read_log("offsets", 6)
        at_end = engine.read_log("offsets", whole.next_offset)
        head = engine.read_log("offsets", 0, limit=5)

        assert (whole.data, whole.next_offset) == (b"alpha\nbeta\n", 11)
        assert (tail.data, tail.next_offset) == (b"beta\n", 11)
        assert (at_end.data, at_end.next_offset) == (b"", 11)
        assert (head.data, head.next_offset) == (b"alpha", 5)

    def test_read_log_of_an_unknown_run_is_empty(self, engine: LocalEngine) -> None:
        chunk = engine.read_log("suanli-j-nothing-a1", 42)

        assert (chunk.data, chunk.next_offset) == (b"", 42)


class TestFailures:
    @pytest.mark.parametrize(
        ("script", "code"),
        [
            pytest.param("exit 1", 1, id="plain-failure-exits-1"),
            pytest.param("echo partial; exit 3", 3, id="script-chooses-exit-3"),
            pytest.param("no-such-command-suanli", 127, id="unknown-command-exits-127"),
        ],
    )
    def test_non_zero_exit_fails_with_that_code(
        self, engine: LocalEngine, script: str, code: int
    ) -> None:
        engine.launch(_request("fails", script))

        status = _final(engine, "fails")

        assert status.state is RunState.FAILED
        assert status.exit_code == code
        assert status.reason is None  # the exit code is the whole story

    def test_a_failing_setup_fails_the_run_and_run_never_starts(self, engine: LocalEngine) -> None:
        ran = engine.root / "bad-setup" / "work" / "ran"
        engine.launch(_request("bad-setup", "touch ran", setup="exit 4"))

        status = _final(engine, "bad-setup")

        assert status.state is RunState.FAILED
        assert status.exit_code == 4
        assert not ran.exists()


class TestJobEnvironment:
    def test_a_job_has_its_own_writable_tmp_shm_and_home(self, engine: LocalEngine) -> None:
        script = (
            "echo a > /tmp/a && echo b > /var/tmp/b && echo c > /dev/shm/c && echo files-ok; "
            "cd ~ && echo home-ok; "
            "python3 -c 'import multiprocessing as m; m.Lock(); print(\"semaphores-ok\")'"
        )
        engine.launch(_request("scratch", script))

        status = _final(engine, "scratch")

        log = _log(engine, "scratch")
        assert status.state is RunState.SUCCEEDED, log
        for word in ("files-ok", "home-ok", "semaphores-ok"):
            assert word in log

    def test_setup_runs_before_run_in_the_same_work_dir(self, engine: LocalEngine) -> None:
        engine.launch(
            _request(
                "setup",
                'cat made-by-setup.txt; echo "run in $PWD"',
                setup="pwd > made-by-setup.txt",
            )
        )

        status = _final(engine, "setup")

        assert status.state is RunState.SUCCEEDED
        work_dir = (engine.root / "setup" / "work").resolve()
        assert _log(engine, "setup").splitlines() == [str(work_dir), f"run in {work_dir}"]

    def test_spec_env_and_suanli_variables_reach_the_process(self, engine: LocalEngine) -> None:
        dump = engine.root / "env" / "work" / "env.bin"
        request = _request(
            "env",
            "env -0 > env.bin",
            slots=(2, 3),
            attempt=2,
            env={"GREETING": "ni hao 你好", "LR": "2e-4"},
            extra_env={"SUANLI_EXTRA": "from-the-platform"},
        )
        engine.launch(request)

        assert _final(engine, "env").state is RunState.SUCCEEDED
        env = dict(item.split("=", 1) for item in dump.read_text().split("\0") if item)
        assert env["GREETING"] == "ni hao 你好"
        assert env["LR"] == "2e-4"
        assert env["SUANLI_EXTRA"] == "from-the-platform"
        assert env["SUANLI_JOB_ID"] == "j-enginetest"
        assert env["SUANLI_JOB_NAME"] == "job"
        assert env["SUANLI_ATTEMPT"] == "2"
        assert env["SUANLI_CLUSTER"] == "tj-binhai-1"
        assert env["SUANLI_POOL"] == "t4"
        assert env["SUANLI_ACCELERATOR_MODEL"] == "T4"
        assert env["SUANLI_ACCELERATORS_PER_NODE"] == "2"
        assert env["SUANLI_SLOTS"] == "2,3"
        assert env["SUANLI_NODES"] == "t4-n0"
        assert env["SUANLI_NUM_NODES"] == "1"
        assert env["SUANLI_NODE_RANK"] == "0"
        assert env["WORLD_SIZE"] == "1"
        assert env["PYTHONUNBUFFERED"] == "1"
        # An emulated pool must not see any real device: set, and empty.
        assert env["CUDA_VISIBLE_DEVICES"] == ""

    def test_a_two_node_run_starts_one_rank_per_node(self, engine: LocalEngine) -> None:
        script = (
            'echo "rank=$SUANLI_NODE_RANK node_rank=$NODE_RANK of $WORLD_SIZE on $SUANLI_NODES"'
        )
        engine.launch(_request("gang", script, nodes=2))

        status = _final(engine, "gang")

        assert status.state is RunState.SUCCEEDED
        assert sorted(_log(engine, "gang").splitlines()) == [
            "[rank 0] rank=0 node_rank=0 of 2 on t4-n0,t4-n1",
            "[rank 1] rank=1 node_rank=1 of 2 on t4-n0,t4-n1",
        ]

    def test_each_line_of_a_gang_is_headed_by_its_rank_whole(self, engine: LocalEngine) -> None:
        # Both ranks write many lines at once, stderr too, and end without a newline: every
        # line arrives whole, under its own rank, none lost.
        script = (
            'for i in $(seq 1 300); do echo "line $i of $NODE_RANK"; echo "err $i" >&2; done; '
            'printf "last of $NODE_RANK"'
        )
        engine.launch(_request("lines", script, nodes=2))

        assert _final(engine, "lines").state is RunState.SUCCEEDED
        lines = _log(engine, "lines").splitlines()
        assert len(lines) == 2 * 601
        for rank in (0, 1):
            mine = [x for x in lines if x.startswith(f"[rank {rank}] ")]
            assert [x for x in mine if " of " in x] == [
                *(f"[rank {rank}] line {i} of {rank}" for i in range(1, 301)),
                f"[rank {rank}] last of {rank}",
            ]
            assert sum(1 for x in mine if x.startswith(f"[rank {rank}] err ")) == 300

    def test_a_one_node_run_writes_its_lines_as_they_are(self, engine: LocalEngine) -> None:
        engine.launch(_request("solo", "echo plain"))

        assert _final(engine, "solo").state is RunState.SUCCEEDED
        assert _log(engine, "solo") == "plain\n"


class TestRunningRuns:
    def test_status_while_running_is_running(self, engine: LocalEngine) -> None:
        engine.launch(_request("busy", "echo up; sleep 60"))

        status = _running(engine, "busy")

        assert status.exit_code is None
        assert status.started_at is not None
        assert status.finished_at is None
        wait_until(lambda: _log(engine, "busy") == "up\n")

    def test_hard_time_limit_fails_the_run_and_kills_its_group(self, engine: LocalEngine) -> None:
        # 0.0005 h is 1.8 s; the job would sleep for a minute.
        engine.launch(_request("slow", "sleep 60 & sleep 60", time_limit_hours=0.0005))
        group = int(_started(engine, "slow")["group"])

        status = _final(engine, "slow")

        assert status.state is RunState.FAILED
        assert status.exit_code is None
        assert status.reason is not None
        assert status.reason.code == "reason_time_limit"
        assert status.reason.params == {"limit": "0:00:02"}
        assert "hard time limit" in _log(engine, "slow")
        assert _group_members(group) == []

    def test_cancel_stops_the_job_and_its_background_grandchild(self, engine: LocalEngine) -> None:
        # The job sees its own PID namespace: find the grandchild as the host sees it.
        engine.launch(_request("stop-me", "sleep 301 & sleep 300"))
        _running(engine, "stop-me")
        group = int(_started(engine, "stop-me")["group"])
        grandchild = wait_until(
            lambda: next((p for p in _group_members(group) if _argv(p) == ["sleep", "301"]), 0)
        )
        assert _alive(grandchild)

        engine.cancel("stop-me")
        status = _final(engine, "stop-me")

        assert status.state is RunState.CANCELLED
        assert status.exit_code is None
        assert not _alive(grandchild)
        assert _group_members(group) == []
        assert "cancel requested" in _log(engine, "stop-me")

    def test_a_stop_with_a_grace_lets_the_job_checkpoint_past_the_default(
        self, engine: LocalEngine
    ) -> None:
        # The handler needs 6 s: more than the engine's default grace (5 s), less than asked.
        engine.launch(_request("ckpt", CHECKPOINTING.format(handler_s=6)))
        wait_until(lambda: "job-is-up" in _log(engine, "ckpt"), timeout=RUN_TIMEOUT_S)

        engine.cancel("ckpt", grace_s=60)
        status = _final(engine, "ckpt")

        assert status.state is RunState.CANCELLED
        assert "checkpoint saved" in _log(engine, "ckpt")

    def test_a_later_stop_with_no_grace_cuts_the_grace_short(self, engine: LocalEngine) -> None:
        engine.launch(_request("cut", CHECKPOINTING.format(handler_s=3600)))
        wait_until(lambda: "job-is-up" in _log(engine, "cut"), timeout=RUN_TIMEOUT_S)
        group = int(_started(engine, "cut")["group"])

        engine.cancel("cut", grace_s=3600)
        wait_until(lambda: "checkpointing" in _log(engine, "cut"), timeout=RUN_TIMEOUT_S)
        engine.cancel("cut", grace_s=0)  # an hour's grace would outlast the wait below
        status = _final(engine, "cut")

        assert status.state is RunState.CANCELLED
        assert "checkpoint saved" not in _log(engine, "cut")
        assert _group_members(group) == []

    def test_cancel_of_an_unknown_run_is_a_no_op(self, engine: LocalEngine) -> None:
        engine.cancel("suanli-j-nothing-a1")

        assert not (engine.root / "suanli-j-nothing-a1").exists()


class TestOnceOnly:
    def test_launching_the_same_key_twice_runs_the_job_once(self, engine: LocalEngine) -> None:
        marker = engine.root / "twice" / "work" / "marker"
        request = _request("twice", "echo ran >> marker")

        engine.launch(request)
        engine.launch(request)
        assert _final(engine, "twice").state is RunState.SUCCEEDED
        engine.launch(request)  # after it finished, too
        wait_until(lambda: not [p for p in _pids() if _is_runner(p, engine.root / "twice")])

        assert marker.read_text().splitlines() == ["ran"]
        assert engine.status("twice").state is RunState.SUCCEEDED

    def test_a_runner_killed_mid_run_makes_the_run_lost_and_never_restarts_it(
        self, engine: LocalEngine
    ) -> None:
        marker = engine.root / "doomed" / "work" / "marker"
        request = _request("doomed", "echo ran >> marker; sleep 60")
        engine.launch(request)
        _running(engine, "doomed")
        started = _started(engine, "doomed")
        wait_until(marker.exists)

        os.kill(int(started["pid"]), signal.SIGKILL)
        status = _final(engine, "doomed")

        assert status.state is RunState.LOST
        assert status.reason is not None
        assert status.reason.code == "reason_lost"
        # The job's own processes must not outlive the verdict: a retry could overlap them.
        wait_until(lambda: not _group_members(int(started["group"])), timeout=10)
        assert status.started_at is not None
        engine.launch(request)  # a lost key is never started again
        assert engine.status("doomed").state is RunState.LOST
        assert marker.read_text().splitlines() == ["ran"]

    def test_an_unknown_key_is_lost(self, engine: LocalEngine) -> None:
        status = engine.status("suanli-j-nothing-a1")

        assert status.state is RunState.LOST
        assert status.reason is not None
        assert status.reason.code == "reason_lost"

    @pytest.mark.parametrize(
        "key",
        [
            pytest.param("", id="empty-key"),
            pytest.param("../escape", id="key-with-a-slash"),
            pytest.param(".hidden", id="key-starting-with-a-dot"),
        ],
    )
    def test_a_key_that_is_not_a_plain_name_is_refused(
        self, engine: LocalEngine, key: str
    ) -> None:
        with pytest.raises(EngineFailure):
            engine.status(key)
        with pytest.raises(EngineFailure):
            engine.launch(_request(key, "echo never"))

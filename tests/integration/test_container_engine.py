"""The local engine runs jobs in images with podman, pulled from the platform's registry.

Needs podman and a registry holding the base images (scripts/registry-up.sh,
scripts/images-build.sh; scripts/test starts both and sets SUANLI_REGISTRY).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from suanli.domain.clock import SystemClock
from suanli.domain.jobs import NodeAssignment, Placement
from suanli.engines.base import LaunchRequest, RunState, RunStatus
from suanli.engines.local import LocalEngine
from tests.builders import make_spec
from tests.conftest import wait_until

REGISTRY = os.environ.get("SUANLI_REGISTRY", "")
BASE = "suanli/debian:bookworm"
TIMEOUT_S = 180.0

pytestmark = pytest.mark.skipif(
    # CI (scripts/test) always has both: there a missing one fails instead
    (not REGISTRY or shutil.which("podman") is None) and not os.environ.get("CI"),
    reason="needs podman and SUANLI_REGISTRY (scripts/registry-up.sh, scripts/images-build.sh)",
)


def _containers(label: str) -> list[str]:
    done = subprocess.run(
        ["podman", "ps", "-a", "--filter", f"label=suanli.run={label}", "--format", "{{.Names}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[LocalEngine]:
    eng = LocalEngine(tmp_path / "runs", SystemClock(), registry=REGISTRY)
    yield eng
    for run_dir in (tmp_path / "runs").iterdir():  # what a failing test left behind
        subprocess.run(
            ["podman", "rm", "-f", "--ignore", run_dir.name], capture_output=True, check=False
        )


def _request(key: str, run: str, image: str = BASE, **spec: Any) -> LaunchRequest:
    return LaunchRequest(
        key=key,
        job_id="j-containertest",
        attempt=1,
        spec=make_spec(run=run, image=image, resources={"cpus": 1, "memory_gb": 1}, **spec),
        placement=Placement("c", "cpu", None, (NodeAssignment("n0", ()),), Decimal("0")),
        tenant="acme",
    )


def _final(engine: LocalEngine, key: str) -> RunStatus:
    def probe() -> RunStatus | None:
        status = engine.status(key)
        return status if status.state.is_final else None

    return wait_until(probe, timeout=TIMEOUT_S, every=0.2)


def _log(engine: LocalEngine, key: str) -> str:
    return engine.read_log(key, 0).data.decode()


def test_hello_runs_in_the_image_with_its_env_its_limits_and_the_digest(
    engine: LocalEngine,
) -> None:
    script = (
        "echo hello from $(cat /etc/debian_version); echo uid=$(id -u); echo home=$HOME; "
        "echo token=$TOKEN; echo server=${SUANLI_TEST_POSTGRES_URL:-none}; "
        # The memory limit holds: 1.1 GB in one tail line is killed (cgroup's OOM, 137).
        "head -c 1100M /dev/zero | tail -n 1 >/dev/null; echo oom=$?; "
        "ls /var/tmp/suanli-ci 2>&1 | head -1"
    )
    engine.launch(_request("c-hello", script, env={"TOKEN": "s3cret"}))
    engine.launch(_request("c-hello", script, env={"TOKEN": "s3cret"}))  # idempotent
    status = _final(engine, "c-hello")
    log = _log(engine, "c-hello")
    assert status.state is RunState.SUCCEEDED, log
    assert "hello from 12." in log  # Debian bookworm, from the image, not the host's files
    assert "token=s3cret" in log
    assert "server=none" in log
    assert "home=/work" in log
    assert "oom=137" in log  # memory_gb: 1 as a cgroup limit
    assert "No such file" in log  # the host's service state is not there
    if os.geteuid() == 0:  # root inside, in the tenant's own user namespace (userns.py)
        assert "uid=0" in log
    assert status.image_digest
    assert status.image_digest.startswith("sha256:")
    wait_until(lambda: not _containers("c-hello"), timeout=60)  # removed after its result


def test_exit_code_is_the_containers(engine: LocalEngine) -> None:
    engine.launch(_request("c-exit", "echo failing; exit 7"))
    status = _final(engine, "c-exit")
    assert (status.state, status.exit_code) == (RunState.FAILED, 7)


def test_cancel_gives_the_grace_then_stops(engine: LocalEngine) -> None:
    script = "trap 'echo saved; exit 0' TERM; echo started; while :; do sleep 0.1; done"
    engine.launch(_request("c-cancel", script))
    wait_until(lambda: "started" in _log(engine, "c-cancel"), timeout=TIMEOUT_S)
    engine.cancel("c-cancel", grace_s=10)
    status = _final(engine, "c-cancel")
    assert status.state is RunState.CANCELLED
    assert "saved" in _log(engine, "c-cancel")


def test_a_service_in_an_image_answers_on_its_port(engine: LocalEngine) -> None:
    """The services helper's replicas set PORT; the container shares the host's network,
    so what it serves on 127.0.0.1:PORT is reachable there."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    serve = "exec python3 -m http.server $PORT --bind 127.0.0.1 --directory /etc"
    engine.launch(_request("c-serve", serve, image="suanli/python:3.11", env={"PORT": str(port)}))

    def answered() -> str | None:
        assert not engine.status("c-serve").state.is_final, _log(engine, "c-serve")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/debian_version", timeout=2) as r:
                return str(r.read().decode())
        except OSError:
            return None

    assert wait_until(answered, timeout=TIMEOUT_S, every=0.5).startswith("12.")
    engine.cancel("c-serve", grace_s=2)
    assert _final(engine, "c-serve").state is RunState.CANCELLED


def test_hard_time_limit_stops_the_container(engine: LocalEngine) -> None:
    engine.launch(_request("c-limit", "echo started; sleep 600", time_limit_hours=0.001))
    status = _final(engine, "c-limit")
    assert status.state is RunState.FAILED
    assert status.reason is not None
    assert status.reason.code == "reason_time_limit"
    wait_until(lambda: not _containers("c-limit"), timeout=60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("case", "image"),
    [
        ("unknown", "suanli/no-such-image:1"),
        ("down", "127.0.0.1:{port}/suanli/debian:bookworm"),
        ("mismatch", "suanli/debian@sha256:" + "0" * 64),
    ],
)
def test_bad_images_fail_with_the_reason_and_are_not_lost(
    engine: LocalEngine, case: str, image: str
) -> None:
    key = f"c-bad-{case}"
    engine.launch(_request(key, "echo never", image=image.format(port=_free_port())))
    status = _final(engine, key)
    assert status.state is RunState.FAILED  # not LOST: no retry of a missing image
    assert status.reason is not None
    assert status.reason.code == "reason_image_failed"
    assert status.reason.params["detail"]
    assert "never" not in _log(engine, key).replace("echo never", "")


def test_a_dead_supervisor_is_replaced_and_the_container_never_started_twice(
    engine: LocalEngine,
) -> None:
    script = "echo started; sleep 3; echo finished"
    engine.launch(_request("c-adopt", script))
    wait_until(lambda: "started" in _log(engine, "c-adopt"), timeout=TIMEOUT_S)
    started = json.loads((engine.root / "c-adopt" / "started.json").read_text())
    os.kill(int(started["pid"]), signal.SIGKILL)  # the supervisor, not the container
    with contextlib.suppress(ChildProcessError):
        os.waitpid(int(started["pid"]), 0)  # this process spawned it
    assert _containers("c-adopt") == ["c-adopt"]
    fresh = LocalEngine(engine.root, SystemClock(), registry=REGISTRY)  # a restarted server
    status = _final(fresh, "c-adopt")
    log = _log(fresh, "c-adopt")
    assert status.state is RunState.SUCCEEDED, log
    assert log.count("\nstarted\n") == 1  # the job ran once
    assert "finished" in log
    assert status.image_digest
    assert status.image_digest.startswith("sha256:")


def test_image_cli_lists_and_inspects_the_registry() -> None:
    from typer.testing import CliRunner

    from suanli.cli.main import app

    runner = CliRunner()
    listed = runner.invoke(app, ["image", "list", "--registry", REGISTRY])
    assert listed.exit_code == 0, listed.output
    assert "suanli/debian" in listed.output
    assert "bookworm" in listed.output
    shown = runner.invoke(app, ["image", "inspect", BASE, "--registry", REGISTRY])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["digest"].startswith("sha256:")
    missing = runner.invoke(app, ["image", "inspect", "suanli/nope:1", "--registry", REGISTRY])
    assert missing.exit_code == 1
    assert "not found" in missing.output

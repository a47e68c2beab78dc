"""The real `suanli up` server as a process, for end-to-end tests; stopped by PID."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import wait_until
from tests.procs import alive as _alive
from tests.procs import group_members as _group_members
from tests.procs import is_runner as _is_runner
from tests.procs import kill as _kill

SUANLI = Path(sys.executable).with_name("suanli")
JOB_TIMEOUT_S = 90.0  # generous: only a failing test waits this long
CLI_TIMEOUT_S = 60.0
INTERVAL = ("--interval", "0.2")  # control loop period, s


def kill_leftover_runs(data_dir: Path) -> None:
    """Kill the runners and job process groups of runs that never finished, by PID."""
    pids: list[int] = []
    groups: list[int] = []
    for started_file in data_dir.glob("runs/*/*/started.json"):
        if (started_file.parent / "result.json").exists():
            continue  # the runner finished and stopped its group itself
        with contextlib.suppress(json.JSONDecodeError, FileNotFoundError):
            started = json.loads(started_file.read_text())
            if _alive(int(started["pid"])) and _is_runner(int(started["pid"])):
                pids.append(int(started["pid"]))
            if started.get("group") and _group_members(int(started["group"])):
                groups.append(int(started["group"]))
    for pid in pids:
        _kill(pid)  # the runner first, or it would record the job's death as a failure
    for group in groups:
        _kill(group, group=True)
    wait_until(
        lambda: not any(map(_alive, pids)) and not any(map(_group_members, groups)), timeout=10
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _child_env(url: str, data_dir: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.pop("SUANLI_TOKEN", None)
    if data_dir is not None:
        env["SUANLI_DATA_DIR"] = str(data_dir)  # where the CLI finds the operator token
    env["SUANLI_CREDENTIALS"] = str(data_dir.parent / "credentials.json") if data_dir else ""
    env.update(
        SUANLI_SERVER=url,
        SUANLI_LANG="en",
        NO_PROXY="127.0.0.1",
        COLUMNS="250",  # rich wraps at 80 columns when it writes to a pipe
    )
    return env


class Server:
    """`suanli up` on a free port of 127.0.0.1 and a data directory; restartable."""

    def __init__(
        self, data_dir: Path, fleet: Path | None = None, args: tuple[str, ...] = ()
    ) -> None:
        self.data_dir = data_dir
        self.fleet = fleet
        self.args = args  # more `suanli up` options, e.g. ("--database-url", URL)
        self.url = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 30.0) -> None:
        self.stop()
        self.starts += 1
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        log_path = self.data_dir.parent / f"server-{self.starts}-{port}.log"
        with log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    str(SUANLI),
                    "up",
                    "--port",
                    str(port),
                    "--data-dir",
                    str(self.data_dir),
                    *INTERVAL,
                    *(["--fleet", str(self.fleet)] if self.fleet else []),
                    *self.args,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_child_env(self.url, self.data_dir),
            )
        proc = self.proc

        def healthy() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"suanli up exited: {log_path.read_text()}")
            with contextlib.suppress(httpx.TransportError), self.http() as client:
                return client.get("/healthz").status_code == 200
            return False

        wait_until(healthy, timeout=timeout)

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self.proc = None

    def http(self) -> httpx.Client:
        """An HTTP client with the operator token the server wrote into its data dir."""
        token_file = self.data_dir / "operator.token"
        headers = (
            {"Authorization": f"Bearer {token_file.read_text().strip()}"}
            if token_file.exists()
            else {}
        )
        return httpx.Client(base_url=self.url, trust_env=False, timeout=10, headers=headers)

    def run(self, argv: list[str], *args: str) -> subprocess.CompletedProcess[str]:
        """``argv`` (a CLI) with this server's address, then ``args``."""
        return subprocess.run(
            [*argv, "--server", self.url, *args],
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            env=_child_env(self.url, self.data_dir),
            check=False,
        )

    def cli(
        self, *args: str, timeout: float = CLI_TIMEOUT_S, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """The CLI on this machine (the operator token found in the data dir); ``env`` on top."""
        return subprocess.run(
            [str(SUANLI), "--server", self.url, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**_child_env(self.url, self.data_dir), **(env or {})},
            check=False,
        )

    def submit(self, spec_file: Path) -> dict[str, Any]:
        done = self.cli("submit", str(spec_file), "--json")
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))

    def job(self, job_id: str) -> dict[str, Any]:
        """A job as the API returns it (faster to poll than the CLI)."""
        with self.http() as client:
            response = client.get(f"/api/v1/jobs/{job_id}")
        response.raise_for_status()
        return dict(response.json())

    def wait_for(self, job_id: str, status: str, timeout: float = JOB_TIMEOUT_S) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            job = self.job(job_id)
            return job if job["status"] == status else None

        return wait_until(probe, timeout=timeout)

    def jobs_total(self) -> int:
        done = self.cli("status", "--json")
        assert done.returncode == 0, done.stderr
        return int(json.loads(done.stdout)["total"])


def serve(
    tmp_path: Path, fleet_text: str | None = None, tenants_text: str | None = None
) -> Iterator[Server]:
    """A started server for one test (a fixture's body): its fleet and tenants files
    written under ``tmp_path``; stopped, and its runs' leftovers killed, afterwards."""
    fleet = tmp_path / "fleet.yaml" if fleet_text is not None else None
    if fleet is not None:
        fleet.write_text(fleet_text or "")
    args: tuple[str, ...] = ()
    if tenants_text is not None:
        (tmp_path / "tenants.yaml").write_text(tenants_text)
        args = ("--tenants", str(tmp_path / "tenants.yaml"))
    running = Server(tmp_path / "data", fleet, args)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        kill_leftover_runs(running.data_dir)

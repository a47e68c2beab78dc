"""The test Slurm cluster that scripts/slurm-up.sh starts: its CLI, and its controller by PID."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import wait_until
from tests.procs import alive


@dataclass(frozen=True)
class SlurmCluster:
    conf: str
    state_dir: Path
    gpu_type: str
    gpus_per_node: int
    nodes: int

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "SLURM_JWT"}
        env["SLURM_CONF"] = self.conf
        return env

    def cli(self, *argv: str) -> str:
        done = subprocess.run(
            list(argv), capture_output=True, text=True, env=self.env(), timeout=30, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def jobs_named(self, key: str) -> list[tuple[str, str]]:
        """(job id, state) of every job Slurm has by this name, finished ones included."""
        out = self.cli("squeue", "-h", "-t", "all", "--name", key, "-o", "%i|%T")
        return [
            (job_id, state)
            for job_id, _, state in (line.partition("|") for line in out.splitlines())
            if job_id
        ]

    def controller_pid(self) -> int | None:
        try:
            pid = int((self.state_dir / "run" / "slurmctld.pid").read_text())
        except (FileNotFoundError, ValueError):
            return None
        return pid if alive(pid) else None

    def kill_controller(self, saved_after: dt.datetime | None = None) -> None:
        """kill -9 slurmctld: jobs keep running on the nodes, nothing answers for them.

        First waits until slurmctld has saved its job state after ``saved_after`` (a job's
        start): it saves a few seconds after a change, and one killed before that forgets the
        jobs it just started (it then finds them running on the nodes and kills them as
        duplicates). Start times are whole seconds, hence the extra second.
        """
        pid = self.controller_pid()
        assert pid is not None, "slurmctld is not running"
        if saved_after is not None:
            since = saved_after.timestamp() + 1
            saved = self.state_dir / "state" / "job_state"
            try:
                wait_until(lambda: saved.stat().st_mtime > since, timeout=20, every=0.2)
            except AssertionError:
                # It saved within the start's own second and nothing has changed since, so no
                # later save comes: SIGTERM makes it save its state and exit; jobs keep running.
                os.kill(pid, signal.SIGTERM)
                wait_until(lambda: not alive(pid), timeout=30)
                return
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not alive(pid), timeout=10)

    def start_controller(self) -> None:
        """Start slurmctld again on its saved state (as slurm-up.sh would)."""
        if self.controller_pid() is None:
            subprocess.run(["slurmctld", "-f", self.conf], env=self.env(), check=True, timeout=30)
        wait_until(
            lambda: (
                subprocess.run(
                    ["scontrol", "ping"], env=self.env(), capture_output=True, check=False
                ).returncode
                == 0
            ),
            timeout=30,
        )


def fleet_yaml(cluster: SlurmCluster, local_nodes: int = 2, ray_url: str | None = None) -> str:
    """Slurm in Beijing (cheaper) and a fallback in Tianjin (local engine, or Ray at ray_url).

    Both have H100 pools; the fallback cluster is called ``fallback-tj`` either way.
    """
    if ray_url:
        fallback = f"""engine: {{type: ray, endpoint: "{ray_url}"}}
        pools:
          - {{name: h100, accelerator: H100, nodes: 1, accelerators_per_node: 8,
             cpus_per_node: 2, memory_gb_per_node: 4, price_per_accelerator_hour: "20.00"}}"""
    else:
        fallback = f"""engine: {{type: local}}
        pools:
          - {{name: h100, accelerator: H100, nodes: {local_nodes}, accelerators_per_node: 4,
             cpus_per_node: 16, memory_gb_per_node: 16, price_per_accelerator_hour: "20.00"}}"""
    return f"""
providers:
  - name: hpc-center
    clusters:
      - name: slurm-bj
        region: beijing
        engine: {{type: slurm, options: {{conf: "{cluster.conf}"}}}}
        pools:
          - {{name: h100, accelerator: H100, nodes: {cluster.nodes},
             accelerators_per_node: {cluster.gpus_per_node}, cpus_per_node: 16,
             memory_gb_per_node: 16, price_per_accelerator_hour: "5.00"}}
  - name: fallback
    clusters:
      - name: fallback-tj
        region: tianjin
        {fallback}
"""


def slurm_cluster() -> SlurmCluster:
    """The cluster from scripts/slurm-up.sh's env; skipped locally without it, never in CI."""
    conf = os.environ.get("SUANLI_TEST_SLURM_CONF")
    if not conf:
        if os.environ.get("CI"):
            raise RuntimeError("CI must run the Slurm tests: SUANLI_TEST_SLURM_CONF is unset")
        pytest.skip("SUANLI_TEST_SLURM_CONF is unset (scripts/test starts Slurm as root)")
    return SlurmCluster(
        conf,
        Path(os.environ["SUANLI_TEST_SLURM_DIR"]),
        os.environ.get("SUANLI_TEST_SLURM_GPU_TYPE", "h100"),
        int(os.environ.get("SUANLI_TEST_SLURM_GPUS_PER_NODE", "4")),
        int(os.environ.get("SUANLI_TEST_SLURM_NODES", "2")),
    )

"""Billing through the real `suanli up` process and the real CLI, across a kill -9."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import wait_until

pytestmark = pytest.mark.e2e

SUANLI = Path(sys.executable).with_name("suanli")
JOB_TIMEOUT_S = 90.0
CLI_TIMEOUT_S = 60.0
FLEET = """
providers:
  - name: etown-test
    clusters:
      - name: etown-1
        region: beijing
        engine: {type: local}
        pools:
          - {name: ascend, accelerator: Ascend910B, nodes: 1, accelerators_per_node: 8,
             cpus_per_node: 16, memory_gb_per_node: 64, price_per_accelerator_hour: "36000.00"}
"""
JOB = """name: billed
resources: {accelerator: {model: Ascend910B, count: 1}, cpus: 1, memory_gb: 1}
run: sleep 1
time_limit_hours: 0.1
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(SUANLI_SERVER=url, SUANLI_LANG="en", NO_PROXY="127.0.0.1", COLUMNS="250")
    return env


class Server:
    """`suanli up --fleet FILE` on a free port; killable and restartable on the same data."""

    def __init__(self, data_dir: Path, fleet: Path) -> None:
        self.data_dir, self.fleet = data_dir, fleet
        self.url = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        self.url = f"http://127.0.0.1:{_free_port()}"
        log_path = self.data_dir.parent / f"server-{self.starts}.log"
        port = self.url.rsplit(":", 1)[1]
        args = ["up", "--port", port, "--data-dir", str(self.data_dir), "--interval", "0.2"]
        with log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [str(SUANLI), *args, "--fleet", str(self.fleet)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_env(self.url),
            )
        proc = self.proc

        def healthy() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"suanli up exited: {log_path.read_text()}")
            with contextlib.suppress(httpx.TransportError), self.http() as client:
                return client.get("/healthz").status_code == 200
            return False

        wait_until(healthy, timeout=30)

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, trust_env=False, timeout=10)

    def run(self, argv: list[str], *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*argv, "--server", self.url, *args],
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            env=_env(self.url),
            check=False,
        )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(FLEET)
    running = Server(tmp_path / "data", fleet)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def test_a_server_killed_as_a_job_ends_bills_it_exactly_once(
    server: Server, tmp_path: Path
) -> None:
    spec = tmp_path / "job.yaml"
    spec.write_text(JOB)
    suanli = billing = [str(SUANLI)]
    submitted = server.run(suanli, "submit", str(spec), "--tenant", "demo", "--json")
    assert submitted.returncode == 0, submitted.stderr
    job_id = json.loads(submitted.stdout)["id"]

    def finished() -> bool:
        with server.http() as client:
            return client.get(f"/api/v1/jobs/{job_id}").json()["status"] == "succeeded"

    wait_until(finished, timeout=JOB_TIMEOUT_S, every=0.02)
    server.kill9()  # at once: before or during settlement, as luck has it
    server.start()

    def bill() -> dict[str, Any] | None:
        shown = server.run(billing, "bill", "demo", "--json")
        assert shown.returncode == 0, shown.stderr
        data = dict(json.loads(shown.stdout))
        return data if data["lines"] and all(x["posted"] for x in data["lines"]) else None

    data = wait_until(bill, timeout=30, every=0.2)
    lines = [x for x in data["lines"] if x["job_id"] == job_id]
    assert len(lines) == 1
    line = lines[0]
    assert line["programme"] == "beijing-etown-compute-2024"
    gross = Decimal(line["gross"])
    assert gross > 0
    assert Decimal(line["deduction"]) == (gross * Decimal("0.4")).quantize(Decimal("0.01"))
    assert data["totals"]["net"] == line["net"]

    verified = server.run(billing, "ledger", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "ledger verified" in verified.stdout
    as_json = json.loads(server.run(billing, "ledger", "verify", "--json").stdout)
    assert as_json["ok"] is True
    assert as_json["entries"] == 2  # the programme's pool opening and this job's settlement


def test_voucher_quote_policies_and_report_from_the_cli(server: Server) -> None:
    billing = [str(SUANLI)]
    quoted = server.run(billing, "voucher", "quote", "--amount", "1000.00", "--domestic")
    assert quoted.returncode == 0, quoted.stderr
    assert "net ¥600.00" in quoted.stdout or "net 600.00" in quoted.stdout
    foreign = json.loads(
        server.run(billing, "voucher", "quote", "--amount", "1000", "--foreign", "--json").stdout
    )
    assert foreign["net"] == "700.00"
    refused = server.run(billing, "voucher", "quote", "--amount", "1.001", "--domestic")
    assert refused.returncode == 2
    assert "amount" in refused.stderr
    zh = server.run(
        billing, "--lang", "zh", "voucher", "quote", "--amount", "10", "--tenant", "haidian-vision"
    )
    assert zh.returncode == 0, zh.stderr
    assert "实付" in zh.stdout
    policies = json.loads(server.run(billing, "voucher", "policies", "--json").stdout)
    assert "beijing-etown-compute-2024" in {p["programme"] for p in policies}
    report = server.run(billing, "report", "--format", "csv")
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith("section,programme,month,tenant")
    assert server.run(billing, "bill", "nobody").returncode == 2

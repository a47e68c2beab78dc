"""Billing through the real `suanli up` process and the real CLI, across a kill -9."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_until
from tests.e2e.server import JOB_TIMEOUT_S, SUANLI, Server, serve

pytestmark = pytest.mark.e2e

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


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    yield from serve(tmp_path, FLEET)


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
            return bool(client.get(f"/api/v1/jobs/{job_id}").json()["status"] == "succeeded")

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

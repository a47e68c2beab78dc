"""`suanli purchase add | list | subsidise` (provider subsidy) through the real server and CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import SUANLI, Server, serve

pytestmark = pytest.mark.e2e

CLI = [str(SUANLI)]
# An E-Town provider that meets every rule of the provider subsidy, with a domestic pool.
FLEET = """
providers:
  - name: etown-cloud
    attributes:
      registered_zone: yizhuang-new-town
      independent_legal_person: true
      no_major_penalty_3y: true
      no_criminal_record_3y: true
      not_on_dishonesty_list: true
      energy_review_passed: true
    clusters:
      - name: etown-1
        region: beijing
        engine: {type: local}
        pools:
          - {name: ascend, accelerator: Ascend910B, nodes: 1, accelerators_per_node: 8,
             cpus_per_node: 16, memory_gb_per_node: 64, price_per_accelerator_hour: "10.00"}
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    yield from serve(tmp_path, FLEET)


def test_purchases_are_added_listed_and_subsidised_from_the_cli(server: Server) -> None:
    base = [
        "purchase",
        "add",
        "--provider",
        "etown-cloud",
        "--project",
        "etown-ascend",
        "--servers",
        "100",
        "--amount",
        "50000000.00",
        "--evidence",
        "CG-2026-017",
    ]
    foreign = server.run(CLI, *base, "--accelerator", "H100", "--listed-cluster", "etown-1")
    assert foreign.returncode == 2
    assert "accelerator: " in foreign.stderr
    assert "not a domestic AI chip" in foreign.stderr
    unlisted = server.run(CLI, *base, "--accelerator", "Ascend910B", "--listed-cluster", "x-9")
    assert unlisted.returncode == 2
    assert "listed_cluster: " in unlisted.stderr
    added = server.run(
        CLI, *base, "--accelerator", "Ascend910B", "--listed-cluster", "etown-1", "--json"
    )
    assert added.returncode == 0, added.stderr
    pid = json.loads(added.stdout)["purchase_id"]
    shown = server.run(CLI, "purchase", "subsidise", pid)
    assert shown.returncode == 0, shown.stderr
    assert "10%" in shown.stdout
    assert "5000000.00" in shown.stdout
    again = json.loads(server.run(CLI, "purchase", "subsidise", pid, "--json").stdout)
    assert (again["deduction"], again["posted"]) == ("5000000.00", True)
    listed = server.run(CLI, "purchase", "list", "--provider", "etown-cloud", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [(x["purchase_id"], x["subsidy"]) for x in json.loads(listed.stdout)] == [
        (pid, "5000000.00")
    ]
    table = server.run(CLI, "purchase", "list")
    assert pid in table.stdout
    assert server.run(CLI, "ledger", "verify").returncode == 0

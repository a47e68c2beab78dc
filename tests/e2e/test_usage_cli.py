"""`suanli usage` through the real `suanli up` process: an empty month, JSON and tables in
both languages, and bad input refused before the server is asked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import SUANLI, Server, serve

pytestmark = pytest.mark.e2e

FLEET = """
providers:
  - name: etown-test
    clusters:
      - name: etown-1
        region: beijing
        engine: {type: local}
        pools:
          - {name: cpu, accelerator: Ascend910B, nodes: 1, accelerators_per_node: 1,
             cpus_per_node: 2, memory_gb_per_node: 4, price_per_accelerator_hour: "1.00"}
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    yield from serve(tmp_path, FLEET)


def test_usage_reads_the_month_and_refuses_bad_input(server: Server) -> None:
    cli = [str(SUANLI)]
    found = server.run(cli, "usage", "--tenant", "demo", "--month", "2026-11", "--json")
    assert found.returncode == 0, found.stderr
    body = json.loads(found.stdout)
    assert (body["tenant"], body["month"], body["requests"], body["charges"]) == (
        "demo",
        "2026-11",
        0,
        [],
    )
    table = server.run(cli, "usage", "--tenant", "demo", "--month", "2026-11", "--publisher")
    assert table.returncode == 0, table.stderr
    assert "no model-service usage in 2026-11" in table.stdout
    bad = server.run(cli, "usage", "--month", "2026-13")
    assert bad.returncode == 2
    assert "2026-13" in bad.stderr
    key = server.run(cli, "usage", "--key", "a b")
    assert key.returncode == 2
    assert "--key" in key.stderr

"""`suanli voucher redeem | redemptions` through the real `suanli up` process: a run of a
closed month with nothing to redeem, the report as JSON and a table, an open month and a
bad period refused naming the period."""

from __future__ import annotations

import json

import pytest

from tests.e2e.server import SUANLI, Server
from tests.e2e.test_usage_cli import server as server  # the same server fixture

pytestmark = pytest.mark.e2e


def test_redeem_and_report_a_period_through_the_server(server: Server) -> None:
    cli = [str(SUANLI)]
    run = server.run(cli, "voucher", "redeem", "--period", "2025-01", "--json")
    assert run.returncode == 0, run.stderr
    body = json.loads(run.stdout)
    assert (body["period"], body["new"], body["posted"], body["redemptions"]) == (
        "2025-01",
        0,
        0,
        [],
    )
    assert (body["redeemed"], body["pending"]) == ("0.00", "0.00")
    table = server.run(cli, "voucher", "redemptions", "--period", "2025-01")
    assert table.returncode == 0, table.stderr
    assert "no redemptions" in table.stdout
    open_month = server.run(cli, "voucher", "redeem", "--period", "2099-01")
    assert open_month.returncode != 0
    assert "2099-01" in open_month.stderr
    assert "not over yet" in open_month.stderr
    bad = server.run(cli, "voucher", "redemptions", "--period", "2025-13")
    assert bad.returncode == 2
    assert "2025-13" in bad.stderr

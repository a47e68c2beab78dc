"""`suanli contract` and `suanli voucher show | issue` through the real server and CLI."""

from __future__ import annotations

import json

import pytest

from suanli.billing.metering import month_of
from suanli.domain.clock import SystemClock
from tests.e2e.server import SUANLI, Server
from tests.e2e.test_billing_cli import server

pytestmark = pytest.mark.e2e
__all__ = ["server"]  # the fixture, shared with the billing CLI tests

CLI = [str(SUANLI)]


def test_contracts_are_added_listed_and_redeemed_from_the_cli(server: Server) -> None:
    added = server.run(
        CLI,
        "contract",
        "add",
        "--tenant",
        "demo",
        "--vendor",
        "Zhipu AI",
        "--model",
        "GLM-4",
        "--kind",
        "api_calls",
        "--domestic",
        "--amount",
        "300000.00",
        "--evidence",
        "HT-1; 备案号 Beijing-GLM",
        "--json",
    )
    assert added.returncode == 0, added.stderr
    cid = json.loads(added.stdout)["contract_id"]
    foreign = server.run(
        CLI,
        "contract",
        "add",
        "--tenant",
        "demo",
        "--vendor",
        "X",
        "--model",
        "Y",
        "--kind",
        "api_calls",
        "--amount",
        "1000.00",
        "--evidence",
        "e",
    )
    assert foreign.returncode == 2
    assert "domestic: " in foreign.stderr
    assert "技术自主可控" in foreign.stderr
    listed = server.run(CLI, "contract", "list", "--tenant", "demo")
    assert listed.returncode == 0, listed.stderr
    assert cid in listed.stdout
    period = month_of(SystemClock().now())  # the server's clock: this month, China time
    redeemed = server.run(
        CLI, "contract", "redeem", cid, "--period", period, "--completed", "100000.00"
    )
    assert redeemed.returncode == 0, redeemed.stderr
    assert "50%" in redeemed.stdout
    again = server.run(
        CLI, "contract", "redeem", cid, "--period", period, "--completed", "100000.00", "--json"
    )
    assert json.loads(again.stdout)["deduction"] == "50000.00"
    bill = json.loads(server.run(CLI, "bill", "demo", "--month", period, "--json").stdout)
    assert bill["totals"]["model_voucher"] == "50000.00"
    shown = server.run(CLI, "bill", "demo", "--month", period)
    assert "¥50,000.00" in shown.stdout  # amounts read with thousands separators
    assert server.run(CLI, "ledger", "verify").returncode == 0


def test_voucher_show_and_issue_from_the_cli(server: Server) -> None:
    shown = server.run(CLI, "voucher", "show", "etown-robotics")
    assert shown.returncode == 0, shown.stderr
    said = json.loads(server.run(CLI, "voucher", "show", "etown-robotics", "--json").stdout)
    refused = next(p for p in said["programmes"] if p["programme"].endswith("compute-2024"))
    assert "serious dishonesty list" in refused["why_not"]  # the rule in words (issue 21)
    data = json.loads(server.run(CLI, "voucher", "show", "demo", "--json").stdout)
    compute = next(p for p in data["programmes"] if p["programme"].endswith("compute-2024"))
    assert compute["eligible"] is True
    assert compute["cap_left"] == "20000000.00"
    args = ["voucher", "issue", "--tenant", "demo", "--programme", compute["programme"]]
    first = server.run(CLI, *args)
    assert first.returncode == 0, first.stderr
    assert "recorded" in first.stdout
    assert "即领即享" in first.stdout
    second = json.loads(server.run(CLI, *args, "--json").stdout)
    assert second["new"] is False
    unknown = server.run(CLI, "voucher", "show", "nobody")
    assert unknown.returncode == 2

"""`suanli voucher redeem | redemptions`: a bad period refused before the server is asked;
the report in zh-CN and en with what was withheld and what waits."""

from __future__ import annotations

import datetime as dt

from typer.testing import CliRunner

from suanli.cli import main
from suanli.cli.context import out
from suanli.cli.redemptions import print_report
from suanli.schemas.redemptions import PeriodRedemptionResponse, RedemptionReportResponse

ROW = PeriodRedemptionResponse(
    key="redeem:beijing-etown-model-2024:2026-10:acme:pub:1",
    programme="beijing-etown-model-2024",
    period="2026-10",
    company="acme",
    seller="pub",
    run=1,
    claimed="120.00",
    redeemed="100.00",
    withheld="20.00",
    withheld_by="tenant_cap",
    deductions=3,
    at=dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC),
    posted=True,
    why="over the cap",
)
REPORT = RedemptionReportResponse(
    period="2026-10",
    company=None,
    redemptions=[ROW],
    claimed="120.00",
    redeemed="100.00",
    withheld="20.00",
    pending="3.50",
)


def test_a_bad_period_exits_2_before_asking_the_server() -> None:
    runner = CliRunner()
    for command in (["redeem", "--period"], ["redemptions", "--period"]):
        done = runner.invoke(
            main.app, ["--server", "http://127.0.0.1:9", "voucher", *command, "2026-13"]
        )
        assert done.exit_code == 2, done.output
        assert "2026-13" in done.output


def test_the_report_says_what_was_redeemed_withheld_and_waits() -> None:
    with out.capture() as en:
        print_report(REPORT, "en")
    text = en.get()
    for shown in ("¥100.00", "¥20.00", "over the cap", "Not yet redeemed for 2026-10: ¥3.50"):
        assert shown in text
    with out.capture() as zh:
        print_report(REPORT, "zh")
    assert "暂不兑付" in zh.get()
    assert "2026-10 尚未兑付：¥3.50" in zh.get()

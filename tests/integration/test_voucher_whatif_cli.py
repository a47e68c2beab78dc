"""`suanli sim replay --vouchers`: a slice of the Philly trace put to programme files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from suanli.cli.sim import app

ROOT = Path(__file__).resolve().parents[2]
TRACES = Path(os.environ.get("SUANLI_TRACES", ROOT.parent / "shared" / "traces"))
PHILLY = TRACES / "sia-sosp23" / "traces" / "philly.csv"
SCENARIO = ROOT / "examples" / "sim" / "philly-helios.yaml"
needs_traces = pytest.mark.skipif(
    not PHILLY.exists() and not os.environ.get("CI"), reason=f"traces not found in {TRACES}"
)


@pytest.fixture(scope="module")
def philly_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lines = PHILLY.read_text().splitlines()
    rows = sorted((r for r in lines[1:] if r >= "2017-10-01"), key=lambda r: r[:19])[:200]
    path = tmp_path_factory.mktemp("philly") / "philly.csv"
    path.write_text("\n".join([lines[0], *rows]) + "\n")
    return path


@needs_traces
def test_the_what_if_reports_pool_spend_by_month(philly_slice: Path) -> None:
    args = ["replay", "--trace", f"philly:{philly_slice}", "--fleet", str(SCENARIO)]
    result = CliRunner().invoke(app, [*args, "--vouchers", "library:shenzhen", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    w = body["vouchers"]
    assert w["programmes"] == [
        "shenzhen-municipal-corpus-2024",
        "shenzhen-municipal-model-2024",
        "shenzhen-municipal-training-2024",
    ]
    spend = w["pool_spend"]["shenzhen-municipal-training-2024"]
    assert spend  # compute spend met the training voucher
    assert set(spend) <= set(w["months"])
    assert w["deduction"] == f"{sum(float(v) for v in spend.values()):.2f}"
    assert w["dry_month"]["shenzhen-municipal-training-2024"] is None  # 5亿 is not reached
    assert w["assumed_eligible"]  # the scenario's tenants carry no Shenzhen attributes
    table = CliRunner().invoke(app, [*args, "--vouchers", "library:shenzhen"])
    assert table.exit_code == 0, table.output
    assert "shenzhen-municipal-training-2024" in table.stdout


def test_an_unknown_library_names_the_field_and_the_choices(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "replay",
            "--trace",
            f"philly:{tmp_path / 'none.csv'}",
            "--fleet",
            str(SCENARIO),
            "--vouchers",
            "library:atlantis",
        ],
    )
    assert result.exit_code == 2
    assert "atlantis" in result.stderr
    assert "shanghai" in result.stderr
    assert "Traceback" not in result.output

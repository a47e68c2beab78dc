"""The report's datasheet table on a GPU result: the BF16 (and FP16) measured/datasheet
ratio is printed in its own column.

``tests/data/eval-result-h100.json`` is shaped like the line ``scripts/eval-gpu.sh`` stores
from an H100 (the suite's own format, read by the same parser as a job's output); its
figures are made up for the test, not measured: no GPU was lent when it was written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from rich.console import Console

from suanli.cli.eval import datasheet_table
from suanli.domain.evaluation import EvalRecord
from suanli.schemas.evalfile import parse_eval_output
from suanli.schemas.evaluation import EvalReportResponse
from suanli.service.bootstrap import open_platform
from suanli.service.eval_report import eval_report
from suanli.service.evaluation import measured_record

STORED = Path(__file__).resolve().parents[1] / "data" / "eval-result-h100.json"
AT = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)
SHEET = 989.0  # the catalog's dense FP16/BF16 TFLOPS of the H100


def _render(table: object) -> str:
    console = Console(record=True, width=240, highlight=False)
    console.print(table)
    return console.export_text()


def _stored(tmp_path: Path, request: pytest.FixtureRequest, text: str) -> EvalReportResponse:
    """The report of a platform (SQLite) whose H100 pool holds ``text`` as its result."""
    p = open_platform(tmp_path / "data", detect_gpus=False, simulated_engines=True)
    request.addfinalizer(p.close)
    assert p.evals is not None
    output = parse_eval_output(b"SUANLI-EVAL-RESULT " + text.encode(), "stored")
    running = EvalRecord(
        "j-h100", "e-000000000001", ("micro",), "bj-etown-1", "h100", "H100", "running", AT
    )
    p.evals.add([running])
    assert p.evals.complete(measured_record(running, output))
    return eval_report(p)


def test_a_gpu_result_prints_its_bf16_ratio_to_the_datasheet(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    report = _stored(tmp_path, request, STORED.read_text())
    (row,) = report.datasheet
    assert row.hardware_is_model  # NVIDIA H100 80GB HBM3 is the catalog's H100 (an alias)
    assert row.datasheet_tflops == SHEET
    assert row.ratio_bf16 == round(700.3 / SHEET, 4)
    assert row.ratio_fp16 == round(712.4 / SHEET, 4)
    en = _render(datasheet_table(report, "en"))
    assert "BF16 / datasheet" in en
    assert f"{700.3 / SHEET:.1%}" in en  # 70.8%
    assert f"{712.4 / SHEET:.1%}" in en
    zh = _render(datasheet_table(report, "zh"))
    assert "BF16 实测/标称" in zh
    assert f"{700.3 / SHEET:.1%}" in zh


def test_an_emulated_pool_prints_no_ratio_and_says_why(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    text = (
        STORED.read_text()
        .replace("NVIDIA H100 80GB HBM3", "AMD EPYC")
        .replace('"backend":"cuda"', '"backend":"cpu"')
    )
    report = _stored(tmp_path, request, text)
    (row,) = report.datasheet
    assert row.ratio_bf16 is None
    assert "not H100" in row.note
    assert f"{700.3 / SHEET:.1%}" not in _render(datasheet_table(report, "en"))

"""An unsteady figure through the real parser, store (SQLite and PostgreSQL), placement and
report: kept and shown with its reason, while placement keeps the pool's previous steady one.

The result lines are shaped like the suite's own (``suanli.evalsuite``); their figures are
made up for the test, not measured."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from rich.console import Console
from sqlalchemy import create_engine, text

from suanli.api.auth import TOKEN_COOKIE
from suanli.cli.eval import set_aside_table, throughput_table
from suanli.domain.evaluation import EvalRecord
from suanli.schemas.evalfile import parse_eval_output
from suanli.service.bootstrap import open_platform
from suanli.service.deps import Platform
from suanli.service.eval_report import eval_report
from suanli.service.evaluation import apply_measurements, measured_record
from suanli.store.sql.database import normalize_url
from suanli.web.app import create_app
from tests.access import operator_token, signed_in

AT = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)
CLASS = "suanli-eval/llama-4l-d512-s128-b2-train"
WHY = "the hypervisor took 14% of the host's CPU time"
WHY_ZH = "虚拟化层占用了主机 14% 的 CPU 时间"


def _line(bf16: float, llama: float, steady: bool) -> bytes:
    flag: dict[str, Any] = {"steady": steady, "error": 0.004, "steal": 0.02 if steady else 0.14}
    detail = "median of 7 windows" + ("" if steady else f"; UNSTEADY: {WHY} / 不稳定：{WHY_ZH}")
    common = {"framework": "pytorch", "status": "passed", "detail": detail, **flag}
    items = [
        {"name": "gemm_bf16", "kind": "micro", "value": bf16, "unit": "TFLOPS", "dtype": "bf16"},
        {"name": "llama_train", "kind": "models", "value": llama, "unit": "samples/s"},
    ]
    items[1]["job_class"] = CLASS
    out = {
        "format": "suanli/eval-result/v1",
        "suites": ["micro", "models"],
        "hardware": {
            "backend": "cuda",
            "device": "NVIDIA H100 80GB HBM3",
            "count": 8,
            "threads": 16,
        },
        "software": {"python": "3.11.7", "numpy": "2.3.5", "torch": "2.13.0+cu128"},
        "items": [{**common, **i} for i in items],
        "seconds": 60.0,
    }
    return b"noise before\nSUANLI-EVAL-RESULT " + json.dumps(out).encode() + b"\n"


def _store(p: Platform, job: str, hours: int, log: bytes) -> None:
    assert p.evals is not None
    at = AT + dt.timedelta(hours=hours)
    running = EvalRecord(
        job, "e-" + job[-12:], ("micro",), "bj-etown-1", "h100", "H100", "running", at
    )
    p.evals.add([running])
    done = measured_record(running, parse_eval_output(log, job))
    assert p.evals.complete(dataclasses.replace(done, measured_at=at))


def _render(table: object) -> str:
    console = Console(record=True, width=260, highlight=False)
    console.print(table)
    return console.export_text()


@pytest.fixture
def platform(tmp_path: Path, database_url: str) -> Platform:
    return open_platform(tmp_path / "data", database_url=database_url, detect_gpus=False)


def test_an_unsteady_run_is_stored_shown_and_kept_out_of_placement(
    platform: Platform, request: pytest.FixtureRequest
) -> None:
    p = platform
    request.addfinalizer(p.close)
    _store(p, "j-000000000001", 0, _line(700.0, 300.0, steady=True))
    _store(p, "j-000000000002", 1, _line(350.0, 90.0, steady=False))
    apply_measurements(p)
    assert p.fleet.measured is not None
    assert dict(p.fleet.measured.table.rates) == {(CLASS, "H100"): 300.0}

    assert p.evals is not None
    newest = next(r for r in p.evals.records() if r.job_id == "j-000000000002")
    llama = next(i for i in newest.items if i.name == "llama_train")
    assert (llama.steady, llama.error, llama.steal) == (False, 0.004, 0.14)

    report = eval_report(p)
    assert report.regressions == []  # 300 -> 90 was unsteady: not a regression
    rows = {r.item: r for r in report.throughput}
    assert rows["llama_train"].value == 90.0
    assert rows["llama_train"].steady is False
    assert rows["llama_train"].unsteady_why == WHY
    assert rows["llama_train"].unsteady_why_zh == WHY_ZH
    aside = {x.item: x for x in report.set_aside}
    assert set(aside) == {"gemm_bf16", "llama_train"}
    assert (aside["llama_train"].used, aside["llama_train"].used_job_id) == (
        300.0,
        "j-000000000001",
    )
    (sheet,) = report.datasheet
    assert sheet.measured_bf16_tflops == 700.0  # the steady figure, not 350
    assert "gemm_bf16 unsteady" in sheet.note
    as_json = report.model_dump(mode="json")
    assert as_json["set_aside"][0]["why_zh"] == WHY_ZH

    en = _render(throughput_table(report, "en")) + _render(set_aside_table(report, "en"))
    assert f"UNSTEADY: {WHY}" in en
    assert "uses 300 (job j-000000000001)" in en
    assert "0.4% / 14.0%" in en  # median ± / stolen
    zh = _render(throughput_table(report, "zh")) + _render(set_aside_table(report, "zh"))
    assert f"不稳定：{WHY_ZH}" in zh
    assert "改用 300" in zh


def test_a_row_stored_before_the_flag_still_reads_and_counts(
    platform: Platform, request: pytest.FixtureRequest, database_url: str
) -> None:
    p = platform
    request.addfinalizer(p.close)
    _store(p, "j-000000000003", 0, _line(700.0, 250.0, steady=True))
    old = [
        {
            "name": "llama_train",
            "kind": "models",
            "framework": "pytorch",
            "status": "passed",
            "value": 250.0,
            "unit": "samples/s",
            "detail": "",
            "cv": 0.01,
            "job_class": CLASS,
            "op": None,
            "dtype": None,
            "tolerance": None,
            "written_by_a_newer_server": 1,
        }
    ]
    engine = create_engine(normalize_url(database_url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE eval_results SET items = :items"), {"items": json.dumps(old)})
    engine.dispose()
    assert p.evals is not None
    (record,) = p.evals.records()
    (item,) = record.items
    assert (item.steady, item.error, item.steal) == (None, None, None)
    apply_measurements(p)
    assert p.fleet.measured is not None
    assert dict(p.fleet.measured.table.rates) == {(CLASS, "H100"): 250.0}
    report = eval_report(p)
    assert report.set_aside == []
    assert "UNSTEADY" not in _render(throughput_table(report, "en"))


def test_the_console_marks_the_unsteady_figure_and_what_stands_in_both_languages(
    platform: Platform, request: pytest.FixtureRequest
) -> None:
    p = platform
    request.addfinalizer(p.close)
    _store(p, "j-000000000004", 0, _line(700.0, 300.0, steady=True))
    _store(p, "j-000000000005", 1, _line(350.0, 90.0, steady=False))
    with TestClient(create_app(p, run_loop=False)) as client:
        signed_in(client, p)
        client.cookies.set(TOKEN_COOKIE, operator_token(p))
        en = client.get("/console/eval?lang=en")
        assert en.status_code == 200
        assert 'id="eval-set-aside"' in en.text
        assert str(escape(f"UNSTEADY: {WHY}")) in en.text
        assert "uses 300 (job j-000000000004)" in en.text
        zh = client.get("/console/eval?lang=zh")
        assert f"不稳定：{WHY_ZH}" in zh.text
        assert "已搁置的不稳定数值" in zh.text

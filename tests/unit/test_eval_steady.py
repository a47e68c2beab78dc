"""Figures the suite flagged unsteady: kept and shown, never used by placement or regressions."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from suanli.domain.errors import InvalidInput
from suanli.domain.evaluation import (
    EvalItem,
    EvalRecord,
    measured_table,
    measurements,
    regressions,
    set_aside,
)
from suanli.schemas.evalfile import EvalItem as WireItem
from suanli.schemas.validation import validate_model
from tests.builders import CATALOG, T0

CLASS = "suanli-eval/llama-4l-d512-s128-b2-train"
WHY = "the host's speed varied while it was measured (window CV 9.0%, median ±3.7% > ±2.5%)"
WHY_ZH = "测量期间主机速度波动（窗口变异系数 9.0%，中位数 ±3.7% 超过 ±2.5%）"


def rate(value: float, steady: bool | None = True) -> EvalItem:
    detail = "" if steady is not False else f"CV 9.0%; UNSTEADY: {WHY} / 不稳定：{WHY_ZH}"
    return EvalItem(
        "llama_train",
        "models",
        "pytorch",
        "passed",
        value,
        "samples/s",
        detail,
        job_class=CLASS,
        steady=steady,
        error=0.01 if steady else 0.037,
        steal=0.0,
    )


def record(job: str, hours: int, *items: EvalItem, pool: str = "h100") -> EvalRecord:
    at = T0 + dt.timedelta(hours=hours)
    return EvalRecord(
        job,
        "e-1",
        ("models",),
        "bj",
        pool,
        "H100",
        "measured",
        at,
        at,
        "cuda",
        "NVIDIA H100 80GB HBM3",
        items=items,
    )


def test_an_unsteady_newest_figure_leaves_the_previous_steady_one_in_the_table() -> None:
    records = [record("j-1", 0, rate(300)), record("j-2", 1, rate(120, steady=False))]
    assert dict(measured_table(records, CATALOG).rates) == {(CLASS, "H100"): 300}
    (aside,) = set_aside(records)
    assert (aside.item, aside.value, aside.job_id) == ("llama_train", 120, "j-2")
    assert (aside.used, aside.used_job_id) == (300, "j-1")
    assert aside.why == WHY
    assert aside.why_zh == WHY_ZH
    assert measurements(records, CATALOG).set_aside == (aside,)


def test_a_pool_with_only_unsteady_figures_has_no_measured_rate() -> None:
    records = [record("j-1", 0, rate(120, steady=False))]
    assert dict(measured_table(records, CATALOG).rates) == {}  # the fallback table decides
    (aside,) = set_aside(records)
    assert aside.used is None
    assert aside.used_job_id is None


def test_a_steady_figure_after_an_unsteady_one_is_used_and_nothing_is_set_aside() -> None:
    records = [record("j-1", 0, rate(120, steady=False)), record("j-2", 1, rate(280))]
    assert dict(measured_table(records, CATALOG).rates) == {(CLASS, "H100"): 280}
    assert set_aside(records) == ()


def test_figures_older_than_the_flag_count_as_before() -> None:
    records = [record("j-1", 0, rate(300, steady=None))]
    assert dict(measured_table(records, CATALOG).rates) == {(CLASS, "H100"): 300}
    assert set_aside(records) == ()


def test_an_unsteady_drop_is_no_regression_but_a_steady_one_is() -> None:
    unsteady = [record("j-1", 0, rate(300)), record("j-2", 1, rate(100, steady=False))]
    assert regressions(unsteady) == []
    steady = [*unsteady, record("j-3", 2, rate(200))]
    (found,) = regressions(steady)
    assert (found.before, found.after, found.job_id) == (300, 200, "j-3")


def test_the_reason_without_the_suites_words_falls_back_to_the_figures() -> None:
    bare = dataclasses.replace(rate(1, steady=False), detail="", error=0.041, steal=0.12)
    assert bare.unsteady_why("en") == "median ±4.1%, 12.0% stolen"
    assert rate(1, steady=False).unsteady_why("zh") == WHY_ZH
    assert rate(1).unsteady_why("en") == ""


BASE = {"name": "gemm_fp32", "kind": "micro", "framework": "numpy", "status": "passed"}


def test_the_wire_reads_the_steadiness_and_older_lines_without_it() -> None:
    item = validate_model(
        WireItem, {**BASE, "steady": False, "error": 0.03, "steal": 0.2}, "t", "c"
    )
    assert (item.steady, item.error, item.steal) == (False, 0.03, 0.2)
    old = validate_model(WireItem, BASE, "t", "c")
    assert (old.steady, old.error, old.steal) == (None, None, None)


@pytest.mark.parametrize(
    ("field", "value"),
    [("steady", "false"), ("steady", 0), ("error", -0.1), ("error", 1e6), ("steal", 1.5)],
)
def test_the_wire_refuses_a_bad_steadiness_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(InvalidInput) as bad:
        validate_model(WireItem, {**BASE, field: value}, "t", "invalid_eval_result")
    assert bad.value.errors[0].field.endswith(field)

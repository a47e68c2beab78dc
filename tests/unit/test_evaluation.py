"""What evaluation records mean for placement: measured rates, incompatibilities, regressions."""

from __future__ import annotations

import dataclasses
import datetime as dt

from suanli.domain.evaluation import (
    EvalItem,
    EvalRecord,
    measured_table,
    measurements,
    pool_exclusion,
    regressions,
)
from suanli.scheduler.estimate import Estimator
from suanli.scheduler.feasibility import exclusion
from suanli.scheduler.policies import POLICIES
from suanli.scheduler.snapshot import build_snapshot
from tests.builders import CATALOG, T0, make_fleet, make_job, make_pool, make_spec

CLASS = "suanli-eval/llama-4l-d512-s128-b2-train"
FLEET = make_fleet(
    (
        "bj",
        "beijing",
        [
            make_pool("a100", "A100", nodes=1, per_node=8, price="9.50"),
            make_pool("h100", "H100", nodes=1, per_node=8, price="15.00"),
            make_pool("h100-b", "H100", nodes=1, per_node=8, price="15.00"),
        ],
    )
)


def record(
    pool: str,
    model: str | None,
    device: str,
    items: list[EvalItem],
    at: dt.datetime = T0,
    backend: str = "cuda",
    job: str = "j-1",
) -> EvalRecord:
    return EvalRecord(
        job,
        "e-1",
        ("models",),
        "bj",
        pool,
        model,
        "measured",
        at,
        at,
        backend,
        device,
        items=tuple(items),
    )


def rate(value: float, status: str = "passed", name: str = "llama_train") -> EvalItem:
    return EvalItem(name, "models", "pytorch", status, value, "samples/s", job_class=CLASS)


def op(name: str, status: str, dtype: str = "fp32", framework: str = "pytorch") -> EvalItem:
    detail = "" if status == "passed" else "error 0.3 > tolerance 1e-05"
    return EvalItem(
        f"{name}_{dtype}", "conformance", framework, status, detail=detail, dtype=dtype
    )


def test_only_hardware_that_is_the_pools_model_makes_a_rate() -> None:
    records = [
        record("a100", "A100", "NVIDIA A100-SXM4-80GB", [rate(100)]),
        record("h100", "H100", "NVIDIA H100 80GB HBM3", [rate(300)], job="j-2"),
        # A local engine emulating an H100 on the host CPU measured a CPU, not an H100.
        record("h100-b", "H100", "AMD EPYC", [rate(1)], backend="cpu", job="j-3"),
    ]
    table = measured_table(records, CATALOG)
    assert dict(table.rates) == {(CLASS, "A100"): 100, (CLASS, "H100"): 300}
    assert records[0].hardware_is_model(CATALOG)
    assert not records[2].hardware_is_model(CATALOG)


def test_each_pools_newest_figure_counts_and_pools_of_a_model_take_the_median() -> None:
    later = T0 + dt.timedelta(hours=1)
    records = [
        record("h100", "H100", "NVIDIA H100 80GB HBM3", [rate(100)], job="j-1"),
        record("h100", "H100", "NVIDIA H100 80GB HBM3", [rate(300)], at=later, job="j-2"),
        record("h100-b", "H100", "H100-SXM", [rate(500)], job="j-3"),
    ]
    assert measured_table(records, CATALOG).rates[(CLASS, "H100")] == 400  # median(300, 500)


def test_placement_takes_the_measured_ratio_over_dense_tflops() -> None:
    records = [
        record("a100", "A100", "NVIDIA A100-SXM4-80GB", [rate(100)]),
        record("h100", "H100", "NVIDIA H100 80GB HBM3", [rate(150)], job="j-2"),
    ]
    fleet = dataclasses.replace(FLEET, measured=measurements(records, CATALOG))
    measured = Estimator(fleet, T0)
    catalog = Estimator(FLEET, T0)
    assert measured.speed(CLASS, "H100") == 1.5  # 150 / 100, not the datasheet's 989 / 312
    h100 = CATALOG.get("H100")
    assert h100 is not None
    assert h100.tflops is not None
    assert catalog.speed(CLASS, "H100") == h100.tflops / 312
    assert measured.speed("another-class", "H100") == catalog.speed("another-class", "H100")


def test_an_fp32_failure_keeps_a_jobs_framework_off_that_pool_only() -> None:
    records = [
        record(
            "h100",
            "H100",
            "NVIDIA H100 80GB HBM3",
            [op("matmul", "failed"), op("softmax", "passed")],
        ),
        record(
            "a100",
            "A100",
            "NVIDIA A100-SXM4-80GB",
            [op("matmul", "passed"), op("matmul", "failed", dtype="bf16")],
            job="j-2",
        ),
    ]
    measured = measurements(records, CATALOG)
    torch_job = make_spec(
        resources={"accelerator": {"model": ["A100", "H100"], "count": 1}}, frameworks=["torch"]
    )
    plain = make_spec(resources={"accelerator": {"model": ["A100", "H100"], "count": 1}})
    reason = pool_exclusion(torch_job, "bj", "h100", measured)
    assert reason is not None
    assert reason.code == "pool_eval_incompatible"
    assert "matmul_fp32" in reason.render("en")
    assert "实测" in reason.render("zh")
    assert pool_exclusion(plain, "bj", "h100", measured) is None
    # A half-precision failure is reported, not an exclusion (a job names no precision).
    assert pool_exclusion(torch_job, "bj", "a100", measured) is None
    cluster = FLEET.cluster("bj")
    assert cluster is not None
    pool = next(q for q in cluster.pools if q.name == "h100")
    assert exclusion(torch_job, cluster, pool, CATALOG, None, measured) == reason


def test_a_measured_exclusion_shows_in_the_placement_decision() -> None:
    records = [
        record("h100", "H100", "NVIDIA H100 80GB HBM3", [op("matmul", "skipped")]),
        record("a100", "A100", "NVIDIA A100-SXM4-80GB", [rate(1, status="failed")], job="j-2"),
    ]
    fleet = dataclasses.replace(FLEET, measured=measurements(records, CATALOG))
    spec = make_spec(
        resources={"accelerator": {"model": ["H100", "A100"], "count": 8}},
        frameworks=["pytorch"],
        job_class=CLASS,
    )
    result = POLICIES["default"].decide(build_snapshot(T0, fleet, [], [make_job(spec)]))
    decision = (result.placed or result.waiting)[0].decision
    lines = {(v.cluster, v.pool): v for v in decision.verdicts}
    assert decision.chosen == ("bj", "h100-b")  # never measured: nothing against it
    for pool in ("h100", "a100"):  # framework missing there; the class's step failed here
        reason = lines[("bj", pool)].reason
        assert reason is not None
        assert reason.code == "pool_eval_incompatible"
    assert lines[("bj", "a100")].reason.params["what"] == CLASS  # type: ignore[union-attr]
    # The same fleet places a job that names neither on the cheapest pool as before.
    other = make_job(make_spec(resources={"accelerator": {"model": ["A100"], "count": 8}}))
    placed = POLICIES["default"].decide(build_snapshot(T0, fleet, [], [other])).placed
    assert placed[0].placement.pool == "a100"


def test_regressions_flag_a_drop_past_the_threshold_and_a_new_failure() -> None:
    later = T0 + dt.timedelta(days=1)

    def gemm(value: float) -> EvalItem:
        return EvalItem("gemm_bf16", "micro", "pytorch", "passed", value, "TFLOPS")

    records = [
        record("h100", "H100", "H100", [gemm(700), op("matmul", "passed")]),
        record("h100", "H100", "H100", [gemm(600), op("matmul", "failed")], at=later, job="j-2"),
        record("a100", "A100", "A100", [gemm(250)], job="j-3"),
        record("a100", "A100", "A100", [gemm(240)], at=later, job="j-4"),  # -4%: noise
    ]
    found = {(r.pool, r.item): r for r in regressions(records)}
    assert set(found) == {("h100", "gemm_bf16"), ("h100", "matmul_fp32")}
    change = found[("h100", "gemm_bf16")].change
    assert change is not None
    assert round(change, 3) == -0.143
    assert found[("h100", "matmul_fp32")].after_status == "failed"

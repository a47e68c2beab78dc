"""The in-job suite on the CPU: real measurements with NumPy, torch items skipped or run."""

from __future__ import annotations

import importlib.util
import json

import pytest

from suanli.domain.errors import InvalidInput
from suanli.evalsuite import RESULT_PREFIX, conformance, gemm, micro, models
from suanli.evalsuite.__main__ import measure
from suanli.evalsuite.device import Backend, cpu_name
from suanli.evalsuite.timing import MAX_CALLS, Timing, cv, window_calls
from suanli.evalsuite.timing import measure as timed
from suanli.schemas.evalfile import parse_eval_output

NUMPY_ONLY = Backend("cpu", cpu_name(), 1, 1, torch=None)
# The method's plumbing timed in a few short windows: the suite's own (``gemm.GEMM``, 15 of
# 0.25 s after 0.5 s of warm-up, ~4 s of CPU per precision) runs the same code for longer.
QUICK = gemm.Windows(count=3, seconds=0.02, warmup_s=0.02)
HAS_TORCH = importlib.util.find_spec("torch") is not None


def test_numpy_gemm_is_measured_and_bf16_is_skipped_with_the_reason() -> None:
    fp32, bf16 = gemm.gemm(NUMPY_ONLY, "fp32", QUICK), gemm.gemm(NUMPY_ONLY, "bf16", QUICK)
    assert fp32["status"] == "passed"
    assert fp32["unit"] == "TFLOPS"
    assert fp32["value"] > 0
    assert fp32["repeats"] == QUICK.count
    assert fp32["cv"] >= 0
    assert fp32["clock"] == "cpu"  # the CPU backend counts its own CPU time
    assert 0 < fp32["cpu_share"] <= 1
    assert fp32["wall_value"] > 0
    assert "median of 3 windows >= 0.02 s" in fp32["detail"]
    assert bf16["status"] == "skipped"
    assert "bfloat16" in bf16["detail"]


def test_the_cpu_says_copies_do_not_apply_and_models_need_pytorch() -> None:
    copies = micro.copies(NUMPY_ONLY)
    assert [c["status"] for c in copies] == ["skipped", "skipped"]
    assert "not applicable" in copies[0]["detail"]
    steps = models.run(NUMPY_ONLY)
    assert {s["status"] for s in steps} == {"skipped"}
    assert all(s["job_class"].startswith("suanli-eval/") for s in steps)


def test_numpy_fp32_operators_conform_and_every_torch_item_is_accounted_for() -> None:
    items = conformance.run(NUMPY_ONLY, "PyTorch is not installed (test)")
    numpy32 = [i for i in items if i["framework"] == "numpy" and i["dtype"] == "fp32"]
    assert numpy32
    assert all(i["status"] == "passed" for i in numpy32), numpy32
    torch_items = [i for i in items if i["framework"] == "pytorch"]
    assert len(torch_items) == len(conformance.REFERENCE) * len(conformance.TOLERANCE)
    assert {i["status"] for i in torch_items} == {"skipped"}


def test_a_wrong_operator_fails_conformance_with_its_error() -> None:
    inputs = conformance._inputs("softmax")
    found = conformance._check(
        "softmax_fp32", "softmax", "fp32", "numpy", lambda x: x * 0.5, inputs, lambda y: y
    )
    assert found["status"] == "failed"
    assert "tolerance" in found["detail"]


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed (the [eval] extra)")
def test_pytorch_fp32_operators_conform_on_the_cpu() -> None:
    from suanli.evalsuite.device import detect

    backend, _ = detect("cpu")
    items = [i for i in conformance.run(backend, None) if i["framework"] == "pytorch"]
    fp32 = {i["name"]: i for i in items if i["dtype"] == "fp32"}
    assert fp32
    assert all(i["status"] == "passed" for i in fp32.values()), fp32


def test_the_result_line_reads_back_and_hostile_lines_are_refused() -> None:
    result = measure("conformance")
    line = RESULT_PREFIX + json.dumps(result)
    parsed = parse_eval_output(f"noise\n{line}\nmore noise\n".encode(), "job j-1")
    assert parsed.hardware.backend == "cpu"
    assert len(parsed.items) == len(result["items"])
    with pytest.raises(InvalidInput) as missing:
        parse_eval_output(b"no result here\n", "job j-1")
    assert missing.value.errors[0].code == "missing"
    with pytest.raises(InvalidInput):
        parse_eval_output(RESULT_PREFIX.encode() + b"{not json", "job j-1")
    bad = dict(result, items=[{"name": "x", "kind": "micro", "framework": "f", "status": "odd"}])
    with pytest.raises(InvalidInput) as wrong:
        parse_eval_output((RESULT_PREFIX + json.dumps(bad)).encode(), "job j-1")
    assert wrong.value.errors[0].field.startswith("items")
    huge = RESULT_PREFIX.encode() + b"x" * (600 * 1024)
    with pytest.raises(InvalidInput) as large:
        parse_eval_output(huge, "job j-1")
    assert large.value.errors[0].code == "too_large"


def test_the_statistics_of_the_method() -> None:
    # Coefficient of variation: sample standard deviation over the mean.
    assert cv([]) == 0.0
    assert cv([2.0]) == 0.0
    assert cv([1.0, 1.0, 1.0]) == 0.0
    assert cv([1.0, 3.0]) == pytest.approx(2**0.5 / 2)  # stdev sqrt(2), mean 2
    # The figure is the median window; the spread is max - min over it.
    t = Timing([0.010, 0.012, 0.011, 0.030, 0.011])
    assert t.median == 0.011
    assert t.spread == pytest.approx((0.030 - 0.010) / 0.011)
    assert t.cv == pytest.approx(cv(t.seconds))
    # Windows batch calls to last their minimum time, within bounds.
    assert window_calls(0.5, 0.018) == 28  # ceil(0.5 / 0.018)
    assert window_calls(0.5, 0.5) == 1
    assert window_calls(0.5, 2.0) == 1
    assert window_calls(0.5, 0.0) == MAX_CALLS
    assert window_calls(0.5, 1e-9) == MAX_CALLS


def test_warm_up_runs_by_time_and_every_window_is_kept() -> None:
    calls: list[int] = []

    def work() -> None:
        calls.append(sum(range(20_000)))

    found = timed(work, repeats=4, min_repeat_s=0.01, clock="cpu", threads=1, warmup_s=0.02)
    assert len(found.seconds) == 4
    assert found.wall is not None
    assert len(found.wall) == 4
    assert found.clock == "cpu"
    assert found.share is not None
    assert 0 < found.share <= 1
    assert len(calls) >= 2 + 4  # at least two warm-up calls, then each window's batch
    wall = timed(work, repeats=3, min_repeat_s=0.0, warmup_s=0.0)
    assert wall.clock == "wall"
    assert wall.share is None
    assert len(wall.seconds) == 3


def test_only_runs_the_named_micro_items_and_refuses_unknown_ones() -> None:
    found = micro.run(NUMPY_ONLY, ["gemm_fp32", "copies"], QUICK)
    assert [i["name"] for i in found] == [
        "gemm_fp32",
        "copy_host_to_device",
        "copy_device_to_host",
    ]
    with pytest.raises(ValueError, match="no micro item gemm_fp64"):
        micro.run(NUMPY_ONLY, ["gemm_fp64"])

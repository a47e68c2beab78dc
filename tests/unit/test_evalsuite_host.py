"""How the suite tells a steady GEMM figure from one the host disturbed (issue 24)."""

from __future__ import annotations

import json

import pytest

from suanli.evalsuite import RESULT_PREFIX
from suanli.evalsuite.gemm import GEMM, Product, _figure
from suanli.evalsuite.host import (
    STEADY_ERROR,
    HostTimes,
    median_error,
    parse_stat,
    steadiness,
    steal_share,
)
from suanli.evalsuite.timing import Timing, measure_rounds, round_order
from suanli.schemas.evalfile import parse_eval_output

STAT = """cpu  1914582 1470412 427784 885587 15284 0 17202 37970 0 0
cpu0 957291 735206 213892 442793 7642 0 8601 18985 0 0
intr 1 2 3
"""


def test_the_all_cpu_line_of_proc_stat_is_read_with_its_steal() -> None:
    found = parse_stat(STAT)
    assert found == HostTimes(1914582 + 1470412 + 427784 + 885587 + 15284 + 17202 + 37970, 37970)
    # Guest time is inside user time already: counting it again would shrink the share.
    with_guest = parse_stat("cpu  10 0 0 80 0 0 0 10 500 0\n")
    assert with_guest == HostTimes(100, 10)
    assert parse_stat("cpu  1 2 3 4\n") is None  # a kernel without steal: nothing to say
    assert parse_stat("intr 1 2\n") is None
    assert parse_stat("") is None


def test_steal_is_the_share_of_host_time_between_two_readings() -> None:
    assert steal_share(HostTimes(1000, 10), HostTimes(1200, 60)) == pytest.approx(0.25)
    assert steal_share(HostTimes(1000, 10), HostTimes(1200, 10)) == 0.0
    assert steal_share(HostTimes(1000, 10), HostTimes(1000, 10)) is None  # no tick passed
    assert steal_share(None, HostTimes(1, 0)) is None


def test_a_figure_is_flagged_when_its_median_may_be_off_by_more_than_the_bound() -> None:
    # 15 windows at 5% CV: the median is good to about 1.6%: steady.
    calm = steadiness(0.05, 15, 0.01)
    assert calm.steady
    assert calm.error == pytest.approx(1.2533 * 0.05 / 15**0.5, rel=1e-3)
    assert calm.why == ""
    # 15 windows at 12% CV (this CI host at load 8-12): about 3.9%: flagged, in both languages.
    busy = steadiness(0.12, 15, 0.01)
    assert not busy.steady
    assert busy.error > STEADY_ERROR
    assert "window CV 12.0%" in busy.why
    assert "变异系数 12.0%" in busy.why_zh
    # More windows make the same CV steady enough; a stealing hypervisor flags on its own.
    assert steadiness(0.12, 60, None).steady
    stolen = steadiness(0.01, 15, 0.3)
    assert not stolen.steady
    assert "30%" in stolen.why
    assert "30%" in stolen.why_zh
    assert median_error(0.1, 0) == float("inf")


def test_rounds_rotate_so_each_item_takes_each_place_equally() -> None:
    names = ["fp32", "fp16", "bf16"]
    orders = [round_order(names, r) for r in range(6)]
    assert orders[0] == ["fp32", "fp16", "bf16"]
    assert orders[1] == ["fp16", "bf16", "fp32"]
    for place in range(3):
        firsts = [o[place] for o in orders]
        assert all(firsts.count(n) == 2 for n in names)
    assert round_order([], 3) == []


def test_interleaved_windows_alternate_between_the_items() -> None:
    seen: list[str] = []

    def work(name: str) -> None:
        seen.append(name)
        sum(range(5_000))

    found = measure_rounds(
        {"a": lambda: work("a"), "b": lambda: work("b")},
        repeats=4,
        min_repeat_s=0.0,
        clock="cpu",
        threads=1,
        warmup_s=0.0,
    )
    assert set(found) == {"a", "b"}
    assert all(len(t.seconds) == 4 for t in found.values())
    # Two warm-up calls each, then one window of one call per item per round, rotating.
    warm_up, rounds = ["a", "a", "b", "b"], ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert seen == [*warm_up, *rounds]
    for t in found.values():
        assert t.clock == "cpu"
        assert t.share is not None
        assert t.steal is None or 0 <= t.steal <= 1


def test_an_unsteady_gemm_figure_says_so_and_reads_back_with_the_flag() -> None:
    product = Product("fp32", lambda: None, 1024, "pytorch", "AVX2")
    # Windows of this CI host at load 11-14 (seconds per call): CV about 12%.
    noisy = [0.0160, 0.0190, 0.0150, 0.0210, 0.0170, 0.0160, 0.0200, 0.0150] * 2
    found = _figure(product, Timing(noisy[:15], noisy[:15], 0.12, "cpu", 0.004), GEMM)
    assert found["steady"] is False
    assert found["error"] > STEADY_ERROR
    assert found["steal"] == 0.004
    assert "UNSTEADY" in found["detail"]
    assert "不稳定" in found["detail"]
    assert found["value"] == pytest.approx(2 * 1024**3 / 0.0170 / 1e12, rel=1e-4)
    calm = _figure(product, Timing([0.0170] * 15, [0.0170] * 15, 0.9, "cpu", 0.0), GEMM)
    assert calm["steady"] is True
    assert "UNSTEADY" not in calm["detail"]
    result = {
        "format": "suanli/eval-result/v1",
        "suites": ["micro"],
        "seconds": 30.0,
        "hardware": {"backend": "cpu", "device": "AMD EPYC", "count": 1, "threads": 2},
        "software": {"python": "3.12", "numpy": "2.0"},
        "items": [found, calm],
    }
    parsed = parse_eval_output((RESULT_PREFIX + json.dumps(result)).encode(), "job j-1")
    assert "UNSTEADY" in parsed.items[0].detail
    assert parsed.items[0].cv == found["cv"]

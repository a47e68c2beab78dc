"""Timing that repeats: warm up, size each window to a minimum time, keep every window.

The method (issue 24: GEMM figures repeatable within 5% across runs):

* **Threads fixed** to the CPUs the job may use (``os.sched_getaffinity``), set before the
  BLAS loads, with dynamic thread choice off (``device.pin_threads``), so every run uses
  the same threads and the same kernel (the kernel's ISA goes with the figure).
* **Warm-up by time**, not by one call: calls run until ``warmup_s`` has passed (at least
  ``MIN_WARMUP_CALLS``), so one-time costs (thread pool start, kernel selection, first page
  faults, packing buffers) are behind it; the call count of a window comes from the *last*
  warm-up call (the steady state), not the first (which the one-time costs inflate).
* **Windows long enough**: each timed window batches calls to last ``window_s`` at least;
  the figure is the **median** of the windows, their spread (coefficient of variation,
  max-min over the median) goes with it.
* **Which clock**: on an accelerator, wall time after a device sync. On the CPU backend,
  the process's CPU time divided by its threads: a job's CPUs are a share of a host that
  other work also runs on (cgroups and the scheduler give time, not cores), and wall time
  there measures the neighbours as much as the hardware (on this repo's 2-core CI host at
  load 11-15 the wall figure of one FP32 GEMM moved 0.007-0.021 TFLOPS while its CPU-time
  figure stayed at 0.10-0.12). Idle OpenMP threads sleep instead of spinning
  (``OMP_WAIT_POLICY=PASSIVE``), so CPU time counts work. The wall figure and the share of
  its CPUs the job had (CPU seconds over wall seconds times threads) are reported beside
  it, so a starved run shows as starved.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

REPEATS = 5
MIN_REPEAT_S = 0.2  # each window runs the call this long at least (calls batched)
WARMUP_S = 0.3
MIN_WARMUP_CALLS = 2
MAX_CALLS = 1 << 16
Clock = Literal["wall", "cpu"]


@dataclass(frozen=True)
class Timing:
    seconds: list[float]  # per call, one figure per window, on the method's clock
    wall: list[float] | None = None  # per call, wall seconds, one per window
    share: float | None = None  # CPU clock: CPU seconds over (wall seconds x threads)
    clock: Clock = "wall"

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def cv(self) -> float:
        return cv(self.seconds)

    @property
    def spread(self) -> float:
        """(max - min) / median of the windows: 0 when every window agreed."""
        mid = self.median
        return (max(self.seconds) - min(self.seconds)) / mid if mid > 0 else 0.0


def cv(values: list[float]) -> float:
    """Coefficient of variation (sample standard deviation over the mean); 0 for < 2."""
    if len(values) < 2:
        return 0.0
    mean = statistics.fmean(values)
    return statistics.stdev(values) / mean if mean > 0 else 0.0


def window_calls(window_s: float, per_call_s: float) -> int:
    """Calls in one window so that it lasts ``window_s`` at least (1 to ``MAX_CALLS``)."""
    if per_call_s <= 0 or not math.isfinite(per_call_s):
        return MAX_CALLS
    return min(MAX_CALLS, max(1, math.ceil(window_s / per_call_s)))


def measure(
    call: Callable[[], Any],
    sync: Callable[[], None] = lambda: None,
    repeats: int = REPEATS,
    min_repeat_s: float = MIN_REPEAT_S,
    *,
    clock: Clock = "wall",
    threads: int = 1,
    warmup_s: float = WARMUP_S,
) -> Timing:
    """Seconds per ``call``: a timed warm-up, then ``repeats`` windows of batched calls.

    ``clock="cpu"``: the process's CPU seconds over ``threads`` (the CPU backend, above).
    """
    ticks: Callable[[], float] = (
        time.perf_counter if clock == "wall" else lambda: time.process_time() / threads
    )
    start = ticks()
    done, last = 0, 0.0
    while done < MIN_WARMUP_CALLS or ticks() - start < warmup_s:
        began = ticks()
        call()
        sync()
        last, done = ticks() - began, done + 1
    calls = window_calls(min_repeat_s, last)
    seconds, wall, used = [], [], 0.0
    for _ in range(repeats):
        began, wall_began = ticks(), time.perf_counter()
        for _ in range(calls):
            call()
        sync()
        spent, wall_spent = ticks() - began, time.perf_counter() - wall_began
        seconds.append(spent / calls)
        wall.append(wall_spent / calls)
        used += spent / wall_spent if wall_spent > 0 else 0.0
    share = round(min(1.0, used / repeats), 4) if clock == "cpu" else None
    return Timing(seconds, wall, share, clock)


def item(
    name: str,
    kind: str,
    framework: str,
    status: str,
    *,
    value: float | None = None,
    unit: str | None = None,
    timing: Timing | None = None,
    detail: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """One result line of the suite (``suanli.schemas.evalfile.EvalItem`` reads it back)."""
    found: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "framework": framework,
        "status": status,
        "value": value,
        "unit": unit,
        "detail": detail[:2000],
    }
    if timing is not None:
        found["cv"] = round(timing.cv, 5)
        found["repeats"] = len(timing.seconds)
        found["spread"] = round(timing.spread, 5)
        found["clock"] = timing.clock
        if timing.share is not None:
            found["cpu_share"] = timing.share
    found.update(extra)
    return found


def skipped(name: str, kind: str, framework: str, why: str, **extra: Any) -> dict[str, Any]:
    return item(name, kind, framework, "skipped", detail=why, **extra)


def failed(
    name: str, kind: str, framework: str, exc: BaseException, **extra: Any
) -> dict[str, Any]:
    return item(name, kind, framework, "failed", detail=f"{type(exc).__name__}: {exc}", **extra)

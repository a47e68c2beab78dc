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
* **Rounds, not one item after the other** (``measure_rounds``): items measured together
  (the three GEMM precisions) take one window each per round, in rotating order, so a
  drift in the host's speed falls on all of them alike and each median spans the whole
  measurement. On this repo's KVM CI host the speed of the cores under the guest moves by
  the second (``suanli.evalsuite.host`` has the evidence); the hypervisor's steal over the
  windows goes with every figure, and a figure whose windows disagreed is flagged there.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from suanli.evalsuite.host import HostTimes, host_times, steal_share

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
    steal: float | None = None  # share of the host's CPU time the hypervisor took meanwhile

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
    return measure_rounds(
        {"call": call},
        sync,
        repeats,
        min_repeat_s,
        clock=clock,
        threads=threads,
        warmup_s=warmup_s,
    )["call"]


def round_order(names: list[str], round_no: int) -> list[str]:
    """The order of one round: rotated by one each round, so that over ``len(names)``
    rounds every item is measured first, second, ... equally often (drift-neutral)."""
    if not names:
        return []
    k = round_no % len(names)
    return names[k:] + names[:k]


def measure_rounds(
    calls: Mapping[str, Callable[[], Any]],
    sync: Callable[[], None] = lambda: None,
    repeats: int = REPEATS,
    min_repeat_s: float = MIN_REPEAT_S,
    *,
    clock: Clock = "wall",
    threads: int = 1,
    warmup_s: float = WARMUP_S,
) -> dict[str, Timing]:
    """Several calls measured in interleaved rounds: each is warmed up and its window
    sized, then ``repeats`` rounds each run one window of every call, in rotating order.

    Why rounds: on a shared host the speed of the cores drifts over seconds (see
    ``suanli.evalsuite.host``). Measured one after the other, the first item took the
    first seconds and the last the last, so a drift told them apart (this repo's CI host:
    FP32, measured first, fell run after run while FP16 and BF16 held). Interleaved, a
    drift falls on every item alike and each median spans the whole measurement.
    """
    ticks: Callable[[], float] = (
        time.perf_counter if clock == "wall" else lambda: time.process_time() / threads
    )
    sizes = {
        name: window_calls(min_repeat_s, _warm(call, sync, ticks, warmup_s))
        for name, call in calls.items()
    }
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    wall: dict[str, list[float]] = {name: [] for name in calls}
    used = dict.fromkeys(calls, 0.0)
    stolen = dict.fromkeys(calls, 0)
    spans = dict.fromkeys(calls, 0)
    for round_no in range(repeats):
        for name in round_order(list(calls), round_no):
            call, count = calls[name], sizes[name]
            host0 = host_times()
            began, wall_began = ticks(), time.perf_counter()
            for _ in range(count):
                call()
            sync()
            spent, wall_spent = ticks() - began, time.perf_counter() - wall_began
            host1 = host_times()
            seconds[name].append(spent / count)
            wall[name].append(wall_spent / count)
            used[name] += spent / wall_spent if wall_spent > 0 else 0.0
            if host0 is not None and host1 is not None:
                stolen[name] += host1.steal - host0.steal
                spans[name] += host1.total - host0.total
    found = {}
    for name in calls:
        share = round(min(1.0, used[name] / repeats), 4) if clock == "cpu" and repeats else None
        steal = steal_share(HostTimes(0, 0), HostTimes(spans[name], stolen[name]))
        steal = round(steal, 4) if steal is not None else None
        found[name] = Timing(seconds[name], wall[name], share, clock, steal)
    return found


def _warm(
    call: Callable[[], Any], sync: Callable[[], None], ticks: Callable[[], float], warmup_s: float
) -> float:
    """Run ``call`` until ``warmup_s`` has passed (at least ``MIN_WARMUP_CALLS`` times);
    the last call's seconds (the steady state, not the first call's one-time costs)."""
    start = ticks()
    done, last = 0, 0.0
    while done < MIN_WARMUP_CALLS or ticks() - start < warmup_s:
        began = ticks()
        call()
        sync()
        last, done = ticks() - began, done + 1
    return last


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
        if timing.steal is not None:
            found["steal"] = timing.steal
    found.update(extra)
    return found


def skipped(name: str, kind: str, framework: str, why: str, **extra: Any) -> dict[str, Any]:
    return item(name, kind, framework, "skipped", detail=why, **extra)


def failed(
    name: str, kind: str, framework: str, exc: BaseException, **extra: Any
) -> dict[str, Any]:
    return item(name, kind, framework, "failed", detail=f"{type(exc).__name__}: {exc}", **extra)

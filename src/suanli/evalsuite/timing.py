"""Timing that repeats: warm up, size each repeat to a minimum time, keep every repeat.

Figures are the median of the repeats; their coefficient of variation is reported beside
them, so a noisy host shows as noise instead of as a slower accelerator.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

REPEATS = 5
MIN_REPEAT_S = 0.2  # each repeat runs the call this long at least (calls batched)
MAX_CALLS = 1 << 16


@dataclass(frozen=True)
class Timing:
    seconds: list[float]  # per call, one figure per repeat

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def cv(self) -> float:
        if len(self.seconds) < 2:
            return 0.0
        mean = statistics.fmean(self.seconds)
        return statistics.stdev(self.seconds) / mean if mean > 0 else 0.0


def measure(
    call: Callable[[], Any],
    sync: Callable[[], None] = lambda: None,
    repeats: int = REPEATS,
    min_repeat_s: float = MIN_REPEAT_S,
) -> Timing:
    """Seconds per ``call``: one warm-up call, then ``repeats`` timed batches of calls."""
    start = time.perf_counter()
    call()
    sync()
    first = max(time.perf_counter() - start, 1e-9)
    calls = min(MAX_CALLS, max(1, int(min_repeat_s / first)))
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        sync()
        seconds.append((time.perf_counter() - start) / calls)
    return Timing(seconds)


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
    found.update(extra)
    return found


def skipped(name: str, kind: str, framework: str, why: str, **extra: Any) -> dict[str, Any]:
    return item(name, kind, framework, "skipped", detail=why, **extra)


def failed(
    name: str, kind: str, framework: str, exc: BaseException, **extra: Any
) -> dict[str, Any]:
    return item(name, kind, framework, "failed", detail=f"{type(exc).__name__}: {exc}", **extra)

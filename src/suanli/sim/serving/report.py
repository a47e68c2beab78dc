"""Figures of a serve replay: replica-hours and latency percentiles, per slice of time."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from suanli.sim.serving.replay import Run
from suanli.sim.serving.trace import LlmRequest


@dataclass(frozen=True, slots=True)
class Figures:
    """One policy over one slice [start, end) of the trace (by arrival time)."""

    policy: str
    slice: str
    requests: int
    replica_hours: float
    ttft_p50_s: float
    ttft_p99_s: float
    tpot_p50_ms: float
    tpot_p99_ms: float
    e2e_p50_s: float
    e2e_p99_s: float
    slo_attainment: float  # share of requests whose first token came within the TTFT SLO
    unanswered: int

    def to_dict(self) -> dict[str, object]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _pct(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if values.size else float("nan")


def figures(
    run: Run,
    requests: list[LlmRequest],
    slo_ttft_s: float,
    name: str,
    start: float,
    end: float,
) -> Figures:
    """Figures of ``run`` for requests arriving in [start, end) and replica time in it."""
    picked = [
        (r, o) for r, o in zip(requests, run.outcomes, strict=True) if start <= r.arrival < end
    ]
    answered = [(r, o) for r, o in picked if not o.rejected]
    ttft = np.array([o.first_token - r.arrival for r, o in answered])
    e2e = np.array([o.done - r.arrival for r, o in answered])
    tpot = np.array(
        [(o.done - o.first_token) / (r.output - 1) for r, o in answered if r.output > 1]
    )
    stop = min(end, run.horizon)
    seconds = sum(max(0.0, min(b, stop) - max(a, start)) for a, b in run.lives)
    within = int(np.count_nonzero(ttft <= slo_ttft_s)) if ttft.size else 0
    return Figures(
        policy=run.policy,
        slice=name,
        requests=len(picked),
        replica_hours=seconds / 3600,
        ttft_p50_s=_pct(ttft, 50),
        ttft_p99_s=_pct(ttft, 99),
        tpot_p50_ms=_pct(tpot, 50) * 1000,
        tpot_p99_ms=_pct(tpot, 99) * 1000,
        e2e_p50_s=_pct(e2e, 50),
        e2e_p99_s=_pct(e2e, 99),
        slo_attainment=within / len(picked) if picked else 1.0,
        unanswered=len(picked) - len(answered),
    )

"""Estimates and verdict lines moved to a later instant: a kept plan's forecasts, now.

An estimate says when a job would finish if started at the instant it was made; the same
estimate at a later instant finishes later by the time between (datetimes add whole
microseconds, so the move is exact and the same for every pool: rank orders keep).
``plans.Planner`` makes its estimates once and moves them to each cycle's instant.
"""

from __future__ import annotations

import datetime as dt

from suanli.domain.jobs import Estimate, PoolVerdict


class Moved:
    """What was moved to one instant, ``delta`` after the estimates were made; each object
    moved once, remembered by its id (what is moved must outlive this memo, or be moved
    with ``kept=False``)."""

    def __init__(self, delta: dt.timedelta) -> None:
        self.delta = delta
        self.memo: dict[int, object] = {}

    def estimate(self, est: Estimate) -> Estimate:
        found = self.memo.get(id(est))
        if found is None:
            found = self.memo[id(est)] = Estimate(
                est.hours,
                est.relative_throughput,
                est.gross,
                est.voucher,
                est.data_cost,
                est.transfer_hours,
                est.net,
                est.finish_at + self.delta,
            )
        assert isinstance(found, Estimate)  # noqa: S101 - stored by this method
        return found

    def line(self, line: PoolVerdict, kept: bool = True) -> PoolVerdict:
        """``line`` at this instant; ``kept``: ``line`` outlives this memo."""
        if line.estimate is None:
            return line
        found = self.memo.get(id(line)) if kept else None
        if found is None:
            est = self.estimate(line.estimate)
            found = PoolVerdict(
                line.cluster, line.pool, line.feasible, line.price_per_hour, line.reason, est
            )
            if kept:
                self.memo[id(line)] = found
        assert isinstance(found, PoolVerdict)  # noqa: S101 - stored by this method
        return found

"""What an autoscaling policy sees (a window of metrics) and the rule it follows.

Pure data: the live server and the simulator both build a ``Window`` from their own
meters and hand it to the same policy (``suanli.scheduler.autoscaling.policies``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from suanli.domain.service_spec import ScalingMetric, ServiceSpec

# A metric exactly at a multiple of the target needs that many replicas, not one more:
# ratios within this of a whole number round down (float noise from averaging).
_ROUND_SLACK = 1e-9


@dataclass(frozen=True, slots=True)
class Sample:
    """One metering interval of the whole service, ending at ``end`` (seconds)."""

    end: float
    seconds: float
    requests: int  # requests that arrived in the interval
    in_flight: float  # requests being answered, averaged over the interval
    tokens: int  # output tokens generated in the interval

    def value(self, metric: ScalingMetric) -> float:
        """The service-wide value of ``metric`` over this interval."""
        if metric == "in_flight":
            return self.in_flight
        per = self.requests if metric == "rps" else self.tokens
        return per / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class ScalingRule:
    """A service's scaling settings, as the policies read them."""

    metric: ScalingMetric
    target: float  # per replica
    low: int  # replicas.min
    high: int  # replicas.max
    up_delay_s: float
    down_delay_s: float
    idle_s: float

    @classmethod
    def of(cls, spec: ServiceSpec) -> ScalingRule:
        s = spec.scaling
        return cls(
            metric=s.metric,
            target=s.target,
            low=spec.replicas.min,
            high=spec.replicas.max,
            up_delay_s=s.up_delay_s,
            down_delay_s=s.down_delay_s,
            idle_s=s.idle_s,
        )

    def needed(self, value: float) -> int:
        """Replicas that bring ``value`` down to at most ``target`` each (unbounded)."""
        return max(0, math.ceil(value / self.target - _ROUND_SLACK))

    def bounded(self, replicas: int) -> int:
        return min(self.high, max(self.low, replicas))


@dataclass(frozen=True, slots=True)
class Window:
    """The recent past (``samples``, oldest first, the last ending at ``now``), the
    replicas asked for now (``current``, starting ones included), and, for the oracle
    only, the future (``ahead``: the coming samples, which a simulator knows and a live
    server never does)."""

    now: float
    current: int
    samples: tuple[Sample, ...]
    ahead: tuple[Sample, ...] = ()

    def since(self, seconds: float) -> tuple[Sample, ...]:
        """The samples ending within the last ``seconds`` (at least the latest one)."""
        recent = tuple(s for s in self.samples if s.end > self.now - seconds - 1e-9)
        return recent or self.samples[-1:]

    def covers(self, seconds: float) -> bool:
        """The samples reach back at least ``seconds`` from now."""
        first = self.samples[0] if self.samples else None
        return first is not None and first.end - first.seconds <= self.now - seconds + 1e-9

    def idle_for(self, seconds: float) -> bool:
        """No request arrived and none was in flight for the last ``seconds``."""
        if not self.covers(seconds):
            return False  # not enough history to know
        return all(s.requests == 0 and s.in_flight == 0 for s in self.since(seconds))

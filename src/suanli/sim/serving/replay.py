"""`suanli sim serve`: an LLM request trace against replicas that an autoscaler adds and
removes, on a simulated clock.

Requests go to the ready replica with the fewest outstanding requests (the gateway's
least-outstanding balancing); with no ready replica they wait at the gateway. Every
``TICK_S`` the service's metrics for the interval become a ``Sample`` and the policy
(the same pure decision the live server calls, ``suanli.scheduler.autoscaling``) says
how many replicas it wants. New replicas are ready after the latency model's start time;
removed ones finish what they hold first. Replica-hours count from launch to stop.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass

from suanli.scheduler.autoscaling import Sample, ScalingPolicy, ScalingRule, Window
from suanli.scheduler.autoscaling.policies import ORACLE_AHEAD_S
from suanli.sim.serving.latency import ReplicaModel
from suanli.sim.serving.replica import Outcome, Replica
from suanli.sim.serving.trace import LlmRequest

TICK_S = 10.0  # metering interval and decision period: a choice, not tuned
_ARRIVE, _ITER, _READY, _TICK = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class Run:
    """One replay's raw results: each request's outcome and each replica's life."""

    policy: str
    outcomes: list[Outcome]
    lives: list[tuple[float, float]]  # (launched, stopped) per replica
    horizon: float  # the trace's last arrival: replica time is counted up to here


def nominal_samples(
    requests: list[LlmRequest], model: ReplicaModel, rule: ScalingRule, tick: float = TICK_S
) -> list[Sample]:
    """The load of each interval as it would be without any queueing: arrivals, output
    tokens (counted at arrival) and in flight (each request held for its unqueued service
    time at the target batch). What an oracle knows of the future."""
    span = max(r.arrival for r in requests) + tick
    n = math.ceil(span / tick)
    arrivals, tokens, busy = [0] * n, [0] * n, [0.0] * n
    batch = max(1, int(rule.target)) if rule.metric == "in_flight" else 8
    for r in requests:
        k = min(n - 1, int(r.arrival // tick))
        arrivals[k] += 1
        tokens[k] += r.output
        cached = batch * (r.prompt + r.output / 2)
        held = model.prefill_s(r.prompt) + r.output * model.decode_step_s(batch, cached)
        start, end = r.arrival, r.arrival + held
        j = k
        while j < n and j * tick < end:
            busy[j] += max(0.0, min(end, (j + 1) * tick) - max(start, j * tick))
            j += 1
    return [Sample((j + 1) * tick, tick, arrivals[j], busy[j] / tick, tokens[j]) for j in range(n)]


class ServeReplay:
    """Replays ``requests`` once with ``policy``; ``initial`` replicas are ready at 0."""

    def __init__(
        self,
        requests: list[LlmRequest],
        model: ReplicaModel,
        rule: ScalingRule,
        policy: ScalingPolicy,
        initial: int,
        future: list[Sample] | None = None,
    ) -> None:
        self.requests = requests
        self.model = model
        self.rule = rule
        self.policy = policy
        self.future = future or []
        self.outcomes = [Outcome() for _ in requests]
        self.replicas: list[Replica] = []
        self.held: deque[int] = deque()  # at the gateway: no replica ready
        self.events: list[tuple[float, int, int, int]] = []
        self.seq = 0
        self.samples: deque[Sample] = deque()
        self.keep_s = max(rule.up_delay_s, rule.down_delay_s, rule.idle_s, 120.0) + TICK_S
        self.in_flight = 0
        self.area = 0.0
        self.last = 0.0
        self.arrived = 0
        self.tokens = 0
        for _ in range(initial):
            self._launch(0.0, ready_now=True)

    def _push(self, at: float, kind: int, what: int) -> None:
        self.seq += 1
        heapq.heappush(self.events, (at, self.seq, kind, what))

    def _count(self, now: float, delta: int) -> None:
        self.area += self.in_flight * (now - self.last)
        self.last = now
        self.in_flight += delta

    def _launch(self, now: float, ready_now: bool = False) -> None:
        ready = now if ready_now or self.model.start_s <= 0 else now + self.model.start_s
        replica = Replica(len(self.replicas), self.model, launched=now, ready_at=ready)
        self.replicas.append(replica)
        if ready > now:
            self._push(ready, _READY, replica.id)

    @staticmethod
    def _ready(r: Replica, now: float) -> bool:
        return r.stopped is None and not r.draining and r.ready_at <= now + 1e-9

    def _route(self, now: float, index: int) -> None:
        ready = [r for r in self.replicas if self._ready(r, now)]
        if not ready:
            self.held.append(index)
            return
        best = min(ready, key=lambda r: (r.outstanding, r.id))
        best.admit(index)
        self._kick(now, best)

    def _kick(self, now: float, r: Replica) -> None:
        if r.busy:
            return
        refused = r.refused
        took = r.next_iteration(self.requests, self.outcomes)
        if r.refused > refused:
            self._count(now, refused - r.refused)
        if took is not None:
            self._push(now + took, _ITER, r.id)
        elif r.draining and r.outstanding == 0 and r.stopped is None:
            r.stopped = now

    def _scale(self, now: float, wanted: int) -> None:
        active = [r for r in self.replicas if r.stopped is None and not r.draining]
        if wanted > len(active):
            for _ in range(wanted - len(active)):
                self._launch(now)
            return
        surplus = len(active) - wanted
        starting = sorted((r for r in active if r.ready_at > now), key=lambda r: -r.launched)
        for r in starting[:surplus]:
            r.stopped = now  # never became ready: stop it at once
        surplus -= min(surplus, len(starting))
        serving = sorted((r for r in active if r.ready_at <= now), key=lambda r: r.outstanding)
        for r in serving[:surplus]:
            r.draining = True
            if r.outstanding == 0:
                r.stopped = now

    def _tick(self, now: float) -> None:
        self._count(now, 0)
        sample = Sample(now, TICK_S, self.arrived, self.area / TICK_S, self.tokens)
        self.area, self.arrived, self.tokens = 0.0, 0, 0
        self.samples.append(sample)
        while self.samples and self.samples[0].end <= now - self.keep_s:
            self.samples.popleft()
        k = round(now / TICK_S)
        # The future the oracle is told: load while a replica starts, then the next minute.
        ahead = tuple(self.future[k : k + int((self.model.start_s + ORACLE_AHEAD_S) // TICK_S)])
        current = sum(1 for r in self.replicas if r.stopped is None and not r.draining)
        window = Window(now, current, tuple(self.samples), ahead)
        self._scale(now, self.policy.desired(window, self.rule))

    def run(self) -> Run:
        for i, r in enumerate(self.requests):
            self._push(r.arrival, _ARRIVE, i)
        horizon = max(r.arrival for r in self.requests)
        self._push(TICK_S, _TICK, 0)
        while self.events:
            now, _, kind, what = heapq.heappop(self.events)
            if kind == _TICK:
                if now > horizon and not self.held:
                    continue  # the trace is over and nobody waits: no more decisions
                self._tick(now)
                self._push(now + TICK_S, _TICK, 0)
            elif kind == _ARRIVE:
                self._count(now, 1)
                self.arrived += 1
                self._route(now, what)
            elif kind == _READY:
                replica = self.replicas[what]
                if replica.stopped is None and not replica.draining:
                    while self.held:
                        self._route(now, self.held.popleft())
            else:
                replica = self.replicas[what]
                done, made = replica.finish(now, self.requests, self.outcomes)
                self.tokens += made
                if done:
                    self._count(now, -done)
                self._kick(now, replica)
        end = max([horizon] + [o.done for o in self.outcomes])
        lives = [(r.launched, r.stopped if r.stopped is not None else end) for r in self.replicas]
        for o in self.outcomes:  # held at the gateway when the trace ended: never answered
            o.rejected = o.rejected or o.done < 0
        return Run(self.policy.name, self.outcomes, lives, horizon)

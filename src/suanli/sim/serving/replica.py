"""One simulated replica of a model server: a queue, a KV cache and iterations.

Driven by ``suanli.sim.serving.replay``: it asks ``next_iteration(now)`` for how long the
replica's next iteration takes (None when it has nothing to do) and calls ``finish`` at
its end. Prefill first, then decode, as vLLM schedules without chunked prefill.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field

from suanli.sim.serving.latency import ReplicaModel
from suanli.sim.serving.trace import LlmRequest


@dataclass(slots=True)
class Outcome:
    """What happened to one request (times in seconds of the trace clock)."""

    first_token: float = -1.0
    done: float = -1.0
    rejected: bool = False


@dataclass(slots=True)
class Replica:
    id: int
    model: ReplicaModel
    launched: float
    ready_at: float
    stopped: float | None = None
    draining: bool = False
    waiting: deque[int] = field(default_factory=deque)
    running: list[tuple[int, int]] = field(default_factory=list)  # (finish step, request)
    step: int = 0  # decode steps done
    reserved: int = 0  # KV tokens held by running requests (prompt + output)
    sum_prompt: int = 0
    sum_start: int = 0
    busy: bool = False
    refused: int = 0  # requests that can never fit this replica's KV cache
    _prefilling: list[int] = field(default_factory=list)
    _starts: dict[int, int] = field(default_factory=dict)

    @property
    def outstanding(self) -> int:
        return len(self.waiting) + len(self.running) + len(self._prefilling)

    def admit(self, index: int) -> None:
        self.waiting.append(index)

    def next_iteration(self, requests: list[LlmRequest], outcomes: list[Outcome]) -> float | None:
        """Start the next iteration; its duration, or None when idle."""
        m = self.model
        tokens = 0
        while self.waiting:
            r = requests[self.waiting[0]]
            need = r.prompt + r.output
            if need > m.kv_capacity_tokens:  # can never fit: refused, as vLLM refuses it
                outcomes[self.waiting.popleft()].rejected = True
                self.refused += 1
                continue
            fits = self.reserved + need <= m.kv_capacity_tokens
            room = len(self.running) + len(self._prefilling) < m.max_seqs
            budget = not self._prefilling or tokens + r.prompt <= m.max_batched_tokens
            if not (fits and room and budget):
                break
            self._prefilling.append(self.waiting.popleft())
            self.reserved += need
            tokens += r.prompt
        if self._prefilling:
            self.busy = True
            return m.prefill_s(tokens)
        if self.running:
            self.busy = True
            batch = len(self.running)
            cached = self.sum_prompt + batch * (self.step + 1) - self.sum_start
            return m.decode_step_s(batch, cached)
        self.busy = False
        return None

    def finish(
        self, now: float, requests: list[LlmRequest], outcomes: list[Outcome]
    ) -> tuple[int, int]:
        """End the iteration started last: (requests completed, output tokens made)."""
        self.busy = False
        if self._prefilling:  # a prefill makes each request's first token
            done = 0
            for i in self._prefilling:
                r = requests[i]
                outcomes[i].first_token = now
                if r.output <= 1:
                    outcomes[i].done = now
                    self.reserved -= r.prompt + r.output
                    done += 1
                    continue
                heapq.heappush(self.running, (self.step + r.output - 1, i))
                self._starts[i] = self.step
                self.sum_prompt += r.prompt
                self.sum_start += self.step
            made = len(self._prefilling)
            self._prefilling.clear()
            return done, made
        made = len(self.running)
        self.step += 1
        done = 0
        while self.running and self.running[0][0] <= self.step:
            _, i = heapq.heappop(self.running)
            r = requests[i]
            outcomes[i].done = now
            self.reserved -= r.prompt + r.output
            self.sum_prompt -= r.prompt
            self.sum_start -= self._starts.pop(i)
            done += 1
        return done, made

"""A simulated engine: runs that take their known run time on the injected clock.

Nothing is executed. A run starts when it is launched and ends when the clock reaches its
start plus its run time: the trace's (``run_times``, by job id, for the simulator; with a
``throughput`` table that is work, run at the rate of the job's class on the model it was
placed on, as the old replay ran Gavel's matrix) or the
job's own ``SUANLI_SIM_RUN_S`` env (tests, demos); its exit code is ``SUANLI_SIM_EXIT_CODE``
(default 0). A stop request ends it ``SUANLI_SIM_STOP_S`` later (the time it takes to
checkpoint, default 0), or when the grace runs out, whichever comes first; the hard time
limit ends it as a real engine's would.

A job whose spec checkpoints (``checkpoint``) resumes: its next attempt runs only the work
its earlier ones kept (the trace's run time less the work saved). An attempt keeps its work
up to its last periodic checkpoint (``every_minutes`` after its start, and every interval
after), or all of it up to the stop request when it is stopped and its stop time
(``SUANLI_SIM_STOP_S`` > 0: the time its save takes) fits in the grace; the work since is
lost. Each attempt is billed for the time it ran, lost work included. The runs live in a ``SimulatedCluster`` that
outlives any one adapter, so a new adapter re-adopts them as a restarted control plane
would; ``answering`` turns the cluster silent and back (its pings fail meanwhile).
Once ``status`` has answered a run's end, the cluster keeps that final status alone
(``engines.simulated_finished``: a replay of ~1M jobs cannot keep every run whole); read
again it answers the same, never "lost".

Registered as engine type ``simulated`` (``suanli.engines.registry``).
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field

from suanli.domain.clock import Clock
from suanli.domain.errors import EngineFailure, EngineUnavailable
from suanli.domain.fleet import Cluster
from suanli.domain.jobs import Reason
from suanli.domain.throughput import ThroughputTable
from suanli.engines.base import (
    EngineFeature,
    Inventory,
    LaunchRequest,
    LogChunk,
    NodeInventory,
    RunState,
    RunStatus,
    is_replica,
)
from suanli.engines.simulated_finished import FinishedRuns, packable

RUN_S_ENV = "SUANLI_SIM_RUN_S"
EXIT_CODE_ENV = "SUANLI_SIM_EXIT_CODE"
STOP_S_ENV = "SUANLI_SIM_STOP_S"
DEFAULT_RUN_S = 60.0  # a job that says nothing of its run time
MAX_RUN_S = 8760 * 3600.0  # a year: the longest time limit a spec may ask for


@dataclass(slots=True)
class SimulatedRun:
    request: LaunchRequest
    started_at: dt.datetime
    ends_at: dt.datetime  # as it would end on its own (its run time, or the time limit)
    exit_code: int
    stop_s: float
    stop_at: dt.datetime | None = None  # when a stop request ends it
    limited: bool = False  # the time limit, not the run, ends it
    # For a job that checkpoints: work (the trace's units) saved before this attempt, the
    # work it does per second on its model, and when its stop was asked with room to save.
    work_before: float = 0.0
    rate: float = 1.0
    saved_at_stop: dt.datetime | None = None

    def kept_work(self, now: dt.datetime) -> float:
        """Work a later attempt resumes from once this one has ended (its checkpoints)."""
        end = self.ended(now) or now
        saved = self.saved_at_stop
        if saved is not None and end >= saved + dt.timedelta(seconds=self.stop_s):
            kept = (saved - self.started_at).total_seconds()
        else:
            checkpoint = self.request.spec.checkpoint
            every_s = (
                checkpoint.every_minutes * 60 if checkpoint and checkpoint.every_minutes else 0
            )
            ran = (end - self.started_at).total_seconds()
            kept = (ran // every_s) * every_s if every_s > 0 else 0.0
        return self.work_before + max(kept, 0.0) * self.rate

    def ended(self, now: dt.datetime) -> dt.datetime | None:
        end = min(self.ends_at, self.stop_at) if self.stop_at else self.ends_at
        return end if now >= end else None


@dataclass
class SimulatedCluster:
    """The runs of one simulated cluster (what a real cluster keeps across our restarts)."""

    cluster: Cluster
    runs: dict[str, SimulatedRun] = field(default_factory=dict)
    answering: bool = True
    # (end, key) of every end a run was given (a stop request adds an earlier one): the
    # simulator's clock jumps to the next without reading every run.
    ends: list[tuple[dt.datetime, str]] = field(default_factory=list)
    # For ``changed_runs``: every end as ``ends`` (not yet answered), and the runs asked to
    # stop since the last answer.
    unanswered: list[tuple[dt.datetime, str]] = field(default_factory=list)
    stopping: set[str] = field(default_factory=set)
    # The last attempt's run of each job that checkpoints (job id -> key): its next
    # attempt resumes from what that run kept.
    last_attempt: dict[str, str] = field(default_factory=dict)
    # Runs whose end was answered (``status``): their final status only, in columns; and
    # for a job that checkpoints whose last attempt is one of them, the work it kept.
    finished: FinishedRuns = field(default_factory=FinishedRuns)
    kept_work: dict[str, float] = field(default_factory=dict)

    def forget(self, key: str, status: RunStatus, now: dt.datetime) -> None:
        """Keep only ``status`` of the ended run ``key`` (it reads back the same)."""
        run = self.runs.pop(key)
        self.finished.add(key, status)
        job_id = run.request.job_id
        if self.last_attempt.get(job_id) == key:
            del self.last_attempt[job_id]
            if status.state is RunState.SUCCEEDED:  # done: no attempt comes after it
                self.kept_work.pop(job_id, None)
            else:
                self.kept_work[job_id] = run.kept_work(now)

    def next_end(self, now: dt.datetime) -> dt.datetime | None:
        """When the next run still going at ``now`` ends (None: none is going)."""
        ends = self.ends
        while ends:
            at, key = ends[0]
            run = self.runs.get(key)
            if run is None:  # ended, answered and forgotten
                heapq.heappop(ends)
                continue
            end = min(run.ends_at, run.stop_at) if run.stop_at else run.ends_at
            if at == end and at > now:
                return at
            heapq.heappop(ends)  # ended already, or a later end a stop request replaced
        return None


class SimulatedEngine:
    name = "simulated"
    features = frozenset(
        {
            EngineFeature.GANG,
            EngineFeature.CANCEL,
            EngineFeature.LOGS,
            EngineFeature.TIME_LIMIT,
            EngineFeature.INVENTORY,
        }
    )

    def __init__(
        self,
        state: SimulatedCluster,
        clock: Clock,
        run_times: Mapping[str, float] | None = None,
        throughput: ThroughputTable | None = None,
    ) -> None:
        self._state = state
        self._clock = clock
        self._run_times = run_times if run_times is not None else {}
        self._throughput = throughput

    @property
    def state(self) -> SimulatedCluster:
        return self._state

    def _answer(self) -> None:
        if not self._state.answering:
            raise EngineUnavailable(
                engine=self.name, detail=f"{self._state.cluster.name} is silent"
            )

    def launch(self, request: LaunchRequest) -> None:
        self._answer()
        if request.key in self._state.runs or request.key in self._state.finished:
            return  # idempotent: a known key is never started twice
        env = request.spec.env
        work_before, rate = self._resumed(request), 1.0
        try:
            run_s = self._run_times.get(request.job_id)
            model = request.placement.accelerator
            if run_s is not None and self._throughput is not None and model is not None:
                rate = self._throughput.rate(request.spec.job_class, model)  # work per s
            if run_s is None:
                serves = is_replica(request.spec)  # a replica serves until stopped
                run_s = float(env.get(RUN_S_ENV, MAX_RUN_S if serves else DEFAULT_RUN_S))
            if run_s >= 0:
                run_s = max(run_s - work_before, 0.0) / rate  # earlier attempts' kept work
            exit_code = int(env.get(EXIT_CODE_ENV, "0"))
            stop_s = float(env.get(STOP_S_ENV, "0"))
        except ValueError as exc:
            raise EngineFailure(engine=self.name, detail=f"{request.key}: {exc}") from None
        if not (0 <= run_s <= MAX_RUN_S and 0 <= stop_s <= MAX_RUN_S and 0 <= exit_code < 256):
            raise EngineFailure(
                engine=self.name,
                detail=f"{request.key}: {RUN_S_ENV} and {STOP_S_ENV} must be 0 to {MAX_RUN_S:.0f} "
                f"seconds, {EXIT_CODE_ENV} 0 to 255",
            )
        limit_s = request.spec.time_limit_hours * 3600
        now = self._clock.now()
        run = SimulatedRun(
            request,
            now,
            now + dt.timedelta(seconds=min(run_s, limit_s)),
            exit_code,
            stop_s,
            limited=run_s > limit_s,
            work_before=work_before,
            rate=rate,
        )
        self._state.runs[request.key] = run
        if request.spec.resumes:
            self._state.last_attempt[request.job_id] = request.key
        heapq.heappush(self._state.ends, (run.ends_at, request.key))
        heapq.heappush(self._state.unanswered, (run.ends_at, request.key))

    def _resumed(self, request: LaunchRequest) -> float:
        """Work the job's earlier attempts kept (0 for a job that does not checkpoint)."""
        if not request.spec.resumes:
            return 0.0
        earlier = self._state.last_attempt.get(request.job_id)
        run = self._state.runs.get(earlier) if earlier is not None else None
        if run is None:  # its last attempt was forgotten once answered (or there was none)
            return self._state.kept_work.get(request.job_id, 0.0)
        return run.kept_work(self._clock.now())

    def status(self, key: str) -> RunStatus:
        """The run's status; an ended run, once answered, is kept as that answer alone."""
        self._answer()
        state = self._state
        run = state.runs.get(key)
        if run is None:
            finished = state.finished.status(key)
            if finished is not None:
                return finished
            return RunStatus(
                RunState.LOST, reason=Reason("reason_lost", {"detail": "no such run"})
            )
        now = self._clock.now()
        status = self._status_of(run, now)
        if status.state.is_final and packable(status):
            state.forget(key, status, now)
        return status

    @staticmethod
    def _status_of(run: SimulatedRun, now: dt.datetime) -> RunStatus:
        end = run.ended(now)
        if end is None:
            return RunStatus(RunState.RUNNING, started_at=run.started_at)
        if run.stop_at is not None and run.stop_at <= run.ends_at:
            return RunStatus(RunState.CANCELLED, None, None, run.started_at, end)
        if run.limited:
            limit = dt.timedelta(hours=run.request.spec.time_limit_hours)
            why = Reason("reason_time_limit", {"limit": str(limit)})
            return RunStatus(RunState.FAILED, None, why, run.started_at, end)
        state = RunState.SUCCEEDED if run.exit_code == 0 else RunState.FAILED
        return RunStatus(state, run.exit_code, None, run.started_at, end)

    def cancel(self, key: str, grace_s: float | None = None) -> None:
        self._answer()
        run = self._state.runs.get(key)
        now = self._clock.now()
        if run is None or run.ended(now) is not None:
            return
        wait = run.stop_s if grace_s is None else min(run.stop_s, max(grace_s, 0.0))
        if run.stop_s > 0 and wait >= run.stop_s and run.saved_at_stop is None:
            run.saved_at_stop = now  # its save on the stop signal fits in the grace
        stop_at = now + dt.timedelta(seconds=wait)
        if run.stop_at is None or stop_at < run.stop_at:  # a shorter grace shortens it
            run.stop_at = stop_at
            heapq.heappush(self._state.ends, (stop_at, key))
            heapq.heappush(self._state.unanswered, (stop_at, key))
            self._state.stopping.add(key)

    def read_log(self, key: str, offset: int, limit: int = 1 << 20) -> LogChunk:
        self._answer()
        run = self._state.runs.get(key)
        status = (
            self._status_of(run, self._clock.now()) if run else self._state.finished.status(key)
        )
        if status is None or status.started_at is None:
            return LogChunk(b"", offset)
        lines = [f"{status.started_at.isoformat()} simulated run {key} started\n"]
        if status.state.is_final and status.finished_at is not None:
            lines.append(f"{status.finished_at.isoformat()} {status.state.value}\n")
        data = "".join(lines).encode()
        start = max(offset, 0)
        chunk = data[start : start + limit]
        return LogChunk(chunk, start + len(chunk))

    def address(self, key: str) -> str | None:
        """A running replica's address: a name that resolves nowhere (nothing listens in a
        simulation; the tests' probe decides readiness)."""
        self._answer()
        run = self._state.runs.get(key)
        if run is None or not is_replica(run.request.spec) or run.ended(self._clock.now()):
            return None
        return f"http://{self._state.cluster.name}.{key}.sim.invalid"

    def steady(self, key: str) -> bool:
        run = self._state.runs.get(key)
        return (
            self._state.answering
            and run is not None
            and run.stop_at is None
            and run.ended(self._clock.now()) is None
        )

    def changed_runs(self) -> set[str]:
        """Runs asked to stop, and runs whose end the clock reached, since the last call."""
        state, now = self._state, self._clock.now()
        changed, state.stopping = state.stopping, set()
        ends = state.unanswered
        while ends and ends[0][0] <= now:
            changed.add(heapq.heappop(ends)[1])
        return changed

    def ping(self) -> bool:
        return self._state.answering

    def inventory(self) -> Inventory:
        self._answer()
        now = self._clock.now()
        used: dict[str, int] = {}
        for run in self._state.runs.values():
            if run.ended(now) is None:
                for node in run.request.placement.nodes:
                    used[node.node] = used.get(node.node, 0) + len(node.slots)
        nodes = []
        for pool in self._state.cluster.pools:
            kind = (pool.accelerator or "").lower()
            for name in pool.node_names():
                free = pool.accelerators_per_node - used.get(name, 0)
                nodes.append(
                    NodeInventory(
                        name,
                        "mixed" if used.get(name) else "idle",
                        True,
                        pool.cpus_per_node,
                        pool.cpus_per_node,
                        pool.memory_gb_per_node * 1024,
                        pool.memory_gb_per_node * 1024,
                        {kind: pool.accelerators_per_node} if kind else {},
                        {kind: free} if kind else {},
                    )
                )
        return Inventory(tuple(nodes), now)

    def live_runs(self) -> list[str]:
        self._answer()
        now = self._clock.now()
        return sorted(k for k, run in self._state.runs.items() if run.ended(now) is None)

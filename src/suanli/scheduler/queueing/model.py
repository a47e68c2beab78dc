"""What queueing sees: work (queued or running), pools of nodes, tenants' terms, a plan.

Times are seconds on the driver's clock (the live server's wall clock or the simulator's),
so the same decision code serves both. Work is measured in accelerators; service is
measured in *normalised accelerator-seconds*: seconds × accelerators × the pool's dense
TFLOPS over the reference card's, so a 910B-second and a T4-second do not count the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from suanli.domain.jobs import Reason
from suanli.domain.tenants import TenantTerms
from suanli.scheduler.queueing.gittins import ServiceHistory


@dataclass(slots=True)
class Work:
    """One job as the queue sees it; the driver owns and updates these between decisions."""

    id: str
    tenant: str
    accelerators: int  # the whole gang: all or nothing
    submitted: float
    priority: int = 0
    job_class: str | None = None  # for the throughput table (e.g. "ResNet-50 (batch size 64)")
    models: frozenset[str] | None = None  # accelerator models it accepts; None = any
    estimate_s: float | None = None  # expected run time on the reference card, if anyone knows
    attained: float = 0.0  # normalised accelerator-seconds served so far (all attempts)
    progress_s: float = 0.0  # reference-card seconds of work done (for remaining estimates)
    queued_since: float = 0.0  # when it last entered the queue (submission or preemption)
    preemptible: bool = True
    limit_s: float | None = None  # hard run-time limit of an attempt (wall seconds), if any
    # Set while it runs (or is being stopped):
    pool: str | None = None
    nodes: tuple[tuple[int, int], ...] = ()  # (node index, accelerators) in ``pool``
    started: float | None = None  # start of the current attempt
    speed: float = 1.0  # the pool's relative speed while running (service accrues at it)
    stopping: bool = False  # asked to stop; its accelerators return when the engine confirms
    borrowed: bool = False  # runs on its cohort's idle quota (reclaimable)

    @property
    def running(self) -> bool:
        return self.pool is not None

    @property
    def remaining_s(self) -> float | None:
        if self.estimate_s is None:
            return None
        return max(self.estimate_s - self.progress_s, 0.0)


@dataclass(slots=True)
class PoolView:
    """A homogeneous pool: nodes with free accelerators now (after running and stopping work)."""

    name: str
    model: str
    per_node: int
    free: list[int]  # free accelerators per node, by node index
    speed: float = 1.0  # dense TFLOPS relative to the reference card (service normalisation)

    @property
    def capacity(self) -> int:
        return self.per_node * len(self.free)

    @property
    def free_total(self) -> int:
        return sum(self.free)


@dataclass(frozen=True)
class QueueSettings:
    """Knobs of a queue policy that drivers and scenario files may set."""

    grace_s: float = 30.0  # how long a preempted job has to stop (checkpoint) before its
    # accelerators are taken back
    min_run_s: float = 600.0  # a job runs this long before it may be preempted (no thrashing)
    backfill: bool = True  # later jobs may start when an earlier one is blocked
    aging_s: float = 4 * 3600.0  # each this long in the queue lifts a job one service level
    # With backfill: the first job a pool refuses for room reserves the time estimates free
    # enough for it; later jobs overtake it there only if they end before then or fit in
    # what it leaves over (EASY backfill, ``reservation.py``).
    reserve: bool = False


@dataclass(frozen=True)
class QueueView:
    """One decision's input: pools, running work, waiting work and the tenants' terms."""

    now: float
    pools: Sequence[PoolView]
    running: Sequence[Work]
    waiting: Sequence[Work]
    tenants: Mapping[str, TenantTerms] = field(default_factory=dict)
    # Running work the driver summarises instead of listing in ``running``, because it
    # cannot be moved in this decision (stopping, within its minimum run, or outranking
    # every waiting job): (tenant, pool, accelerators) held, counted as pinned work.
    held: Sequence[tuple[str, str, int]] = ()
    # Service of finished jobs, for policies that learn from it (``QueuePolicy.informed``).
    history: ServiceHistory | None = None
    # The policy's key at ``now`` (informed by ``history``) of listed work, by id, where the
    # driver already has them (the simulator keeps them between decisions); work missing
    # here is keyed by the policy. A key given must be the policy's: the plan depends on it.
    keys: Mapping[str, tuple[Any, ...]] | None = None


@dataclass(frozen=True)
class Start:
    work: Work
    pool: str
    nodes: tuple[tuple[int, int], ...]
    borrowed: bool = False


@dataclass(frozen=True)
class Preempt:
    work: Work
    reason: Reason


@dataclass(frozen=True)
class Move:
    """Running work to go to a faster pool: it stops (grace period) and restarts on
    ``nodes`` of ``pool``, which stay promised to it meanwhile. Only drivers that can carry a
    move out ask for moves (``decide(..., can_move=True)``)."""

    work: Work
    pool: str
    nodes: tuple[tuple[int, int], ...]


@dataclass
class Plan:
    """What to do now: start these, ask these to stop, and why each other job waits."""

    starts: list[Start] = field(default_factory=list)
    preempts: list[Preempt] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    waits: dict[str, Reason] = field(default_factory=dict)
    # Admitted waiting work whose nodes are not free yet (a preempted job still stopping):
    # listed whether or not the decision explains, so a driver can tell it from refused work.
    awaiting_nodes: list[str] = field(default_factory=list)

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
    # Resumes its work after a preemption (its spec checkpoints). Work that does not is
    # preempted only to reclaim lent quota, never for a better rank (admission's ``_pinned``).
    resumes: bool = True
    limit_s: float | None = None  # hard run-time limit of an attempt (wall seconds), if any
    # Set while it runs (or is being stopped):
    pool: str | None = None
    nodes: tuple[tuple[int, int], ...] = ()  # (node index, accelerators) in ``pool``
    started: float | None = None  # start of the current attempt
    speed: float = 1.0  # the pool's relative speed while running (service accrues at it)
    stopping: bool = False  # asked to stop; its accelerators return when the engine confirms
    borrowed: bool = False  # runs on its cohort's idle quota (reclaimable)
    # ``accelerators`` per whole accelerator: 1 in the simulator, 1,000 in the live queue
    # (which counts thousandths, for shares). Policies that need whole-card seconds divide.
    per_card: int = 1

    @property
    def cards(self) -> float:
        """Whole accelerators held (a share counts its fraction)."""
        return self.accelerators / self.per_card if self.per_card > 0 else 0.0

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


# The default policy's constants: the defaults of the settings below, each with the data
# it was chosen on. All were measured on the Philly replay through ``sim/replay.py`` (the
# windows named), the same trace the results in docs/sim-fidelity.md are reported on: they
# are not held-out figures. ``preempt_gain`` and ``guard_s`` were checked again on the
# first half of Philly only (cut at the median submit time, 2017-10-21 22:37:59), through
# the live cycle (``bench/queue_heldout.py``: the last 1,500 jobs of that half, cohort
# fleet x0.25): 4 / 14,400 s and the corners 2 or 8 x 7,200 or 28,800 s gave average JCT
# within 0.07% of each other (6,312.7-6,316.8 s), so they stay; the second half is the
# held-out report (docs/sim-fidelity.md, "Held out"). ``quanta`` was tuned on the first
# half only (three windows, below). A tenants file or scenario may set each
# (``schemas/queuefile``).

LEVELS_S = (10_000.0, 80_000.0, 640_000.0)
"""Service levels (normalised accelerator-seconds attained) of the default policy: on one
V100 (0.4 of the reference A100) about 7 h, 2.3 days and 18.5 days of running. Measured on
the Philly replay (docs/sim-fidelity.md): lower first levels (240 to 3,600) preempted
bursts of similar jobs into round-robin and did worse; a level above 80,000 orders the
long, wide jobs of overloaded clusters better than submission order does."""

PREEMPT_GAIN = 4.0
"""The default preempts running work only for waiting work whose Gittins index is this many
times the running work's: a preemption costs a grace period, a restart and, for a gang,
often whole nodes, so close indices are not worth one. Measured on the Philly replay
(first 21 days): 1x 23,158 s average JCT, 2x 22,573, 4x 22,304, 8x 22,574, 16x 22,534,
never (1000x) 24,488 (docs/sim-fidelity.md)."""

GUARD_S = 14_400.0
GUARD_GAIN = 4.0
"""Starvation guard of the default: a job not started yet has its index multiplied by
``GUARD_GAIN`` for each ``GUARD_S`` since its submission, so a class whose fresh jobs have a
low index (long or wide jobs) still gets its first start within hours, not days. Measured
on the Philly replay, whole window (docs/sim-fidelity.md): without it the worst VC queued
35,504 s on average for its first start (``las``: 5,151 s) with 34,891 s average JCT;
with it 5,939 s and 34,357 s (every 2 h x2: 5,161 s and 34,454 s). Work that ran is not
lifted (preempted work lifted by its age pushed out the job that had preempted it, which
was then lifted back: thrash); it ages by the clock as under ``las``. Checked again on the
first half of Philly only, trace jobs not checkpointing (``bench/queue_heldout.py
--skip-held``, three 1,000-job windows, x0.125; 2026-12-08): mean average JCT ratio to
the shipped 4 h x4: x2 1.001, every 8 h 1.031, every 16 h 1.056, off 1.092 (off: 69,203.8
s against 54,839.2 on window 3), so it stays."""

MOVE_GAIN = 1.25
"""A move to another pool needs one at least this much faster for the work's class (the
Gavel replay, examples/sim/gavel-36x3.yaml; docs/sim-fidelity.md, "Gavel")."""

QUANTA = False
"""Whether the default's index counts on quanta (the Gittins index proper: a job may be
stopped after a quantum and go on later from where it was) or, False, ranks by the rate
of running to the end (one over the expected remaining service of the work's class: a
stopped attempt restarts from zero, as in the live cycle's simulated engine and for jobs
without checkpoints). See ``gittins.py``. Tuned on the first half of Philly only, through
the live cycle (``bench/queue_heldout.py``: three 1,000-job windows centred in its
thirds, cohort fleet x0.125; 2026-12-07): False gave average JCT 19,410.6 / 12,544.5 /
54,398.4 s against True's 20,684.7 / 12,547.5 / 54,309.5 s (mean ratio 0.980: -6.2%,
0.0%, +0.2%), so False ships. The held-out windows are docs/sim-fidelity.md's "Held out"."""

RESTART_PRICE: float | None = None
"""The default's price of restarting running work that does not checkpoint
(``restart.py``, ADR 3): such work may be outranked only when the best waiting work's
expected gain (expected remaining service, the running work's minus the waiting work's)
exceeds this times the service the restart throws away. None: never (ADR 2's rule).
Tuned on the first half of Philly only, through the live cycle, trace jobs not
checkpointing (``bench/queue_heldout.py --skip-held --workers 1``: three 1,000-job
windows centred in its thirds, cohort fleet x0.125; grids fixed before each run). With
the expectation from finished jobs only (2026-12-07): never 18,832.3 / 12,535.5 /
54,839.2 s average JCT; 0.25: 19,605.8 / 12,535.5 / 53,192.2; 1: 19,339.5 / 12,535.5 /
54,053.6; 4: 18,947.1 / 12,535.5 / 54,263.1 (4 kept, a margin of 0.15%). With the tail
learnt from unfinished work (Kaplan-Meier, 2026-12-08): 4: 20,100.0 / 12,535.5 /
52,905.8; 1: 20,100.0 / 12,535.5 / 53,644.4; 0.5: 19,643.6 / 12,535.5 / 53,192.2;
0.25: 19,780.8 / 12,535.5 / 53,192.2; never as above (mean ratio to 4: 1.005, 0.994,
0.997, 0.991): never kept. A price buys window 3 up to 3.5% and costs window 1 up to
6.7%: no setting gains on both. The held-out windows are docs/sim-fidelity.md's "Held
out"."""

LAS2D_LEVELS_S = (3600.0,)
"""Tiresias' 2D-LAS queue thresholds (attained accelerator-seconds): two queues split at
3,600 GPU-seconds, as the authors' simulator ships them (github.com/SymbioticLab/Tiresias,
``simulator/jobs.py``: ``num_queue = 2``, ``queue_limit[0] = 3600``; its README: "two
queues, and the threshold for Q1 is 3600 seconds"). Published, not tuned here."""

LAS2D_PROMOTE = 8.0
"""Tiresias' starvation knob (PROMOTEKNOB): a job that ran and then waited ``knob`` times
its executed time goes back to the first queue. The authors' simulator offers 0.5, 1, 2,
4, 8, 10, 100 and 1000 (``run_sim.py``, ``dlas-gpu-N``); 8 is our pick among them, not
tuned on any trace."""


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
    # The default policy's constants (provenance above); a file may set each.
    levels_s: tuple[float, ...] = LEVELS_S
    preempt_gain: float = PREEMPT_GAIN
    guard_s: float = GUARD_S
    guard_gain: float = GUARD_GAIN
    move_gain: float = MOVE_GAIN
    quanta: bool = QUANTA
    restart_price: float | None = RESTART_PRICE  # None: never stop non-resuming work for a rank
    # Which queue policy ranks work (``QUEUE_POLICIES``): the live server's and the replay's.
    policy: str = "default"
    # Tiresias' 2D-LAS (``las2d``, a blind baseline; ``policies_blind.py`` cites each).
    las2d_levels_s: tuple[float, ...] = LAS2D_LEVELS_S
    las2d_promote: float = LAS2D_PROMOTE


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

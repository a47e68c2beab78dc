"""A job: a spec plus its life (status, attempts, placement, the reasons for each step)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from suanli.domain.i18n import Lang, render
from suanli.domain.ids import JobId
from suanli.domain.records import replacer
from suanli.domain.spec import JobSpec
from suanli.domain.tenants import DEMO_TENANT


class JobStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    PLACED = "placed"
    STARTING = "starting"
    RUNNING = "running"
    RECOVERING = "recovering"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def holds_capacity(self) -> bool:
        """Whether a job in this status occupies its placement's accelerators."""
        return self in _HOLDING


TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})
# Made once for the two properties, which the scheduler asks of every job each cycle:
# spelling ``JobStatus.X`` inside them looked each member up through the enum's class on
# every call (holds_capacity cost 5x what it does with the tuple, timeit, Python 3.11).
_TERMINAL = tuple(TERMINAL)
_HOLDING = (JobStatus.PLACED, JobStatus.STARTING, JobStatus.RUNNING)


@dataclass(frozen=True, slots=True)
class Reason:
    """Why something happened, as a message code and its parameters (rendered per language)."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: Lang = "en") -> str:
        return render(self.code, lang, **self.params)


@dataclass(frozen=True, slots=True)
class ReasonList:
    """Several reasons, each with a label (e.g. ``cluster/pool``), rendered as one line."""

    items: tuple[tuple[str, Reason], ...]
    limit: int = 5

    def render(self, lang: Lang = "en") -> str:
        shown = [  # an empty label: a summary line that speaks for several pools
            f"{label}: {reason.render(lang)}" if label else reason.render(lang)
            for label, reason in self.items[: self.limit]
        ]
        more = len(self.items) - self.limit
        if more > 0:
            shown.append(f"(+{more})")
        return "; ".join(shown)


@dataclass(frozen=True, slots=True)
class NodeAssignment:
    node: str
    slots: tuple[int, ...]  # accelerator indices on that node


@dataclass(frozen=True, slots=True)
class Placement:
    cluster: str
    pool: str
    accelerator: str | None
    nodes: tuple[NodeAssignment, ...]
    price_per_hour: Decimal  # yuan per hour for the whole job


@dataclass(frozen=True, slots=True)
class Estimate:
    """What running a job on one pool is expected to cost and when it would finish."""

    hours: float  # run time on this pool's accelerator (estimate scaled by throughput)
    relative_throughput: float  # vs the reference accelerator (A100); 1.0 when unknown
    gross: Decimal  # price × hours, yuan
    voucher: Decimal  # what the tenant's voucher programme would take off, yuan
    data_cost: Decimal  # moving the inputs here, yuan
    transfer_hours: float  # moving the inputs here
    net: Decimal  # gross - voucher + data_cost
    finish_at: dt.datetime  # if started now


@dataclass(frozen=True, slots=True)
class PoolVerdict:
    """One line of a placement explanation: a pool and what the scheduler made of it."""

    cluster: str
    pool: str
    feasible: bool
    price_per_hour: Decimal | None = None
    reason: Reason | None = None  # why it was excluded, or why it lost
    estimate: Estimate | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.cluster, self.pool)


class Verdicts(Sequence[PoolVerdict]):
    """Verdict lines made of slices of shared tuples, read as one sequence.

    In one cycle the jobs of one kind share their runners-up and their excluded pools; a
    decision keeps slices of those tuples instead of a copy, so a cycle over 100,000 jobs
    and 1,000 pools does not build 100 million lines. Equal to any sequence of equal lines.
    """

    __slots__ = ("_len", "_parts")

    def __init__(self, *parts: tuple[Sequence[PoolVerdict], int, int]) -> None:
        self._parts = tuple((lines, start, stop) for lines, start, stop in parts if stop > start)
        self._len = sum(stop - start for _, start, stop in self._parts)

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[PoolVerdict]:
        for lines, start, stop in self._parts:
            if start == 0 and stop == len(lines):
                yield from lines
            else:
                for i in range(start, stop):
                    yield lines[i]

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return tuple(self)[index]
        if index < 0:
            index += self._len
        for lines, start, stop in self._parts:
            if 0 <= index < stop - start:
                return lines[start + index]
            index -= stop - start
        raise IndexError("verdict index out of range")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Verdicts({list(self)!r})"


class ExcludedPools(Sequence[PoolVerdict]):
    """The lines of pools excluded by one and the same reason, made when read."""

    __slots__ = ("_names", "_reason")

    def __init__(self, reason: Reason, names: Sequence[tuple[str, str]]) -> None:
        self._reason = reason
        self._names = names

    def __len__(self) -> int:
        return len(self._names)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return tuple(self)[index]
        cluster, pool = self._names[index]
        return PoolVerdict(cluster, pool, False, None, self._reason)

    def __iter__(self) -> Iterator[PoolVerdict]:
        for cluster, pool in self._names:
            yield PoolVerdict(cluster, pool, False, None, self._reason)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        return hash(tuple(self))


@dataclass(frozen=True, slots=True)
class Decision:
    """The scheduler's explanation for a job: the choice, the runners-up, the excluded."""

    summary: Reason
    verdicts: Sequence[PoolVerdict] = ()
    chosen: tuple[str, str] | None = None  # (cluster, pool)


@dataclass(frozen=True, slots=True)
class JobEvent:
    """One entry of a job's history: a transition (or a note, when from == to)."""

    job_id: JobId
    at: dt.datetime
    from_status: JobStatus | None
    to_status: JobStatus
    reason: Reason
    attempt: int = 0


@dataclass(frozen=True, slots=True)
class Job:
    id: JobId
    spec: JobSpec
    status: JobStatus
    submitted_at: dt.datetime
    updated_at: dt.datetime
    attempt: int = 0  # number of attempts dispatched so far
    placement: Placement | None = None
    decision: Decision | None = None
    pinned_cluster: str | None = None
    cancel_requested: bool = False
    engine_key: str | None = None
    exit_code: int | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    version: int = 0
    tenant: str = DEMO_TENANT  # the organisation the job belongs to and is billed to
    # Fair queues (0006): service of ended attempts (accelerator-seconds × dense TFLOPS over
    # the reference card's), when it last entered the queue, when its current attempt was
    # asked to stop for a preemption (None: not being preempted), on borrowed quota or not,
    # and how many attempts preemptions ended.
    attained: float = 0.0
    queued_at: dt.datetime | None = None
    preempt_at: dt.datetime | None = None
    borrowed: bool = False
    preemptions: int = 0  # attempts that ended in a preemption (not counted against retries)
    # 0009: the image the current attempt runs, exactly (sha256:...); each attempt's is also
    # in its "reason_image_resolved" history entry.
    image_digest: str | None = None
    # 0018: a job that checkpoints: the cluster its last started attempt ran on, whose engine
    # holds its checkpoint (placement prefers it for the next attempt; None: none yet).
    checkpoint_cluster: str | None = None


# ``dataclasses.replace(job, **changes)``, exactly, ~3x faster: a job is copied at each
# transition and each store save (``domain.records``).
job_with: Callable[..., Job] = replacer(Job)

"""The EngineAdapter protocol: how suanli hands a run to an engine and follows it.

A Kubernetes Job/JobSet adapter fits the same five calls: ``launch`` creates a Job named
by the key (labels carry job id and attempt; accelerators become extended resources such
as ``nvidia.com/gpu`` or ``huawei.com/Ascend910``), ``status`` maps Job conditions,
``cancel`` deletes with propagation, ``read_log`` reads pod logs. The optional calls fit too:
``inventory`` sums node allocatable minus pod requests (extended resources as accelerators),
``live_runs`` lists Jobs by the suanli label.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable

from suanli.domain.jobs import Placement, Reason
from suanli.domain.spec import JobSpec


class EngineFeature(StrEnum):
    GANG = "gang"  # multi-node runs start all nodes together
    CANCEL = "cancel"
    LOGS = "logs"
    TIME_LIMIT = "time_limit"  # the engine itself enforces the hard limit
    REAL_GPUS = "real_gpus"
    INVENTORY = "inventory"  # the engine reports its nodes and free capacity (InventorySource)


class RunState(StrEnum):
    PENDING = "pending"  # accepted, not started yet
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    LOST = "lost"  # the engine has no record of the run, or its process vanished

    @property
    def is_final(self) -> bool:
        return self in (RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED, RunState.LOST)


@dataclass(frozen=True)
class RunStatus:
    state: RunState
    exit_code: int | None = None
    reason: Reason | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    image_digest: str | None = None  # the image that runs, exactly (sha256:...), when it has one


@dataclass(frozen=True)
class LaunchRequest:
    """Everything an engine needs to start one attempt of one job."""

    key: str  # stable: the same attempt always has the same key
    job_id: str
    attempt: int
    spec: JobSpec
    placement: Placement
    extra_env: dict[str, str] = field(default_factory=dict)
    # How long a stop request leaves the run between its stop signal and the kill, for
    # engines that must be told when the run starts (Ray); None: the engine's own default.
    stop_grace_s: float | None = None
    # The organisation the job belongs to: engines that confine jobs run each tenant's as
    # its own user ("": the engine's default one).
    tenant: str = ""


@dataclass(frozen=True)
class LogChunk:
    data: bytes
    next_offset: int


def job_env(request: LaunchRequest, num_nodes: int) -> dict[str, str]:
    """The variables every engine gives a run; engines add their own, then the job's env."""
    spec, placement = request.spec, request.placement
    return {
        "PYTHONUNBUFFERED": "1",
        "SUANLI_JOB_ID": request.job_id,
        "SUANLI_JOB_NAME": spec.name,
        "SUANLI_ATTEMPT": str(request.attempt),
        "SUANLI_CLUSTER": placement.cluster,
        "SUANLI_POOL": placement.pool,
        "SUANLI_ACCELERATOR_MODEL": placement.accelerator or "",
        "SUANLI_ACCELERATORS_PER_NODE": str(spec.accelerators_per_node),
        "SUANLI_NUM_NODES": str(num_nodes),
    }


def read_log_file(path: Path, offset: int, limit: int) -> LogChunk:
    """Up to ``limit`` bytes of a run's output file from ``offset`` (empty until it exists)."""
    if not path.exists():
        return LogChunk(b"", offset)
    with path.open("rb") as f:
        f.seek(max(offset, 0))
        data = f.read(limit)
    return LogChunk(data, max(offset, 0) + len(data))


class EngineAdapter(Protocol):
    """One cluster's execution engine, as suanli drives it."""

    name: str
    features: frozenset[EngineFeature]

    def launch(self, request: LaunchRequest) -> None:
        """Start the run named ``request.key``; idempotent: a known key is never started twice.

        Blocking, short. Raises EngineFailure when the engine refuses the run.
        """
        ...

    def status(self, key: str) -> RunStatus:
        """The run's state as the engine sees it; LOST when it has no record or lost it."""
        ...

    def cancel(self, key: str, grace_s: float | None = None) -> None:
        """Ask the engine to stop the run; idempotent; returns before the run has stopped.

        The run gets a stop signal (SIGTERM) now, its chance to checkpoint, and is killed if
        it still runs ``grace_s`` seconds later (0: at once; None: the engine's default).
        A later call with a shorter grace shortens it.
        """
        ...

    def read_log(self, key: str, offset: int, limit: int = 1 << 20) -> LogChunk:
        """Return up to ``limit`` bytes of the run's combined output from ``offset``."""
        ...

    def ping(self) -> bool:
        """Whether the engine answers now."""
        ...


@dataclass(frozen=True)
class NodeInventory:
    """One node as its engine reports it: totals and what is free now.

    ``accelerators`` are keyed by the engine's own name for the kind (Slurm GRES type such
    as ``h100``, a Ray custom resource, a Kubernetes extended resource).
    """

    name: str
    state: str  # the engine's word for it (idle, mixed, drained, Ready, ...)
    available: bool  # accepts new work
    cpus: int
    free_cpus: int
    memory_mb: int
    free_memory_mb: int
    accelerators: dict[str, int] = field(default_factory=dict)
    free_accelerators: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Inventory:
    """A cluster's capacity as read from the cluster itself, at one instant."""

    nodes: tuple[NodeInventory, ...]
    at: dt.datetime

    def free_accelerators(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for node in self.nodes:
            if node.available:
                for kind, count in node.free_accelerators.items():
                    totals[kind] = totals.get(kind, 0) + count
        return totals


@runtime_checkable
class InventorySource(Protocol):
    """Optional engine calls (declared by EngineFeature.INVENTORY): what the cluster holds."""

    def inventory(self) -> Inventory:
        """Nodes, accelerators and free capacity now. Blocking, short; raises EngineFailure."""
        ...

    def live_runs(self) -> list[str]:
        """Keys of the suanli runs the engine still has pending or running.

        Lets the control plane find runs it gave up on (their cluster stopped answering) when
        the cluster comes back. Blocking, short; raises EngineFailure.
        """
        ...


def inventory_source(engine: EngineAdapter) -> InventorySource | None:
    """The engine's optional inventory calls, when it declares them."""
    if EngineFeature.INVENTORY in engine.features and isinstance(engine, InventorySource):
        return engine
    return None


@runtime_checkable
class SteadyRuns(Protocol):
    """Optional engine call: whether a run goes on unchanged until something asks it.

    True only for a run the engine knows is running, has not ended and was not asked to
    stop: polling it would tell nothing new, so the reconciler skips it. An engine that
    cannot tell without asking its cluster leaves this out and is polled as before.
    """

    def steady(self, key: str) -> bool: ...


@runtime_checkable
class RunChanges(Protocol):
    """Optional engine call, beside ``SteadyRuns``: the runs that may have stopped being
    steady since the last call (ended, or asked to stop), so that the reconciler visits
    those instead of asking about every run. Each key is answered once; a run not named
    stays steady (``SteadyRuns.steady`` says True) while its cluster answers."""

    def changed_runs(self) -> set[str]: ...


@runtime_checkable
class CloseWatch(Protocol):
    """Optional engine call: whether a run it was just given has yet to start.

    While one has, the control loop ticks at a short period, so a run is seen running soon
    after its engine starts it (submit-to-running) without polling fast all the time.
    """

    def watching(self) -> bool: ...


def watching(engines: Iterable[EngineAdapter]) -> bool:
    """Whether any of ``engines`` waits for a run it was just given to start."""
    return any(isinstance(e, CloseWatch) and e.watching() for e in engines)


# A model service's replica (suanli.service.services_control): the engine gives its run a
# port and the address to listen at, ``PORT`` and ``HOST`` in its env (127.0.0.1 on the
# local engine, the node's address on Slurm and Ray), and reports where it answers,
# ``http://HOST:PORT`` (AddressSource.address).
REPLICA_ENV = "SUANLI_REPLICA_ID"


def is_replica(spec: JobSpec) -> bool:
    return REPLICA_ENV in spec.env


@runtime_checkable
class AddressSource(Protocol):
    """Optional engine call: where a replica's run answers, as a base URL such as
    ``http://127.0.0.1:40123`` (None until the engine knows: not started, or not a replica)."""

    def address(self, key: str) -> str | None: ...


def address_source(engine: object) -> AddressSource | None:
    """The engine's optional address call, when it has one."""
    return engine if isinstance(engine, AddressSource) else None

"""Where a resumable job's attempts keep their work between them (``spec.checkpoint``).

An engine that keeps a checkpoint directory per job (the local engine: ``ROOT/.checkpoints/
JOB``, the tenant's own, seen by every attempt as ``SUANLI_CHECKPOINT_DIR``) drops it when
the job has ended for good; the service tells it when (``drop_checkpoints``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

CHECKPOINT_ENV = "SUANLI_CHECKPOINT_DIR"


@runtime_checkable
class CheckpointStore(Protocol):
    """Optional engine call: forget a job's checkpoints (it succeeded, failed or was
    cancelled for good: no later attempt will resume)."""

    def drop_checkpoint(self, job_id: str) -> None: ...


def drop_checkpoints(engines: Iterable[object], job_id: str) -> None:
    """Every engine that keeps checkpoints forgets ``job_id``'s (attempts may have run on
    several clusters)."""
    for engine in engines:
        if isinstance(engine, CheckpointStore):
            engine.drop_checkpoint(job_id)

"""Where a resumable job's attempts keep their work between them (``spec.checkpoint``).

An engine that keeps a checkpoint directory per job (the local engine: ``ROOT/.checkpoints/
JOB``, the tenant's own, seen by every attempt as ``SUANLI_CHECKPOINT_DIR``) drops it when
the job has ended for good; the service tells it when (``drop_checkpoints``).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from suanli.domain.errors import EngineFailure

CHECKPOINT_ENV = "SUANLI_CHECKPOINT_DIR"
# A checkpoint directory's name is the job id the server gave (never the spec's words).
_JOB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,119}")


def checkpoint_name(job_id: str, engine: str) -> str:
    """``job_id`` as a directory name under a cluster's checkpoint root; anything but a
    plain name (empty, a path, a leading dot or dash) is refused."""
    if not _JOB_ID.fullmatch(job_id):
        raise EngineFailure(engine=engine, detail=f"bad job id {job_id!r}")
    return job_id


@runtime_checkable
class CheckpointStore(Protocol):
    """Optional engine call: forget a job's checkpoints (it succeeded, failed or was
    cancelled for good: no later attempt will resume)."""

    def drop_checkpoint(self, job_id: str) -> None: ...


def drop_checkpoints(engines: Iterable[object], job_id: str) -> None:
    """Every engine that keeps checkpoints forgets ``job_id``'s (attempts may have run on
    several clusters). One that cannot now (a cluster that does not answer) keeps the
    directory; the others still drop theirs, and the caller's step goes on."""
    for engine in engines:
        if isinstance(engine, CheckpointStore):
            with contextlib.suppress(EngineFailure):
                engine.drop_checkpoint(job_id)

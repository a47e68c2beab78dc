"""Where a resumable job's attempts keep their work between them (``spec.checkpoint``).

An engine that keeps a checkpoint directory per job (the local engine: ``ROOT/.checkpoints/
JOB``, the tenant's own, seen by every attempt as ``SUANLI_CHECKPOINT_DIR``) drops it when
the job has ended for good; the service tells it when (``drop_checkpoints``).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol, runtime_checkable

from suanli.domain.errors import EngineFailure
from suanli.engines.sandbox import Account

CHECKPOINT_ENV = "SUANLI_CHECKPOINT_DIR"
# Where a job in an image finds its checkpoint directory (the host's, bound read-write).
CHECKPOINT_MOUNT = "/checkpoint"
# A checkpoint directory's name is the job id the server gave (never the spec's words).
_JOB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,119}")


def checkpoint_name(job_id: str, engine: str) -> str:
    """``job_id`` as a directory name under a cluster's checkpoint root; anything but a
    plain name (empty, a path, a leading dot or dash) is refused."""
    if not _JOB_ID.fullmatch(job_id):
        raise EngineFailure(engine=engine, detail=f"bad job id {job_id!r}")
    return job_id


def own_directory(path: Path, account: Account | None) -> None:
    """Make the job's checkpoint directory: 0700, its tenant user's (``account``; None: the
    server's user runs the job). A link planted in its place is removed, never followed."""
    if path.is_symlink():
        path.unlink()
    path.mkdir(exist_ok=True, mode=0o700)
    if account is not None:
        os.chown(path, account.uid, account.gid, follow_symlinks=False)
    os.chmod(path, 0o700, follow_symlinks=False)


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

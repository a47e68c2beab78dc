"""Checkpoint directories of Slurm jobs: where a resumable job's attempts keep their work.

A job whose spec checkpoints gets ``SUANLI_CHECKPOINT_DIR`` = ``CHECKPOINTS/JOB`` on the
cluster's shared file system (``checkpoint_dir`` of the cluster's options, else
``RUN_DIR/.checkpoints``: a name no run key can take). Every attempt on this cluster sees the
same directory (``SUANLI_ATTEMPT`` says which attempt it is; a job in an image finds it at
``/checkpoint`` in its containers); it is set in the batch script after the job's own
``env``, so a spec cannot point it elsewhere, and its path is made here from the job id the
server gave, never from the spec.

With ``tenant_users`` (jobs run as their tenant's own system user) the directory is that
user's, 0700, under a parent the server owns that is passable but not listable (0711): a
job reaches its own directory by name, never another tenant's. Without ``tenant_users``
every job runs as the user that submits them, so 0700 keeps out other users of the cluster
but not another suanli job: the same boundary as the run directories (README, "Slurm
engine"). The server deletes the directory when the job ends for good (``drop``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from suanli.engines.base import LaunchRequest
from suanli.engines.checkpoints import checkpoint_name, own_directory
from suanli.engines.sandbox import Account

CHECKPOINTS = ".checkpoints"  # RUN_DIR/.checkpoints unless the cluster names a directory


class SlurmCheckpoints:
    """The cluster's checkpoint root: one directory per job that checkpoints."""

    def __init__(self, run_root: Path, configured: str | None) -> None:
        self.root = Path(configured) if configured else run_root / CHECKPOINTS

    def path(self, job_id: str) -> Path:
        """The job's directory; a job id that is not a plain name is refused."""
        return self.root.resolve() / checkpoint_name(job_id, "slurm")

    def prepare(self, request: LaunchRequest, account: Account | None) -> Path | None:
        """Make the job's directory ready for this attempt and say where it is (None for a
        job that does not checkpoint). The batch script sets ``SUANLI_CHECKPOINT_DIR`` after
        the job's own env: this path, or ``CHECKPOINT_MOUNT`` where the job runs in an image
        and the directory is bound there (``slurm_image``)."""
        if not request.spec.resumes:
            return None
        path = self.path(request.job_id)
        parent = path.parent
        parent.mkdir(parents=True, exist_ok=True, mode=0o711)
        # Passable (a job reaches its own by name), not listable, writable by the server only.
        os.chmod(parent, 0o711)  # noqa: S103
        own_directory(path, account)
        return path

    def drop(self, job_id: str) -> None:
        """Delete the job's checkpoints: it ended for good (no attempt resumes). ``rmtree``
        does not follow links inside; a link in the directory's place is only removed."""
        path = self.path(job_id)
        if path.is_symlink():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path, ignore_errors=True)

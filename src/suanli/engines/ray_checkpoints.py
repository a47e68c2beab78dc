"""Checkpoint directories of Ray jobs: where a resumable job's attempts keep their work.

A Ray cluster configured with ``checkpoint_dir`` (a directory on storage every Ray node
mounts: NFS, CephFS, a cloud file system) gives a job whose spec checkpoints
``SUANLI_CHECKPOINT_DIR`` = ``checkpoint_dir/JOB`` in its runtime env, after the job's own
``env`` (a spec cannot point it elsewhere), the path made from the job id the server gave.
Every attempt on this cluster sees the same directory; the entrypoint makes it (0700, under
``umask 077``) before the job starts. The control plane need not mount that storage: when
the job ends for good, a small Ray job of its own removes the directory (``drop_job``).

What Ray does not give: isolation between tenants. Every Ray job runs as the user the Ray
workers run as, so any job on the cluster (another tenant's included) can read, write or
replace any other job's checkpoint directory if it names the path; 0700 keeps out only
other users of the nodes. Tenants who must not share that boundary get clusters of their
own (the fleet file's tenant pools) or the local or Slurm engines with tenant users
(README, "Ray engine"). A cluster without ``checkpoint_dir`` gives no directory: a program
there saves to storage of its own.
"""

from __future__ import annotations

import shlex
from typing import Any

from suanli.domain.errors import EngineFailure
from suanli.engines.base import LaunchRequest
from suanli.engines.checkpoints import CHECKPOINT_ENV, checkpoint_name

DROP_PREFIX = "checkpoint-drop-"  # not "suanli-": never taken for a run (live_runs)


class RayCheckpoints:
    """The cluster's checkpoint root on its shared storage (None: not configured)."""

    def __init__(self, root: str | None) -> None:
        if root is not None and (not root.startswith("/") or not root.strip("/")):
            raise EngineFailure(
                engine="ray",
                detail=f"checkpoint_dir must be an absolute path every Ray node mounts "
                f"(not the file system's root), not {root!r}",
            )
        self.root = root.rstrip("/") if root else None

    def path(self, job_id: str) -> str | None:
        if self.root is None:
            return None
        return f"{self.root}/{checkpoint_name(job_id, 'ray')}"

    def env(self, request: LaunchRequest) -> dict[str, str]:
        """What the job's runtime env sets after its own env: the directory, for a job that
        checkpoints on a cluster that has a root (an image's container sees only its own)."""
        spec = request.spec
        path = self.path(request.job_id) if spec.resumes and not spec.image else None
        return {CHECKPOINT_ENV: path} if path else {}

    @staticmethod
    def made_first(entrypoint: str, keeps: dict[str, str]) -> str:
        """``entrypoint`` that first makes the job's directory (0700: the umask is 077)."""
        path = keeps.get(CHECKPOINT_ENV)
        if path is None:
            return entrypoint
        return f"umask 077; mkdir -p -- {shlex.quote(path)} && {entrypoint}"

    def drop_job(self, job_id: str) -> dict[str, Any] | None:
        """The Jobs API body of the Ray job that removes ``job_id``'s directory (None: this
        cluster keeps none). ``rm -rf`` removes a link in its place, never what it points
        to; its submission id is fixed per job, so asking twice runs it once."""
        path = self.path(job_id)
        if path is None:
            return None
        return {
            "entrypoint": f"rm -rf -- {shlex.quote(path)}",
            "submission_id": f"{DROP_PREFIX}{job_id}",
            "metadata": {"suanli_job_id": job_id, "suanli_drops": "checkpoint"},
            "entrypoint_num_cpus": 0,
        }

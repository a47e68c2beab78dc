"""Where a resumable job's checkpoint is, and what placing its next attempt means for it.

A job that checkpoints (``spec.checkpoint``) keeps its work in a directory of the engine its
attempt ran on (local, Slurm, Ray: each cluster its own storage). The job records that
cluster when an attempt starts (``Job.checkpoint_cluster``); placement prefers it for the
next attempt when it has room (``scheduler.plans``), and the history says which happened:
resumed there, or started elsewhere with the checkpoint left behind.
"""

from __future__ import annotations

import datetime as dt

from suanli.domain.jobs import Job, JobEvent, Placement, Reason
from suanli.domain.lifecycle import note


def holding_cluster(job: Job) -> str | None:
    """The cluster whose engine holds ``job``'s checkpoint (None: none, or it does not
    checkpoint): what placement prefers for its next attempt."""
    return job.checkpoint_cluster if job.spec.resumes else None


def kept_on_start(job: Job) -> str | None:
    """``checkpoint_cluster`` once ``job``'s placed attempt starts: its cluster's engine
    now holds the checkpoint the next attempt resumes from."""
    if job.spec.resumes and job.placement is not None:
        return job.placement.cluster
    return job.checkpoint_cluster


def placement_note(job: Job, placement: Placement, at: dt.datetime) -> JobEvent | None:
    """The history line for placing a resumable job that has a checkpoint: it resumes on the
    cluster that holds it, or starts elsewhere and leaves it behind (None: nothing to say)."""
    holder = holding_cluster(job)
    if holder is None:
        return None
    if placement.cluster == holder:
        return note(job, at, Reason("reason_checkpoint_resumed", {"cluster": holder}))
    why = {"cluster": holder, "placed": placement.cluster}
    return note(job, at, Reason("reason_checkpoint_left_behind", why))

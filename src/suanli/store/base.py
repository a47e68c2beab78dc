"""Repository protocols: what the services need from storage, nothing about how."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol

from suanli.domain.ids import JobId
from suanli.domain.jobs import Job, JobEvent, JobStatus


class Outcome(StrEnum):
    """Result of a guarded write: applied, or refused because someone else moved first."""

    APPLIED = "applied"
    STALE = "stale"


class JobStore(Protocol):
    def add(self, job: Job, events: Sequence[JobEvent]) -> None:
        """Insert a new job and its first events in one transaction."""
        ...

    def get(self, job_id: JobId) -> Job | None:
        """Return the job, or None."""
        ...

    def list(
        self, statuses: Sequence[JobStatus] | None = None, limit: int = 100, offset: int = 0
    ) -> builtins.list[Job]:
        """Newest first, optionally filtered by status; bounded by ``limit``."""
        ...

    def count(self, statuses: Sequence[JobStatus] | None = None) -> int:
        """How many jobs match the status filter."""
        ...

    def active(self) -> builtins.list[Job]:
        """Every job not in a terminal status (for the scheduler and reconciler)."""
        ...

    def save(self, before: Job, after: Job, events: Sequence[JobEvent]) -> Outcome:
        """Replace ``before`` by ``after`` if nobody changed it since (same version).

        The events are written in the same transaction; on STALE nothing is written.
        """
        ...

    def add_events(self, events: Sequence[JobEvent]) -> None:
        """Append history notes that change no status."""
        ...

    def events(self, job_id: JobId) -> builtins.list[JobEvent]:
        """The job's history, oldest first."""
        ...

    def close(self) -> None:
        """Release connections; the store is not used afterwards."""
        ...

"""The memory job store's change feeds (``store.base.JobChanges``): which jobs changed.

Each feed collects the ids of the jobs the store added or saved since its reader last took
them; the store adds to every feed as it writes, under the tables' lock.
"""

from __future__ import annotations

import threading

from suanli.domain.ids import JobId


class ChangedJobs:
    """One reader's feed (``store.base.JobFeed``)."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._ids: set[JobId] = set()

    def note(self, job_id: JobId) -> None:
        """Called by the store with its lock held."""
        self._ids.add(job_id)

    def take(self) -> set[JobId]:
        with self._lock:
            ids, self._ids = self._ids, set()
        return ids

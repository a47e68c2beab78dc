"""Submissions written in groups: one transaction (and one commit) for all waiting at once.

A busy API process receives submissions faster than one database commit each could keep
up with. Every request hands its validated job to one writer thread of the process, which
stores whatever has gathered since its last write (up to ``max_group``) with
``JobStore.add_submitted``: the job rows, their first events and the requests' audit rows,
all in one transaction. Nobody waits for a group to fill: an idle process writes a lone
submission at once, so the group size follows the load. The per-tenant limit of unfinished
jobs is checked in that same transaction against the tenant's count row, which it locks until
the commit, so submissions never overshoot it, to one process or to several.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future

from suanli.domain.errors import TooManyRequests
from suanli.store.base import JobStore, Submission

log = logging.getLogger("suanli.submissions")

_Pending = tuple[Submission, "Future[None]"]


class SubmitQueue:
    """One writer thread storing submissions in groups; ``submit`` answers when stored."""

    def __init__(self, jobs: JobStore, active_limit: int = 0, max_group: int = 256) -> None:
        self.jobs = jobs
        self.active_limit = active_limit  # unfinished jobs per tenant (0: no limit)
        self.max_group = max_group
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._writer: threading.Thread | None = None

    def submit(self, submission: Submission) -> Future[None]:
        """Store ``submission`` soon; the future fails with TooManyRequests over the limit."""
        done: Future[None] = Future()
        with self._lock:
            if self._writer is None:
                self._queue = queue.SimpleQueue()  # the new writer's own
                self._writer = threading.Thread(
                    target=self._write_forever,
                    args=(self._queue,),
                    name="suanli-submissions",
                    daemon=True,
                )
                self._writer.start()
            self._queue.put((submission, done))
        return done

    def close(self) -> None:
        """Write what is queued, then stop the writer (a later ``submit`` starts another)."""
        with self._lock:
            writer, self._writer = self._writer, None
            if writer is not None:
                self._queue.put(None)  # after everything queued so far
        if writer is not None:
            writer.join()

    def _write_forever(self, waiting: queue.SimpleQueue[_Pending | None]) -> None:
        while True:
            first = waiting.get()
            if first is None:
                return
            group = [first]
            stop = False
            while len(group) < self.max_group:
                try:
                    more = waiting.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                group.append(more)
            self._write(group)
            if stop:
                return

    def _write(self, group: Sequence[_Pending]) -> None:
        try:
            answers = self.jobs.add_submitted([s for s, _ in group], self.active_limit)
        except Exception as exc:  # noqa: BLE001 - handed to the waiting requests
            if len(group) > 1:
                # One bad row must not fail the others: write each alone.
                log.warning("a group of %d submissions failed; writing each alone", len(group))
                for pending in group:
                    self._write([pending])
                return
            group[0][1].set_exception(exc)
            return
        for (submission, done), active in zip(group, answers, strict=True):
            if active is None:
                done.set_result(None)
            else:
                done.set_exception(
                    TooManyRequests(
                        "quota.active_jobs",
                        tenant=submission.job.tenant,
                        active=active,
                        limit=self.active_limit,
                    )
                )

"""Blind baselines: published policies that know no job's run time, beside the default.

Each ranks work behind the ``QueuePolicy`` protocol (``policies.py``) and is registered in
``QUEUE_POLICIES`` like the others, so the live cycle and the replay drive them alike
(``queue: {policy: las2d}`` in a tenants or scenario file). They are here to be measured
against: the held-out report (``bench/queue_heldout.py``) runs them in the same run as
the default.

- ``las-plain``: least attained service, continuous (no levels, no aging): the job that
  has had the least service (accelerators x time, Tiresias' "two-dimensional" service)
  first, preempting running work that has had more.
- ``las2d``: Tiresias' discretised 2D-LAS (Gu et al., NSDI'19, section 4.2; the authors'
  simulator ``dlas-gpu``), with its published queue thresholds and its starvation
  promotion (``model.LAS2D_LEVELS_S``, ``model.LAS2D_PROMOTE``).
- ``qssf``: Helios' Quasi-Shortest-Service-First (Hu et al., SC'21, section 5): work
  ranked by its *predicted* service (GPU time), predicted from the jobs already finished in
  the run that share its features. The Philly trace as replayed has two features per job:
  its virtual cluster (the tenant) and its gang size; Helios also used the user and job
  name, which this trace lacks.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict

from suanli.domain.throughput import UNIFORM, ThroughputTable
from suanli.scheduler.queueing.gittins import MIN_SAMPLES, ServiceHistory, size_class
from suanli.scheduler.queueing.model import QueueSettings, Work
from suanli.scheduler.queueing.policies import Key, QueuePolicy, _Base


class PlainLeastAttained(_Base):
    """Least attained service first, continuously: a job's rank is its service so far
    (normalised accelerator-seconds, all attempts); ties by submission. Running work that
    has had more service than a waiting job is preempted for it once past ``min_run_s``
    (the settings' guard against thrashing; the policy itself has none)."""

    name = "las-plain"
    preemptive = True

    def key(self, work: Work, now: float) -> Key:
        return (-work.priority, work.attained, work.submitted, work.id)

    def wait_order(self, work: Work) -> tuple[Key, Key]:
        # Waiting work's service does not grow: its key is fixed while it waits.
        return (), self.key(work, 0.0)


class TwoDimLeastAttained(_Base):
    """Tiresias' discretised two-dimensional LAS (2D-LAS).

    Service is accelerators x time (normalised accelerator-seconds); a job is in queue
    ``k`` while its service is below threshold ``k`` (``settings.las2d_levels_s``; every
    job starts in queue 0). Queues are served in order; inside a queue, work that runs
    keeps running (Tiresias moves waiting work behind running work of its queue after each
    round), then first come first served. Work in a lower queue preempts running work of a
    higher one (after ``min_run_s`` and the grace period, as for every preemptive policy).

    Starvation (Tiresias' PROMOTEKNOB, ``settings.las2d_promote``): a job that has run and
    has since waited at least ``knob`` times its executed time (its service over its
    accelerators) goes back to queue 0, and its service counts from zero again for its
    queue until it is next preempted. Kept without state: a running job was promoted when
    it started if its wait before this attempt was long enough; then only this attempt's
    service places it. (Tiresias compares later waits with the time executed since the
    last promotion; here with all the time executed: a second promotion comes later.)
    """

    name = "las2d"
    preemptive = True

    def _queue(self, service: float) -> int:
        return bisect.bisect_right(self.settings.las2d_levels_s, service)

    def _promoted(self, work: Work, executed_before: float, waited: float) -> bool:
        knob = self.settings.las2d_promote
        return knob > 0 and executed_before > 0 and waited >= knob * executed_before

    def _before(self, work: Work, now: float) -> float:
        """Service attained before the current attempt (all of it for waiting work)."""
        if work.pool is None or work.started is None:
            return work.attained
        this = max(now - work.started, 0.0) * work.cards * work.speed
        return max(work.attained - this, 0.0)

    def queue(self, work: Work, now: float) -> int:
        cards = work.cards or 1.0
        before = self._before(work, now)
        if work.pool is None:
            if self._queue(work.attained) and self._promoted(
                work, before / cards, now - work.queued_since
            ):
                return 0
            return self._queue(work.attained)
        started = work.started if work.started is not None else now
        if self._promoted(work, before / cards, started - work.queued_since):
            return self._queue(work.attained - before)
        return self._queue(work.attained)

    def key(self, work: Work, now: float) -> Key:
        return (-work.priority, self.queue(work, now), work.pool is None, work.submitted, work.id)

    def _promote_at(self, work: Work) -> float | None:
        """When waiting work that ran goes back to queue 0 (None: never, or already)."""
        knob = self.settings.las2d_promote
        if knob <= 0 or work.attained <= 0 or not self._queue(work.attained):
            return None
        return work.queued_since + knob * work.attained / (work.cards or 1.0)

    def next_change(self, work: Work, now: float) -> float | None:
        if work.pool is None:
            at = self._promote_at(work)
            return at if at is not None and at > now else None
        rate = work.cards * work.speed
        if rate <= 0:
            return None
        q = self.queue(work, now)
        levels = self.settings.las2d_levels_s
        if q >= len(levels):
            return None
        # Service counted for the queue: this attempt's if promoted, else all of it.
        counted = work.attained
        started = work.started if work.started is not None else now
        before = self._before(work, now)
        if self._promoted(work, before / (work.cards or 1.0), started - work.queued_since):
            counted = work.attained - before
        return now + (levels[q] - counted) / rate

    def wait_order(self, work: Work) -> tuple[Key, Key]:
        # Waiting work's queue changes only at its promotion: one group per queue and
        # promotion instant, ordered by submission inside.
        q = self.queue(work, work.queued_since)
        at = self._promote_at(work) if q else None
        return (-work.priority, q, at if at is not None else math.inf), (
            True,
            work.submitted,
            work.id,
        )


class QuasiShortestService(_Base):
    """Helios' QSSF: shortest *predicted* service first, not preemptive.

    A job's predicted service (normalised accelerator-seconds, i.e. GPU time) is the mean
    service of the finished jobs of its class (tenant and gang size, sizes grouped by
    powers of two as the Gittins table does) in the history the driver passes, which holds
    only jobs already finished in the run; a class with fewer than ``MIN_SAMPLES`` finished
    jobs uses its size over all tenants, then all jobs; with none finished every job is
    predicted alike (first come, first served). Helios predicts with the job's user, name
    and size; the replayed Philly trace has only its virtual cluster and size.
    """

    name = "qssf"
    learns = True

    def __init__(
        self,
        settings: QueueSettings | None = None,
        throughput: ThroughputTable = UNIFORM,
        history: ServiceHistory | None = None,
    ) -> None:
        super().__init__(settings, throughput)
        self.history = history
        self._by_class: dict[tuple[str, int], float] = {}
        self._by_size: dict[int, float] = {}
        self._overall = math.inf
        if history is not None:
            self._learn(history)

    def _learn(self, history: ServiceHistory) -> None:
        sums: dict[int, float] = defaultdict(float)
        counts: dict[int, int] = defaultdict(int)
        total, n = 0.0, 0
        for (tenant, size), samples in history.samples.items():
            s = math.fsum(samples)
            if len(samples) >= MIN_SAMPLES:
                self._by_class[tenant, size] = s / len(samples)
            sums[size] += s
            counts[size] += len(samples)
            total, n = total + s, n + len(samples)
        self._by_size = {k: sums[k] / c for k, c in counts.items() if c >= MIN_SAMPLES}
        self._overall = total / n if n else math.inf

    def informed(self, history: ServiceHistory) -> QueuePolicy:
        if history is self.history:
            return self
        return QuasiShortestService(self.settings, self.throughput, history)

    def predicted(self, work: Work) -> float:
        """The service this work is expected to take, from finished jobs like it."""
        size = size_class(work.accelerators)
        found = self._by_class.get((work.tenant, size))
        if found is None:
            found = self._by_size.get(size, self._overall)
        return found

    def key(self, work: Work, now: float) -> Key:
        return (-work.priority, self.predicted(work), work.submitted, work.id)

    def wait_order(self, work: Work) -> tuple[Key, Key]:
        # Work of one tenant and size is predicted alike whatever the history: inside that
        # group, by submission.
        return (-work.priority, work.tenant, size_class(work.accelerators)), (
            work.submitted,
            work.id,
        )


BLIND_POLICIES: tuple[type[_Base], ...] = (
    PlainLeastAttained,
    TwoDimLeastAttained,
    QuasiShortestService,
)

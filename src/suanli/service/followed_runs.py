"""Which dispatched jobs the reconciler walks: the ones whose run or record may have changed.

The reconciler polls every STARTING or RUNNING job, except a RUNNING one its engine calls
steady (``engines.base.SteadyRuns``) that nobody asked to stop. Listing every running job
each tick only to skip most of them costs in proportion to the running jobs; where the job
store reports the jobs that changed (``store.base.JobChanges``) and every engine the runs
that stopped being steady (``engines.base.RunChanges``), the walk is kept to the jobs that
could be polled: those the last walk did not find steady, those saved since, those whose run
changed, and every STARTING job. The reconciler still applies its own rule to each, so it
polls exactly the jobs the full walk would, in the same order (newest submission first).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from suanli.domain.ids import JobId, parse_engine_key
from suanli.domain.jobs import Job, JobStatus
from suanli.engines.base import EngineAdapter, RunChanges, SteadyRuns
from suanli.store.base import JobChanges, JobFeed, JobStore

S = JobStatus
LIVE = (S.STARTING, S.RUNNING)
ALL = 100_000  # the reconciler's listing bound


def _newest(job: Job) -> tuple[dt.datetime, str]:
    return (job.submitted_at, job.id)


@dataclass
class FollowedRuns:
    """The reconciler's walk, kept across ticks (one control loop per platform)."""

    jobs: JobStore | None = None
    engines: tuple[int, ...] = ()
    feed: JobFeed | None = None
    watch: set[JobId] = field(default_factory=set)
    told: list[RunChanges] = field(default_factory=list)  # the engines, as they tell changes
    checked: tuple[tuple[int, ...], dict[str, Callable[[str], bool]]] = ((), {})

    def steady(self, engines: Mapping[str, EngineAdapter]) -> dict[str, Callable[[str], bool]]:
        """Per cluster, its engine's ``SteadyRuns.steady`` where it has one (checked when
        the engines are new only)."""
        every = tuple(id(e) for e in engines.values())
        if self.checked[0] != every or not every:
            found: dict[str, Callable[[str], bool]] = {
                c: e.steady for c, e in engines.items() if isinstance(e, SteadyRuns)
            }
            self.checked = (every, found)
        return self.checked[1]

    def to_walk(self, jobs: JobStore, engines: Mapping[str, EngineAdapter]) -> list[Job]:
        """The STARTING and RUNNING jobs the reconciler may have to poll, newest first."""
        every = tuple(id(e) for e in engines.values())
        if self.feed is None or self.jobs is not jobs or self.engines != every:
            # Checked when the store or engines are new only: a protocol check costs more
            # than a whole tick of a quiet walk.
            told: list[RunChanges] = [e for e in engines.values() if isinstance(e, RunChanges)]
            if (
                not isinstance(jobs, JobChanges)
                or len(told) < len(every)
                or not all(isinstance(e, SteadyRuns) for e in engines.values())
            ):
                self.feed = None
                return jobs.list(list(LIVE), limit=ALL)
            self.jobs, self.engines, self.feed, self.told = jobs, every, jobs.follow(), told
            for engine in told:
                engine.changed_runs()  # the whole walk below sees them
            return jobs.list(list(LIVE), limit=ALL)
        ids = self.watch | self.feed.take()
        for engine in self.told:
            for key in engine.changed_runs():
                parsed = parse_engine_key(key)
                if parsed is not None:
                    ids.add(parsed[0])
        found = {j.id: j for j in jobs.list([S.STARTING], limit=ALL)}
        for i in ids:
            job = jobs.get(i)
            if job is not None and job.status in LIVE:
                found[i] = job
        return sorted(found.values(), key=_newest, reverse=True)

    def walked(
        self,
        jobs: JobStore,
        walk: Iterable[Job],
        quiet: Callable[[Job], bool],
    ) -> None:
        """After the walk: each job of ``walk`` is watched next tick unless, as stored now,
        it is ``quiet`` (the reconciler would skip it until its record or run changes)."""
        if self.feed is None:
            return
        watch: set[JobId] = set()
        for old in walk:
            job = jobs.get(old.id)
            if job is not None and job.status in LIVE and not quiet(job):
                watch.add(job.id)
        self.watch = watch

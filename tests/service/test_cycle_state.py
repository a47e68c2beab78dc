"""What the scheduling cycle keeps between cycles derives exactly what it would anew."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random
from decimal import Decimal

from suanli.domain.jobs import Job, JobStatus, NodeAssignment, Placement
from suanli.scheduler.fairqueue import service_history
from suanli.service.cycle_state import FINISHED, FollowedHistory, HistoryWindow
from suanli.service.followed_active import FollowedActive, sorted_out
from suanli.store.base import Outcome
from suanli.store.stores import memory_stores
from tests.builders import T0, make_fleet, make_job, make_pool, make_spec

FLEET = make_fleet(
    ("lab", "beijing", [make_pool("a100", "A100", nodes=4, per_node=8), make_pool("t4", "T4")])
)
SPECS = [
    make_spec(name="w", resources={"accelerator": {"model": "A100", "count": n}})
    for n in (1, 2, 4, 8)
] + [make_spec(name="cpu", resources={"cpus": 2})]


def finished(i: int, rnd: random.Random) -> Job:
    spec = rnd.choice(SPECS)
    start = T0 + dt.timedelta(seconds=rnd.randrange(10**6))
    pool, model = rnd.choice([("a100", "A100"), ("t4", "T4")])
    return dataclasses.replace(
        make_job(spec, f"j{i}", tenant=rnd.choice("abc"), at=start),
        status=rnd.choice([JobStatus.SUCCEEDED, JobStatus.FAILED]),
        placement=Placement("lab", pool, model, (NodeAssignment(f"{pool}-n0", (0,)),), Decimal(1)),
        started_at=start,
        finished_at=start + dt.timedelta(seconds=rnd.choice([0, 5, 60, 3600, 3600, 10**5])),
        attained=rnd.choice([0.0, 0.0, 100.0, math.nan if i % 97 == 0 else 7.0]),
        version=rnd.randrange(3),
    )


def test_the_followed_history_is_the_history_of_each_cycle_read_anew() -> None:
    # Cycles read the newest finished jobs; between two reads some finish and the oldest
    # leave, a job comes back in another version, the list shrinks and grows: the history
    # followed from cycle to cycle equals service_history of each list, class by class.
    rnd = random.Random(7)
    pool = [finished(i, rnd) for i in range(400)]
    window = HistoryWindow()
    for cycle in range(120):
        lo = rnd.randrange(0, 300)
        listed = pool[lo : lo + rnd.randrange(0, 120)]
        if cycle % 10 == 0:  # another version of a listed job
            k = rnd.randrange(len(pool))
            pool[k] = dataclasses.replace(pool[k], version=pool[k].version + 1, attained=1.0)
        listed = sorted(listed, key=lambda j: (j.submitted_at, j.id), reverse=True)
        followed = window.follow(listed, FLEET)
        anew = service_history(reversed(listed), FLEET)
        assert followed.samples.keys() == anew.samples.keys()
        for cls, samples in anew.samples.items():
            assert repr(followed.samples[cls]) == repr(samples)  # NaNs where they were


def test_an_unchanged_list_gives_the_very_same_history() -> None:
    rnd = random.Random(1)
    listed = [finished(i, rnd) for i in range(50)]
    window = HistoryWindow()
    first = window.follow(listed, FLEET)
    assert window.follow(list(listed), FLEET) is first


def test_the_followed_list_of_finished_jobs_is_the_list_read_anew() -> None:
    # Jobs finish (newer and older than the listed ones), listed jobs are saved again, one
    # goes back to the queue (the list must then be read anew), others are added: after
    # each batch the history followed through the store's change feed equals the history
    # of the newest finished jobs read from the store.
    rnd = random.Random(11)
    jobs = memory_stores().jobs
    for i in range(300):
        job = finished(i, rnd)
        if rnd.random() < 0.5:
            job = dataclasses.replace(job, status=JobStatus.RUNNING)
        jobs.add(dataclasses.replace(job, version=0), [])
    followed, window = FollowedHistory(), HistoryWindow()
    ids = [j.id for j in jobs.list(limit=1000)]
    reread = 0
    for batch in range(150):
        for _ in range(rnd.randrange(6)):
            stored = jobs.get(rnd.choice(ids))
            assert stored is not None
            status = rnd.choice(
                [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.SUCCEEDED, JobStatus.QUEUED]
            )
            after = dataclasses.replace(stored, status=status, attained=rnd.choice([0.0, 5.0]))
            assert jobs.save(stored, after, []) is Outcome.APPLIED
        if batch % 7 == 0:
            new = finished(1000 + batch, rnd)
            jobs.add(dataclasses.replace(new, version=0), [])
            ids.append(new.id)
        listed = followed.listed
        history = followed.read(jobs, 40, window, FLEET)
        reread += followed.listed is not listed
        anew = service_history(reversed(jobs.list(FINISHED, limit=40)), FLEET)
        got, want = (
            [j.id for j in followed.listed.values()],
            [j.id for j in reversed(jobs.list(FINISHED, limit=40))],
        )
        assert got == want, (batch, set(got) ^ set(want), len(got), len(want))
        assert history.samples.keys() == anew.samples.keys()
        for cls, samples in anew.samples.items():
            assert repr(history.samples[cls]) == repr(samples)
    assert 1 < reread < 100  # mostly followed; read anew when a listed job left the list


def test_the_followed_active_jobs_are_the_jobs_read_anew() -> None:
    # Jobs move through every status (some back and forth, some finish), are added, and
    # change their submission time (the store's order): after each batch the three lists
    # followed through the change feed equal one active() read sorted out, job for job.
    rnd = random.Random(5)
    jobs = memory_stores().jobs
    ids = []
    for i in range(200):
        job = finished(i, rnd)
        job = dataclasses.replace(job, status=rnd.choice(list(JobStatus)), version=0)
        jobs.add(job, [])
        ids.append(job.id)
    followed = FollowedActive()
    assert followed.read(jobs) == sorted_out(jobs.active())
    for batch in range(120):
        for _ in range(rnd.randrange(8)):
            stored = jobs.get(rnd.choice(ids))
            assert stored is not None
            after = dataclasses.replace(stored, status=rnd.choice(list(JobStatus)))
            if rnd.random() < 0.1:
                at = T0 + dt.timedelta(seconds=rnd.randrange(10**6))
                after = dataclasses.replace(after, submitted_at=at)
            assert jobs.save(stored, after, []) is Outcome.APPLIED
        if batch % 5 == 0:
            new = dataclasses.replace(finished(1000 + batch, rnd), status=JobStatus.PENDING)
            jobs.add(dataclasses.replace(new, version=0), [])
            ids.append(new.id)
        got, want = followed.read(jobs), sorted_out(jobs.active())
        assert got == want, batch
        assert all((want.pending, want.queued, want.holding))
        got.queued.clear()  # the lists are the caller's (the cycle appends to its queue)
        got.holding.reverse()
    assert followed.feed is not None  # followed, not read anew each time

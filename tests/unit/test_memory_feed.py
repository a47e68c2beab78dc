"""The memory job store's change feeds: each live feed hears of every write; one that is gone
is dropped (the store holds its feeds weakly)."""

from __future__ import annotations

import gc

from suanli.domain.jobs import JobStatus, job_with
from suanli.store.base import Outcome
from suanli.store.memory import MemoryDatabase, MemoryJobStore
from tests.builders import make_job


def test_live_feeds_hear_of_each_write_and_a_gone_feed_is_dropped() -> None:
    db = MemoryDatabase()
    jobs = MemoryJobStore(db)
    kept, dropped = jobs.follow(), jobs.follow()
    job = make_job(job_id="a")
    jobs.add(job, [])
    assert kept.take() == {job.id}
    assert dropped.take() == {job.id}
    del dropped
    gc.collect()
    later = jobs.follow()
    after = job_with(job, status=JobStatus.PLACED)
    assert jobs.save(job, after, []) is Outcome.APPLIED
    jobs.add(make_job(job_id="b"), [])
    assert kept.take() == {job.id, "b"}
    assert later.take() == {job.id, "b"}
    assert [ref() for ref in db.feeds] == [kept, later]

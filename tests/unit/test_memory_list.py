"""The memory job store lists jobs newest first, a page at a time, however it reads them."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.domain.jobs import Job, JobStatus
from suanli.store.memory import MemoryDatabase, MemoryJobStore
from tests.builders import make_job

T0 = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
_STATUSES = [JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.FAILED]


def _newest_first(jobs: list[Job], statuses: set[JobStatus]) -> list[Job]:
    chosen = [j for j in jobs if j.status in statuses]
    return sorted(chosen, key=lambda j: (j.submitted_at, j.id), reverse=True)


@settings(max_examples=100, deadline=None)
@given(
    shapes=st.lists(st.tuples(st.sampled_from(_STATUSES), st.integers(0, 5)), max_size=12),
    statuses=st.sets(st.sampled_from(_STATUSES), min_size=1),
    limit=st.integers(0, 14),
    offset=st.integers(0, 14),
)
def test_a_page_of_one_or_more_statuses_is_the_newest_first_slice(
    shapes: list[tuple[JobStatus, int]], statuses: set[JobStatus], limit: int, offset: int
) -> None:
    store = MemoryJobStore(MemoryDatabase())
    jobs = [
        make_job(job_id=f"j-{n:02d}", status=s, at=T0 + dt.timedelta(seconds=t))
        for n, (s, t) in enumerate(shapes)
    ]
    for job in jobs:
        store.add(job, [])
    page = store.list(sorted(statuses), limit=limit, offset=offset)
    assert page == _newest_first(jobs, statuses)[offset : offset + limit]

"""The memory stores' event columns read every job's events back equal, in order, to the
events added: interleaved jobs, first events (no from-status), any attempt, instants in
UTC (packed) and in other zones or with a job id of another job (kept whole)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.domain.ids import JobId
from suanli.domain.jobs import JobEvent, JobStatus, Reason
from suanli.store.memory_events import EventLog

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
ZONES = (dt.UTC, dt.timezone(dt.timedelta(hours=8)), dt.timezone(dt.timedelta(0)))
JOBS = tuple(JobId(f"j-{i}") for i in range(4))

_event = st.builds(
    JobEvent,
    job_id=st.sampled_from(JOBS),
    at=st.builds(
        lambda us, zone: (T0 + dt.timedelta(microseconds=us)).astimezone(zone),
        st.integers(-(10**15), 10**15),
        st.sampled_from(ZONES),
    ),
    from_status=st.none() | st.sampled_from(JobStatus),
    to_status=st.sampled_from(JobStatus),
    reason=st.builds(Reason, st.sampled_from(("reason_placed", "reason_done")), st.just({})),
    attempt=st.integers(0, 2**40),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(JOBS), st.lists(_event, max_size=4)), max_size=30))
def test_events_read_back_equal_and_in_order(adds: list[tuple[JobId, list[JobEvent]]]) -> None:
    log, expected = EventLog(), dict[JobId, list[JobEvent]]()
    for job_id, events in adds:
        log.append(job_id, events)
        expected.setdefault(job_id, []).extend(events)
    for job_id in JOBS:
        got = log.read(job_id)
        want = expected.get(job_id, [])
        assert got == want
        # Same zone and same form, not merely equal instants.
        assert [(e.at.tzinfo, e.at.isoformat(), e.job_id) for e in got] == [
            (e.at.tzinfo, e.at.isoformat(), e.job_id) for e in want
        ]
    assert len(log) == sum(len(v) for v in expected.values())


def test_a_packed_event_shares_its_reason_and_costs_no_object_of_its_own() -> None:
    log = EventLog()
    reason = Reason("reason_placed", {"pool": "t4"})
    events = [
        JobEvent(JOBS[0], T0 + dt.timedelta(seconds=i), None, JobStatus.QUEUED, reason, i)
        for i in range(3)
    ]
    log.append(JOBS[0], events)
    assert log.read(JOBS[0]) == events
    assert all(e.reason is reason for e in log.read(JOBS[0]))
    assert log.read(JOBS[1]) == []

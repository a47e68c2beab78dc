"""The memory stores' event columns read every job's events back equal, in order, to the
events added: interleaved jobs, first events (no from-status), any attempt, instants in
UTC (packed) and in other zones or with a job id of another job (kept whole)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.domain.ids import JobId
from suanli.domain.jobs import JobEvent, JobStatus, Reason
from suanli.store.memory_compact import SharedValues
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


_value = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=5)
    | st.decimals(allow_nan=False, allow_infinity=False, places=2)
)
_reason = st.builds(
    Reason,
    st.sampled_from(("reason_placed", "reason_dispatching")),
    st.dictionaries(st.sampled_from(("key", "pool", "nodes")), _value, max_size=3),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(JOBS), _reason, st.integers(0, 3)), max_size=30))
def test_reasons_kept_once_or_packed_read_back_equal_in_form(
    adds: list[tuple[JobId, Reason, int]],
) -> None:
    log, expected = EventLog(SharedValues().seen), dict[JobId, list[JobEvent]]()
    for n, (job_id, reason, attempt) in enumerate(adds):
        e = JobEvent(job_id, T0 + dt.timedelta(seconds=n), None, JobStatus.QUEUED, reason, attempt)
        log.append(job_id, [e])
        expected.setdefault(job_id, []).append(e)
    for job_id in JOBS:
        got, want = log.read(job_id), expected.get(job_id, [])
        assert got == want
        # Each parameter of the same type and form, in the same order (not merely equal).
        assert [repr(e.reason) for e in got] == [repr(e.reason) for e in want]


def test_a_reason_of_one_job_is_packed_and_a_repeated_one_kept_once() -> None:
    log = EventLog(SharedValues().seen)
    dispatch = [Reason("reason_dispatching", {"key": f"run-{n}"}) for n in range(2)]
    placed = [Reason("reason_placed", {"pool": "t4"}) for _ in range(3)]
    for n, reason in enumerate([*dispatch, *placed]):
        log.append(JOBS[n % 2], [JobEvent(JOBS[n % 2], T0, None, JobStatus.QUEUED, reason)])
    rows: list[Any] = log._reason
    assert [type(r) for r in rows[:3]] == [tuple, tuple, tuple]  # each met once: packed
    assert rows[0][1] is rows[1][1]  # one tuple of parameter names for the shape
    assert rows[3] is rows[4] is placed[0]  # met before: the kept reason
    assert [e.reason for e in log.read(JOBS[0])] == [dispatch[0], placed[0], placed[1]]

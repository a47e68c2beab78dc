"""The SQL store on a real SQLite file: migrations, guarded writes, history."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from suanli.domain.ids import new_job_id
from suanli.domain.jobs import (
    Decision,
    JobEvent,
    JobStatus,
    NodeAssignment,
    Placement,
    Reason,
)
from suanli.domain.lifecycle import transition
from suanli.store.base import Outcome, Submission
from suanli.store.sql.database import MIGRATIONS, open_database
from suanli.store.sql.repos import SqlJobStore
from suanli.store.sql.tables import metadata
from tests.builders import T0, make_job, make_spec

S = JobStatus


@contextlib.contextmanager
def opened(url: str) -> Iterator[Engine]:
    engine = open_database(url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def jobs(database_url: str) -> Iterator[SqlJobStore]:
    with opened(database_url) as engine:
        yield SqlJobStore(engine)


def test_migrations_match_the_tables(database_url: str) -> None:
    with opened(database_url) as engine, engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_migrating_twice_is_harmless(database_url: str) -> None:
    with opened(database_url), opened(database_url):
        pass


def test_job_round_trips_with_placement_and_history(jobs: SqlJobStore) -> None:
    spec = make_spec(env={"TOKEN": "s3cret"}, budget_yuan="12.34")
    job = make_job(spec, status=S.PENDING)
    jobs.add(job, [JobEvent(job.id, T0, None, S.PENDING, Reason("reason_submitted"))])
    queued, ev = transition(job, S.QUEUED, T0, Reason("reason_admitted"))
    assert jobs.save(job, queued, [ev]) is Outcome.APPLIED
    got = jobs.get(job.id)
    assert got is not None
    assert got.status is S.QUEUED
    assert got.version == 1
    assert got.spec == spec
    assert got.submitted_at == T0  # timezone-aware UTC survives SQLite
    placement = Placement("c", "p", "T4", (NodeAssignment("p-n0", (0, 1)),), Decimal(3))
    placed, ev2 = transition(got, S.PLACED, T0, Reason("reason_placed"), placement=placement)
    assert jobs.save(got, placed, [ev2]) is Outcome.APPLIED
    again = jobs.get(job.id)
    assert again is not None
    assert again.placement is not None
    assert again.placement.nodes == (NodeAssignment("p-n0", (0, 1)),)
    assert [e.to_status for e in jobs.events(job.id)] == [S.PENDING, S.QUEUED, S.PLACED]


def test_stale_write_is_refused_and_writes_nothing(jobs: SqlJobStore) -> None:
    job = make_job(status=S.QUEUED)
    jobs.add(job, [])
    placed, ev = transition(job, S.CANCELLED, T0, Reason("reason_cancelled"))
    assert jobs.save(job, placed, [ev]) is Outcome.APPLIED
    # A second writer still holding the old version loses, and its event is not written.
    other, ev2 = transition(job, S.PLACED, T0, Reason("reason_placed"))
    assert jobs.save(job, other, [ev2]) is Outcome.STALE
    got = jobs.get(job.id)
    assert got is not None
    assert got.status is S.CANCELLED
    assert [e.to_status for e in jobs.events(job.id)] == [S.CANCELLED]


def test_listing_is_newest_first_filtered_and_bounded(jobs: SqlJobStore) -> None:
    for i in range(5):
        at = T0.replace(minute=i)
        jobs.add(make_job(job_id=f"j-{i}", at=at, status=S.SUCCEEDED if i % 2 else S.QUEUED), [])
    assert [j.id for j in jobs.list(limit=2)] == ["j-4", "j-3"]
    assert [j.id for j in jobs.list([S.SUCCEEDED])] == ["j-3", "j-1"]
    assert jobs.count([S.QUEUED]) == 3
    assert {j.id for j in jobs.active()} == {"j-0", "j-2", "j-4"}
    assert dataclasses.replace(jobs.list(offset=4)[0]).id == "j-0"


def test_counts_holding_and_waiting_groups_come_from_the_database(jobs: SqlJobStore) -> None:
    wait = Decision(Reason("waiting_for_capacity", {"count": 1}), (), None)
    other = Decision(Reason("no_quota", {"tenant": "demo"}), (), None)
    placement = Placement("c", "p", "T4", (NodeAssignment("n0", (0,)),), Decimal("1.00"))
    for i, (status, decision) in enumerate(
        [(S.QUEUED, wait), (S.QUEUED, wait), (S.QUEUED, other), (S.PENDING, None)]
    ):
        jobs.add(
            make_job(job_id=f"w-{i}", status=status, at=T0.replace(minute=i), decision=decision),
            [],
        )
    jobs.add(make_job(job_id="r-0", status=S.RUNNING, placement=placement, attempt=1), [])
    jobs.add(make_job(job_id="d-0", status=S.SUCCEEDED), [])
    assert jobs.status_counts([S.QUEUED, S.PENDING, S.RUNNING, S.PLACED]) == {
        S.QUEUED: 3,
        S.PENDING: 1,
        S.RUNNING: 1,
        S.PLACED: 0,
    }
    assert [j.id for j in jobs.holding()] == ["r-0"]
    groups = {
        (g.decision.summary.code if g.decision else None): (g.jobs, g.oldest)
        for g in jobs.waiting_groups([S.PENDING, S.QUEUED])
    }
    assert groups == {
        "waiting_for_capacity": (2, T0.replace(minute=0)),
        "no_quota": (1, T0.replace(minute=2)),
        None: (1, T0.replace(minute=3)),
    }


def test_a_saved_change_is_read_back_not_a_stale_decoding(jobs: SqlJobStore) -> None:
    job = make_job(status=S.QUEUED)
    jobs.add(job, [])
    (before,) = jobs.active()
    after, event = transition(before, S.CANCELLED, T0, Reason("reason_cancel_requested"))
    assert jobs.save(before, after, [event]) is Outcome.APPLIED
    assert jobs.active() == []
    (read,) = jobs.list()
    assert read.status is S.CANCELLED
    assert read.version == before.version + 1


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to ``revision`` (the next opening migrates it to head again)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_a_database_with_jobs_and_history_upgrades_from_0005(database_url: str) -> None:
    # Rebuilding ``jobs`` during an upgrade would trip the foreign keys of its events.
    with opened(database_url) as engine:
        jobs = SqlJobStore(engine)
        job = make_job(make_spec(), status=S.PENDING)
        jobs.add(job, [JobEvent(job.id, T0, None, S.PENDING, Reason("reason_submitted"))])
        downgrade(engine, "0005")
    with opened(database_url) as engine:  # opening migrates to head again
        got = SqlJobStore(engine).get(job.id)
        assert got is not None
        assert got.status is S.PENDING
        assert got.preemptions == 0
        assert len(SqlJobStore(engine).events(job.id)) == 1


def test_unfinished_jobs_per_tenant_follow_every_change_of_status(jobs: SqlJobStore) -> None:
    # The active-job limit reads these counts: kept in the transaction of each change.
    waiting = [make_job(job_id=new_job_id(), status=S.PENDING, tenant="acme") for _ in range(3)]
    jobs.add(waiting[0], [])
    assert jobs.add_submitted([Submission(j, []) for j in waiting[1:]]) == [None, None]
    jobs.add(
        make_job(job_id=new_job_id(), status=S.SUCCEEDED, tenant="acme"), []
    )  # finished: not counted
    jobs.add(make_job(job_id="j-other", tenant="other"), [])
    assert (jobs.active_count("acme", 100), jobs.active_count("other", 100)) == (3, 1)
    assert jobs.active_count("acme", 2) == 2  # counted up to what is asked
    assert jobs.active_count("nobody", 100) == 0
    after, event = transition(waiting[0], S.CANCELLED, T0, Reason("reason_cancel_requested"))
    assert jobs.save(waiting[0], after, [event]) is Outcome.APPLIED
    assert jobs.save(waiting[0], after, [event]) is Outcome.STALE  # counted once only
    assert jobs.active_count("acme", 100) == 2
    # Under a limit of 3, one more fits; the next is refused with the count it met.
    more = [Submission(make_job(job_id=new_job_id(), tenant="acme"), []) for _ in range(2)]
    assert jobs.add_submitted(more, active_limit=3) == [None, 3]
    assert jobs.active_count("acme", 100) == 3
    assert len(jobs.list(tenant="acme")) == 5  # 4 unfinished (1 refused) + 1 finished


def test_upgrading_to_0007_counts_the_unfinished_jobs_already_there(database_url: str) -> None:
    with opened(database_url) as engine:
        jobs = SqlJobStore(engine)
        for status in (S.PENDING, S.RUNNING, S.FAILED):
            jobs.add(make_job(job_id=new_job_id(), status=status, tenant="acme"), [])
        downgrade(engine, "0006")
    with opened(database_url) as engine:  # opening migrates to head again
        assert SqlJobStore(engine).active_count("acme", 100) == 2


def test_a_group_of_submissions_reads_back_as_written(jobs: SqlJobStore) -> None:
    # PostgreSQL takes the group by COPY: the same rows and instants as one insert each.
    beijing = dt.timezone(dt.timedelta(hours=8))
    written = [
        make_job(job_id=new_job_id(), status=S.PENDING, at=T0.astimezone(beijing), tenant=t)
        for t in ("acme", "acme", "other")
    ]
    events = [
        [JobEvent(j.id, T0, None, S.PENDING, Reason("reason_submitted", {"n": 1}))]
        for j in written
    ]
    assert (
        jobs.add_submitted([Submission(j, e) for j, e in zip(written, events, strict=True)])
        == [None] * 3
    )
    for job, history in zip(written, events, strict=True):
        assert jobs.get(job.id) == dataclasses.replace(job, submitted_at=T0, updated_at=T0)
        assert jobs.events(job.id) == history

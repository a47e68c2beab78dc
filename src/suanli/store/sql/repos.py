"""SQL job store: guarded updates, history appended in the same transaction."""

from __future__ import annotations

import builtins
import functools
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Select, Table, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from suanli.domain.ids import JobId
from suanli.domain.jobs import TERMINAL, Job, JobEvent, JobStatus
from suanli.store.base import Outcome, Submission, WaitingGroup
from suanli.store.sql import eval_tables  # noqa: F401 - registers eval_results in the metadata
from suanli.store.sql.access import audit_row
from suanli.store.sql.access_tables import audit_events
from suanli.store.sql.codec import (
    DecodedJobs,
    decision_from_dict,
    event_to_row,
    job_to_row,
    row_to_event,
    row_to_job,
)
from suanli.store.sql.tables import UtcDateTime, job_events, jobs, tenant_active


class SqlJobStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._decoded = DecodedJobs()
        upsert = _upsert_of(engine)
        # Add to a tenant's count (creating its row); the row stays locked until the commit
        # (PostgreSQL): concurrent submissions of one tenant, from any process, count one
        # after another.
        self._add_active = upsert.values(
            tenant=bindparam("tenant"), active=bindparam("change")
        ).on_conflict_do_update(
            index_elements=[tenant_active.c.tenant],
            set_={"active": tenant_active.c.active + upsert.excluded.active},
        )
        self._add_active_now = self._add_active.returning(tenant_active.c.active)

    def add(self, job: Job, events: Sequence[JobEvent]) -> None:
        with self._engine.begin() as conn:
            conn.execute(jobs.insert(), job_to_row(job))  # one compiled statement, reused
            if events:
                conn.execute(insert(job_events), [event_to_row(e) for e in events])
            if job.status not in TERMINAL:
                self._count_active(conn, {job.tenant: 1})

    def _count_active(self, conn: Connection, changes: dict[str, int]) -> None:
        """Add ``changes`` (tenant -> jobs) to the unfinished-job counts, in ``conn``'s
        transaction (tenants in order: two transactions never wait on each other in turn)."""
        rows = [{"tenant": t, "change": n} for t, n in sorted(changes.items()) if n]
        if rows:
            conn.execute(self._add_active, rows)

    def add_submitted(
        self, submissions: Sequence[Submission], active_limit: int = 0
    ) -> builtins.list[int | None]:
        answers: builtins.list[int | None] = [None] * len(submissions)
        unfinished: dict[str, builtins.list[int]] = {}  # tenant -> its submissions' indexes
        for i, s in enumerate(submissions):
            if s.job.status not in TERMINAL:
                unfinished.setdefault(s.job.tenant, []).append(i)
        with self._engine.begin() as conn:
            if active_limit <= 0:
                self._count_active(conn, {t: len(mine) for t, mine in unfinished.items()})
                unfinished = {}  # no limit: nothing to check
            for tenant in sorted(unfinished):
                # One row per tenant (kept by every change of status), not a count: all of
                # the tenant's submissions added at once, those over the limit taken back.
                mine = unfinished[tenant]
                change = {"tenant": tenant, "change": len(mine)}
                before = int(conn.execute(self._add_active_now, change).scalar_one()) - len(mine)
                fits = max(0, min(len(mine), active_limit - before))
                if fits < len(mine):
                    conn.execute(self._add_active, {"tenant": tenant, "change": fits - len(mine)})
                for i in mine[fits:]:
                    answers[i] = before + fits
            stored = [s for s, a in zip(submissions, answers, strict=True) if a is None]
            if not stored:
                return answers
            # One statement a table for the whole group (COPY on PostgreSQL).
            events = [event_to_row(e) for s in stored for e in s.events]
            audits = [audit_row(s.audit) for s in stored if s.audit is not None]
            insert_rows(conn, jobs, [job_to_row(s.job) for s in stored])
            insert_rows(conn, job_events, events)
            insert_rows(conn, audit_events, audits)
        return answers

    def get(self, job_id: JobId) -> Job | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        return row_to_job(row) if row else None

    def list(
        self,
        statuses: Sequence[JobStatus] | None = None,
        limit: int = 100,
        offset: int = 0,
        tenant: str | None = None,
        clusters: Sequence[str] | None = None,
    ) -> builtins.list[Job]:
        query = select(jobs).order_by(jobs.c.submitted_at.desc(), jobs.c.id.desc())
        query = _filtered(query, statuses, tenant, clusters)
        with self._engine.connect() as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).all()
        return [self._decoded.job(r) for r in rows]

    def count(
        self,
        statuses: Sequence[JobStatus] | None = None,
        tenant: str | None = None,
        clusters: Sequence[str] | None = None,
    ) -> int:
        query = _filtered(select(func.count()).select_from(jobs), statuses, tenant, clusters)
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def active_count(self, tenant: str, up_to: int) -> int:
        query = select(tenant_active.c.active).where(tenant_active.c.tenant == tenant)
        with self._engine.connect() as conn:
            found = conn.execute(query).scalar()
        return min(int(found or 0), up_to)

    def active(self) -> builtins.list[Job]:
        # IN over the live statuses, not NOT IN over the finished ones: the status index
        # then reads only the active rows, however many jobs have finished.
        live = [s.value for s in JobStatus if s not in TERMINAL]
        query = select(jobs).where(jobs.c.status.in_(live))
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(jobs.c.submitted_at)).all()
        return [self._decoded.job(r) for r in rows]

    def holding(self) -> builtins.list[Job]:
        held = [s.value for s in JobStatus if s.holds_capacity]
        query = select(jobs).where(jobs.c.status.in_(held)).order_by(jobs.c.submitted_at)
        with self._engine.connect() as conn:
            return [self._decoded.job(r) for r in conn.execute(query).all()]

    def status_counts(self, statuses: Sequence[JobStatus]) -> dict[JobStatus, int]:
        query = (
            select(jobs.c.status, func.count())
            .where(jobs.c.status.in_([s.value for s in statuses]))
            .group_by(jobs.c.status)
        )
        with self._engine.connect() as conn:
            found = {JobStatus(status): int(n) for status, n in conn.execute(query).all()}
        return {s: found.get(s, 0) for s in statuses}

    def waiting_groups(self, statuses: Sequence[JobStatus]) -> builtins.list[WaitingGroup]:
        query = (
            select(jobs.c.decision, func.count(), func.min(jobs.c.submitted_at))
            .where(jobs.c.status.in_([s.value for s in statuses]))
            .group_by(jobs.c.decision)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            WaitingGroup(
                decision_from_dict(json.loads(decision)) if decision else None, int(n), oldest
            )
            for decision, n, oldest in rows
        ]

    def save(self, before: Job, after: Job, events: Sequence[JobEvent]) -> Outcome:
        values = job_to_row(after)
        values["version"] = before.version + 1
        with self._engine.begin() as conn:
            result = conn.execute(
                update(jobs)
                .where(jobs.c.id == before.id, jobs.c.version == before.version)
                .values(values)
            )
            if result.rowcount != 1:
                return Outcome.STALE
            if events:
                conn.execute(insert(job_events), [event_to_row(e) for e in events])
            finished = (after.status in TERMINAL) - (before.status in TERMINAL)
            if finished:
                self._count_active(conn, {after.tenant: -finished})
        return Outcome.APPLIED

    def add_events(self, events: Sequence[JobEvent]) -> None:
        if events:
            with self._engine.begin() as conn:
                conn.execute(insert(job_events), [event_to_row(e) for e in events])

    def events(self, job_id: JobId) -> builtins.list[JobEvent]:
        query = select(job_events).where(job_events.c.job_id == job_id).order_by(job_events.c.id)
        with self._engine.connect() as conn:
            return [row_to_event(r) for r in conn.execute(query).all()]

    def close(self) -> None:
        self._engine.dispose()


def _filtered(
    query: Select[Any],
    statuses: Sequence[JobStatus] | None,
    tenant: str | None,
    clusters: Sequence[str] | None,
) -> Select[Any]:
    if statuses:
        query = query.where(jobs.c.status.in_([s.value for s in statuses]))
    if tenant is not None:
        query = query.where(jobs.c.tenant == tenant)
    if clusters is not None:
        query = query.where(jobs.c.cluster.in_(list(clusters)))
    return query


def insert_rows(conn: Connection, table: Table, rows: builtins.list[dict[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys) in ``conn``'s transaction, in one statement:
    COPY on PostgreSQL (one round trip, the cheapest insert for it and for us), executemany
    elsewhere (SQLite's runs in this process)."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    statement, utc = _copy_of(table, tuple(rows[0]), conn.dialect)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(statement) as copy:
            for row in rows:
                values = list(row.values())
                for i in utc:  # as UtcDateTime binds them: naive UTC
                    values[i] = UtcDateTime.naive_utc(values[i])
                copy.write_row(values)
    finally:
        cursor.close()


@functools.lru_cache(maxsize=64)
def _copy_of(table: Table, names: tuple[str, ...], dialect: Dialect) -> tuple[str, list[int]]:
    """The COPY statement for ``names`` of ``table``, and which of them are UtcDateTime."""
    columns = ", ".join(dialect.identifier_preparer.quote(n) for n in names)
    utc = [i for i, n in enumerate(names) if isinstance(table.c[n].type, UtcDateTime)]
    return f"COPY {dialect.identifier_preparer.format_table(table)} ({columns}) FROM STDIN", utc


def _upsert_of(engine: Engine) -> Any:
    """The dialect's INSERT with ON CONFLICT (both SQLite and PostgreSQL have it)."""
    kind = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[engine.dialect.name]
    return kind(tenant_active)

"""Every repository in process memory: one shared set of tables, the same guarded writes.

For tests that are not about storage and for the simulator: the same protocols
(``suanli.store.base``) the SQL stores keep, checked by one contract suite
(``tests/contract/test_stores.py``) against memory, SQLite and PostgreSQL. Values are
frozen dataclasses, so what is stored is what is read back. One lock makes each call one
transaction, as a database would, for the API's threads and the control loop alike.
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt
import heapq
import itertools
import threading
import weakref
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sortedcontainers import SortedList

from suanli.billing.claims import Claim
from suanli.billing.ledger import Ledger
from suanli.billing.metering import usage_key
from suanli.billing.model_contracts import ModelContract
from suanli.billing.redemption import PeriodRedemption
from suanli.domain.access import ApiToken, AuditEvent, Organisation, User
from suanli.domain.ids import JobId
from suanli.domain.jobs import TERMINAL, Decision, Job, JobEvent, JobStatus, job_with
from suanli.store.base import (
    MeteredUsage,
    Outcome,
    PurchaseRecord,
    Redemption,
    Settlement,
    Submission,
    Subsidy,
    VoucherClaim,
    WaitingGroup,
)
from suanli.store.memory_compact import SharedValues
from suanli.store.memory_events import EventLog
from suanli.store.memory_feed import ChangedJobs
from suanli.store.memory_vouchers import VoucherTotals


class MemoryDatabase:
    """The tables every memory store shares (as SQL stores share one database)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.jobs: dict[JobId, Job] = {}
        self.by_status: dict[JobStatus, dict[JobId, Job]] = defaultdict(dict)
        # Per status, the jobs' (submitted_at, id) in order: lists read the newest first
        # without sorting every job of a status on each read.
        self.ordered: dict[JobStatus, SortedList[tuple[dt.datetime, JobId]]] = defaultdict(
            SortedList
        )
        # Values that repeat from job to job (reasons, refusals, accounts), kept once.
        self.shared = SharedValues()
        # Every job's history, a column per field, its reasons kept once.
        self.events = EventLog(self.shared.seen)
        self.active_counts: dict[str, int] = defaultdict(int)
        # Finished jobs whose last attempt ran: the billing store meters them (kept here so
        # that finding the unmetered ones does not read every finished job).
        self.to_meter: dict[JobId, Job] = {}
        self.organisations: dict[str, Organisation] = {}
        self.users: dict[str, User] = {}
        self.tokens: dict[str, ApiToken] = {}
        self.audit: list[AuditEvent] = []
        self.down_since: dict[str, dt.datetime] = {}
        # Billing: usage records (and those not settled yet), settlements, the ledger,
        # model contracts with their redemptions and claims, purchases with their subsidies.
        self.usage: dict[str, MeteredUsage] = {}
        self.unsettled: dict[str, MeteredUsage] = {}
        self.settlements: dict[str, Settlement] = {}
        self.ledger = Ledger()
        self.contracts: dict[str, ModelContract] = {}
        self.contract_order: dict[str, dt.datetime] = {}
        self.redemptions: dict[tuple[str, str], Redemption] = {}
        self.period_redemptions: dict[str, PeriodRedemption] = {}  # 定期兑付, by key
        self.claims: dict[tuple[str, str], VoucherClaim] = {}
        self.programme_claims: dict[str, Claim] = {}  # by claim id, in filing order
        self.purchases: dict[str, PurchaseRecord] = {}
        self.subsidies: dict[str, Subsidy] = {}
        # Model-service requests (store.usage): by request id, the billable ones no settlement
        # covers yet, token settlements by key (typed loosely: store.usage imports this module).
        self.usage_events: dict[str, object] = {}
        self.usage_unsettled: dict[str, object] = {}
        self.token_settlements: dict[str, object] = {}
        # Kept with the writes so that a cycle's reads do not sum every settlement again:
        # the voucher usage so far (a running total) and the settlements whose ledger
        # entry may not be posted yet.
        self.voucher_totals = VoucherTotals()
        self.unposted: dict[str, Settlement] = {}
        # The job store's change feeds (JobChanges): each lives as long as its reader, held
        # weakly; a feed that is gone is dropped at the next write. (Plain references rather
        # than a WeakSet: every save notes its job in each feed, and iterating a WeakSet cost
        # 2.96 us a save against 0.41 for a list.)
        self.feeds: builtins.list[weakref.ref[ChangedJobs]] = []


def _newest_first(job: Job) -> tuple[dt.datetime, JobId]:
    return (job.submitted_at, job.id)


class MemoryJobStore:
    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db

    def _put(self, job: Job, before: Job | None) -> None:
        db = self._db
        if job.status in TERMINAL:  # kept for good from here: its decision's values once
            job = db.shared.finished(job)
        moved = before is None or _newest_first(before) != _newest_first(job)
        moved = moved or (before is not None and before.status is not job.status)
        if before is not None:
            db.by_status[before.status].pop(before.id, None)
            if moved:
                db.ordered[before.status].remove(_newest_first(before))
        db.jobs[job.id] = job
        db.by_status[job.status][job.id] = job
        gone = False
        for ref in db.feeds:
            feed = ref()
            if feed is None:
                gone = True
            else:
                feed.note(job.id)
        if gone:
            db.feeds = [ref for ref in db.feeds if ref() is not None]
        if moved:
            db.ordered[job.status].add(_newest_first(job))
        if (
            job.status in TERMINAL
            and job.attempt >= 1
            and job.started_at is not None
            and usage_key(job.id, job.attempt) not in db.usage  # metered before it was saved
        ):
            db.to_meter[job.id] = job
        else:
            db.to_meter.pop(job.id, None)

    def add(self, job: Job, events: Sequence[JobEvent]) -> None:
        with self._db.lock:
            if job.id in self._db.jobs:
                raise ValueError(f"job {job.id} is stored already")
            self._put(job, None)
            self._db.events.append(job.id, events)
            if job.status not in TERMINAL:
                self._db.active_counts[job.tenant] += 1

    def add_submitted(
        self, submissions: Sequence[Submission], active_limit: int = 0
    ) -> builtins.list[int | None]:
        answers: builtins.list[int | None] = []
        with self._db.lock:
            for s in submissions:
                if s.job.id in self._db.jobs:
                    raise ValueError(f"job {s.job.id} is stored already")
            counts = self._db.active_counts
            for s in submissions:
                unfinished = s.job.status not in TERMINAL
                if unfinished and active_limit > 0 and counts[s.job.tenant] >= active_limit:
                    answers.append(counts[s.job.tenant])
                    continue
                answers.append(None)
                self._put(s.job, None)
                self._db.events.append(s.job.id, s.events)
                if s.audit is not None:
                    self._db.audit.append(bounded(s.audit))
                if unfinished:
                    counts[s.job.tenant] += 1
        return answers

    def get(self, job_id: JobId) -> Job | None:
        return self._db.jobs.get(job_id)

    def _matching(
        self,
        statuses: Sequence[JobStatus] | None,
        tenant: str | None,
        clusters: Sequence[str] | None,
    ) -> Iterable[Job]:
        with self._db.lock:
            if statuses:
                found: builtins.list[Job] = []
                for s in set(statuses):
                    found.extend(self._db.by_status[s].values())
            else:
                found = list(self._db.jobs.values())
        return self._filtered(found, tenant, clusters)

    @staticmethod
    def _filtered(
        found: Iterable[Job], tenant: str | None, clusters: Sequence[str] | None
    ) -> Iterable[Job]:
        if tenant is not None:
            found = (j for j in found if j.tenant == tenant)
        if clusters is not None:
            wanted = set(clusters)
            found = (j for j in found if j.placement is not None and j.placement.cluster in wanted)
        return found

    def list(
        self,
        statuses: Sequence[JobStatus] | None = None,
        limit: int = 100,
        offset: int = 0,
        tenant: str | None = None,
        clusters: Sequence[str] | None = None,
    ) -> builtins.list[Job]:
        wanted = offset + limit
        with self._db.lock:
            ordered = self._db.ordered
            chosen = set(statuses) if statuses else set(JobStatus)
            jobs = self._db.jobs
            one = len(chosen) == 1 and tenant is None and clusters is None
            if one and offset >= 0 and wanted >= 0:  # (islice refuses negative bounds)
                # One status (each tick's PLACED, RUNNING...): its keys read by position.
                keys = ordered[next(iter(chosen))]
                n = len(keys)
                newest_first = reversed(keys[max(n - wanted, 0) : max(n - offset, 0)])
                return [jobs[i] for _, i in newest_first]
            newest = heapq.merge(*(reversed(ordered[s]) for s in chosen), reverse=True)
            found = self._filtered((jobs[i] for _, i in newest), tenant, clusters)
            return builtins.list(itertools.islice(found, offset, wanted))

    def count(
        self,
        statuses: Sequence[JobStatus] | None = None,
        tenant: str | None = None,
        clusters: Sequence[str] | None = None,
    ) -> int:
        if tenant is None and clusters is None:
            with self._db.lock:
                if not statuses:
                    return len(self._db.jobs)
                return sum(len(self._db.by_status[s]) for s in set(statuses))
        return sum(1 for _ in self._matching(statuses, tenant, clusters))

    def active_count(self, tenant: str, up_to: int) -> int:
        with self._db.lock:
            return min(self._db.active_counts.get(tenant, 0), up_to)

    def _in(self, statuses: Iterable[JobStatus]) -> builtins.list[Job]:
        with self._db.lock:
            ordered, jobs = self._db.ordered, self._db.jobs
            return [jobs[i] for _, i in heapq.merge(*(ordered[s] for s in statuses))]

    def active(self) -> builtins.list[Job]:
        return self._in(s for s in JobStatus if s not in TERMINAL)

    def holding(self) -> builtins.list[Job]:
        return self._in(s for s in JobStatus if s.holds_capacity)

    def status_counts(self, statuses: Sequence[JobStatus]) -> dict[JobStatus, int]:
        with self._db.lock:
            return {s: len(self._db.by_status[s]) for s in statuses}

    def waiting_groups(self, statuses: Sequence[JobStatus]) -> builtins.list[WaitingGroup]:
        groups: builtins.list[tuple[Decision | None, int, dt.datetime]] = []
        for job in self._matching(statuses, None, None):
            for i, (decision, n, oldest) in enumerate(groups):
                if decision == job.decision:
                    groups[i] = (decision, n + 1, min(oldest, job.submitted_at))
                    break
            else:
                groups.append((job.decision, 1, job.submitted_at))
        return [WaitingGroup(d, n, oldest) for d, n, oldest in groups]

    def save(self, before: Job, after: Job, events: Sequence[JobEvent]) -> Outcome:
        with self._db.lock:
            stored = self._db.jobs.get(before.id)
            if stored is None or stored.version != before.version:
                return Outcome.STALE
            after = job_with(after, version=before.version + 1)
            self._put(after, stored)
            if events:
                self._db.events.append(after.id, events)
            finished = (after.status in TERMINAL) - (stored.status in TERMINAL)
            if finished:
                self._db.active_counts[after.tenant] -= finished
        return Outcome.APPLIED

    def follow(self) -> ChangedJobs:
        with self._db.lock:
            feed = ChangedJobs(self._db.lock)
            self._db.feeds.append(weakref.ref(feed))
            return feed

    def add_events(self, events: Sequence[JobEvent]) -> None:
        with self._db.lock:
            for e in events:
                self._db.events.append(e.job_id, (e,))

    def events(self, job_id: JobId) -> builtins.list[JobEvent]:
        with self._db.lock:
            return self._db.events.read(job_id)

    def close(self) -> None:
        """Nothing to release: the tables live as long as the database object."""


class MemoryAccessStore:
    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db

    def add_organisation(self, org: Organisation) -> bool:
        with self._db.lock:
            if org.name in self._db.organisations:
                return False
            self._db.organisations[org.name] = org
            return True

    def organisation(self, name: str) -> Organisation | None:
        return self._db.organisations.get(name)

    def organisations(self) -> builtins.list[Organisation]:
        with self._db.lock:
            return sorted(self._db.organisations.values(), key=lambda o: o.name)

    def add_user(self, user: User) -> bool:
        with self._db.lock:
            if user.name in self._db.users:
                return False
            self._db.users[user.name] = user
            return True

    def user(self, name: str) -> User | None:
        return self._db.users.get(name)

    def users(self, organisation: str | None = None) -> builtins.list[User]:
        with self._db.lock:
            found = sorted(self._db.users.values(), key=lambda u: u.name)
        return [u for u in found if organisation is None or u.organisation == organisation]

    def add_token(self, token: ApiToken) -> None:
        with self._db.lock:
            if token.id in self._db.tokens:
                raise ValueError(f"token {token.id} is stored already")
            if token.user not in self._db.users:
                raise ValueError(f"token {token.id}: no user {token.user}")
            self._db.tokens[token.id] = token

    def token(self, token_id: str) -> tuple[ApiToken, User] | None:
        with self._db.lock:
            token = self._db.tokens.get(token_id)
            user = self._db.users.get(token.user) if token is not None else None
        return None if token is None or user is None else (token, user)

    def tokens(
        self, user: str | None = None, organisation: str | None = None
    ) -> builtins.list[ApiToken]:
        with self._db.lock:
            found = list(self._db.tokens.values())
            members = {u.name for u in self._db.users.values() if u.organisation == organisation}
        if user is not None:
            found = [t for t in found if t.user == user]
        if organisation is not None:
            found = [t for t in found if t.user in members]
        found.sort(key=lambda t: t.id)
        found.sort(key=lambda t: t.created_at, reverse=True)
        return found

    def revoke_token(self, token_id: str, at: dt.datetime) -> bool:
        with self._db.lock:
            token = self._db.tokens.get(token_id)
            if token is None or token.revoked_at is not None:
                return False
            self._db.tokens[token_id] = dataclasses.replace(token, revoked_at=at)
            return True


class MemoryAuditLog:
    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db

    def record(self, event: AuditEvent) -> None:
        with self._db.lock:
            self._db.audit.append(bounded(event))

    def events(
        self,
        actor: str | None = None,
        organisation: str | None = None,
        since: dt.datetime | None = None,
        limit: int = 100,
    ) -> builtins.list[AuditEvent]:
        with self._db.lock:
            numbered = list(enumerate(self._db.audit, start=1))
        found: builtins.list[AuditEvent] = []
        for n, e in reversed(numbered):
            if len(found) >= limit:
                break
            if actor is not None and e.actor != actor:
                continue
            if organisation is not None and e.organisation != organisation:
                continue
            if since is not None and e.at < since:
                continue
            found.append(dataclasses.replace(e, id=n))
        return found


class MemoryHealthStore:
    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db

    def mark_down(self, cluster: str, at: dt.datetime) -> dt.datetime:
        with self._db.lock:
            return self._db.down_since.setdefault(cluster, at)

    def mark_up(self, cluster: str) -> None:
        with self._db.lock:
            self._db.down_since.pop(cluster, None)

    def down(self) -> dict[str, dt.datetime]:
        with self._db.lock:
            return dict(self._db.down_since)


def bounded(e: AuditEvent) -> AuditEvent:
    """The event cut to the lengths the audit table keeps (``store/sql/access.audit_row``)."""
    return dataclasses.replace(
        e,
        actor=e.actor[:64],
        role=e.role[:32],
        organisation=e.organisation[:64],
        token_id=e.token_id[:16],
        action=e.action[:200],
        target=e.target[:2000],
        remote=e.remote[:64],
        id=None,
    )

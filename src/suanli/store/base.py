"""Repository protocols: what the services need from storage, nothing about how."""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable

from suanli.billing.claims import Claim
from suanli.billing.ledger import Account, Entry, LedgerReport, Posted
from suanli.billing.metering import UsageRecord
from suanli.billing.model_contracts import ModelContract
from suanli.billing.pricing import BillLine
from suanli.billing.redemption import PeriodRedemption
from suanli.billing.server_purchases import ServerPurchase
from suanli.billing.vouchers import Deduction, VoucherUsage
from suanli.domain.access import AuditEvent
from suanli.domain.ids import JobId
from suanli.domain.jobs import Decision, Job, JobEvent, JobStatus
from suanli.domain.tenants import Tenant


class Outcome(StrEnum):
    """Result of a guarded write: applied, or refused because someone else moved first."""

    APPLIED = "applied"
    STALE = "stale"


@dataclass(frozen=True)
class Submission:
    """A new job, its first events and the audit row of the request that submitted it."""

    job: Job
    events: Sequence[JobEvent]
    audit: AuditEvent | None = None  # None: no audit log kept


@dataclass(frozen=True)
class WaitingGroup:
    """Waiting jobs that share one scheduler decision (None: none taken yet)."""

    decision: Decision | None
    jobs: int
    oldest: dt.datetime  # the earliest submission among them


class JobStore(Protocol):
    def add(self, job: Job, events: Sequence[JobEvent]) -> None:
        """Insert a new job and its first events in one transaction."""
        ...

    def add_submitted(
        self, submissions: Sequence[Submission], active_limit: int = 0
    ) -> builtins.list[int | None]:
        """Store each submission (job, events, audit row) in one transaction for them all.

        A submission whose tenant already has ``active_limit`` unfinished jobs (0: no limit),
        counting those stored before it in this call, is left out: its entry in the answer
        is that count; None for every one stored.
        """
        ...

    def get(self, job_id: JobId) -> Job | None:
        """Return the job, or None."""
        ...

    def list(
        self,
        statuses: Sequence[JobStatus] | None = None,
        limit: int = 100,
        offset: int = 0,
        tenant: str | None = None,
        clusters: Sequence[str] | None = None,
    ) -> builtins.list[Job]:
        """Newest first, optionally filtered by status, tenant and placed cluster."""
        ...

    def count(
        self,
        statuses: Sequence[JobStatus] | None = None,
        tenant: str | None = None,
        clusters: Sequence[str] | None = None,
    ) -> int:
        """How many jobs match the filters."""
        ...

    def active_count(self, tenant: str, up_to: int) -> int:
        """Unfinished jobs of ``tenant``, counted up to ``up_to`` (a bounded cost)."""
        ...

    def active(self) -> builtins.list[Job]:
        """Every job not in a terminal status (for the scheduler and reconciler)."""
        ...

    def holding(self) -> builtins.list[Job]:
        """Jobs occupying accelerators now (placed, starting, running): bounded by the fleet's
        capacity however long the queue is, unlike ``active``."""
        ...

    def status_counts(self, statuses: Sequence[JobStatus]) -> dict[JobStatus, int]:
        """How many jobs are in each of ``statuses`` (counted by the database)."""
        ...

    def waiting_groups(self, statuses: Sequence[JobStatus]) -> builtins.list[WaitingGroup]:
        """Jobs in ``statuses`` grouped by their last decision (by the database: only one
        decision of each group is read back)."""
        ...

    def save(self, before: Job, after: Job, events: Sequence[JobEvent]) -> Outcome:
        """Replace ``before`` by ``after`` if nobody changed it since (same version).

        The events are written in the same transaction; on STALE nothing is written.
        """
        ...

    def add_events(self, events: Sequence[JobEvent]) -> None:
        """Append history notes that change no status."""
        ...

    def events(self, job_id: JobId) -> builtins.list[JobEvent]:
        """The job's history, oldest first."""
        ...

    def close(self) -> None:
        """Release connections; the store is not used afterwards."""
        ...


class JobFeed(Protocol):
    def take(self) -> set[JobId]:
        """The ids of the jobs added or saved since the last ``take`` (or since the feed
        began), each once; the next ``take`` answers only later changes."""
        ...


@runtime_checkable
class JobChanges(Protocol):
    """Optional job store call: which jobs changed, so that a reader kept across control
    loop ticks (``service.cycle_state``) updates what it derived from the changed jobs
    alone instead of reading every job again. A store that cannot tell leaves it out and
    its readers read every job each tick, as before."""

    def follow(self) -> JobFeed:
        """A new feed of changes, starting now (one per reader)."""
        ...


class TenantDirectory(Protocol):
    """Who the tenants are and their eligibility attributes (the database; a file seeds it)."""

    def get(self, name: str) -> Tenant | None:
        """The tenant called ``name``, or None."""
        ...

    def all(self) -> builtins.list[Tenant]:
        """Every tenant, sorted by name."""
        ...

    def add(self, tenant: Tenant) -> bool:
        """Add ``tenant`` unless the name is taken; True when this call added it."""
        ...


@dataclass(frozen=True, slots=True)
class MeteredUsage:
    """A meter reading and the pool's hourly price when it was taken (priced later, exactly)."""

    usage: UsageRecord
    price_per_accelerator_hour: Decimal


@dataclass(frozen=True, slots=True)
class Settlement:
    """A bill line and its voucher decision, stored before the ledger posting it implies.

    ``entry_key`` is the idempotency key of that posting (None for a 0.00 line: nothing
    to post). Amounts are read back, never recomputed, so a crash cannot change them.
    """

    line: BillLine
    deduction: Deduction
    settled_at: dt.datetime
    entry_key: str | None


class BillingStore(Protocol):
    """Usage records (one per job attempt) and settlements (one per usage record)."""

    def add_usage(self, usage: MeteredUsage, at: dt.datetime) -> bool:
        """Insert the reading unless one exists for its key; True when this call inserted it.

        Idempotent: a second call with the same key changes nothing (the first reading wins).
        """
        ...

    def unmetered_jobs(self, limit: int = 1000) -> builtins.list[Job]:
        """Finished jobs whose last attempt ran and has no usage record yet."""
        ...

    def forget_usage(self, key: str) -> MeteredUsage | None:
        """Delete the reading ``key`` unless it is settled; return what was deleted, or None.

        For an attempt given up with its cluster and then re-adopted: its reading up to the
        give-up is replaced by one up to the run's real end (held unsettled meanwhile).
        """
        ...

    def unsettled(self, limit: int = 1000) -> builtins.list[MeteredUsage]:
        """Usage records without a settlement, oldest end first."""
        ...

    def voucher_usage(self) -> VoucherUsage:
        """How much of every pool and cap the stored settlements have used."""
        ...

    def add_settlement(self, settlement: Settlement) -> bool:
        """Insert unless the usage record is already settled; True when this call inserted it."""
        ...

    def unposted(self, limit: int = 1000) -> builtins.list[Settlement]:
        """Settlements whose ledger entry has not been posted yet."""
        ...

    def settlements(
        self, tenant: str | None = None, month: str | None = None
    ) -> builtins.list[Settlement]:
        """Stored settlements, optionally of one tenant and one month, oldest first."""
        ...

    def settlement_page(
        self,
        *,
        job_id: str | None = None,
        provider: str | None = None,
        tenant: str | None = None,
        month: str | None = None,
        limit: int = 100,
        offset: int = 0,
        job_ids: Sequence[str] | None = None,
    ) -> tuple[builtins.list[Settlement], int]:
        """One page of matching settlements (newest first) and how many match; ``job_ids``:
        of any of these jobs (a page of a job list, in one query)."""
        ...

    def settlement_totals(self, tenant: str, month: str) -> tuple[Decimal, Decimal, Decimal]:
        """Gross, deduction and net over the tenant's settlements of a month (exact sums)."""
        ...

    def usage_between(
        self, start: dt.datetime, end: dt.datetime, provider: str | None = None
    ) -> builtins.list[UsageRecord]:
        """Metered attempts that overlap [start, end), optionally on one provider's clusters."""
        ...


@dataclass(frozen=True)
class Redemption:
    """One period of a model contract: the 模型券 decision, stored before its posting.

    ``completed`` is what the company completed (paid and delivered) in ``period``;
    ``entry_key`` the posting's idempotency key (None when the voucher pays 0.00).
    """

    contract: ModelContract
    period: str  # YYYY-MM, China time
    completed: Decimal
    deduction: Deduction
    settled_at: dt.datetime
    entry_key: str | None


@dataclass(frozen=True)
class VoucherClaim:
    """A company's claim of a programme (申领), as the operator recorded it."""

    tenant: str
    programme: str
    claimed_at: dt.datetime
    recorded_by: str


class ContractStore(Protocol):
    """Model contracts, their per-period redemptions and voucher claims."""

    def add_contract(self, contract: ModelContract, at: dt.datetime) -> None:
        """Record a new contract (its id is new: the service draws it)."""
        ...

    def contract(self, contract_id: str) -> ModelContract | None: ...

    def contracts(self, tenant: str | None = None) -> builtins.list[ModelContract]:
        """Contracts, optionally of one tenant, oldest signature first."""
        ...

    def add_redemption(self, redemption: Redemption) -> bool:
        """Insert unless the contract's period is redeemed; True when this call inserted it."""
        ...

    def redemptions(
        self,
        contract_id: str | None = None,
        tenant: str | None = None,
        period: str | None = None,
    ) -> builtins.list[Redemption]:
        """Stored redemptions, filtered, oldest period first."""
        ...

    def unposted_redemptions(self) -> builtins.list[Redemption]:
        """Redemptions whose ledger entry has not been posted yet."""
        ...

    def add_period_redemption(self, redemption: PeriodRedemption) -> bool:
        """Store one 定期兑付 run's redemption before its posting; False when its key is
        taken (another run of the same period redeemed first: nothing written)."""
        ...

    def period_redemptions(
        self, period: str | None = None, company: str | None = None
    ) -> builtins.list[PeriodRedemption]:
        """Stored 定期兑付 redemptions, filtered, by period, programme, company, seller, run."""
        ...

    def unposted_period_redemptions(self) -> builtins.list[PeriodRedemption]:
        """Stored 定期兑付 redemptions with an amount whose entry is not posted yet."""
        ...

    def add_claim(self, claim: VoucherClaim) -> bool:
        """Record a claim unless one exists for (tenant, programme); True when inserted."""
        ...

    def claims(self, tenant: str | None = None) -> builtins.list[VoucherClaim]: ...

    def add_programme_claim(self, claim: Claim, at: dt.datetime) -> None:
        """Record a claim against a contract (its id is new: the service draws it)."""
        ...

    def programme_claims(self, tenant: str | None = None) -> builtins.list[Claim]:
        """Claims of programmes with a claim step, oldest first."""
        ...

    def decide_programme_claim(self, claim: Claim) -> bool:
        """Store the decision on a pending claim; False when it was decided meanwhile."""
        ...


@dataclass(frozen=True)
class PurchaseRecord:
    """A provider's purchase of domestic AI-chip servers, as recorded (seed 004 §2).

    ``listed_cluster``: the fleet cluster (of that provider) the servers are listed on;
    None while they are not listed on the platform.
    """

    purchase: ServerPurchase
    accelerator: str  # catalog model id, domestic
    servers: int
    listed_cluster: str | None
    recorded_at: dt.datetime


@dataclass(frozen=True)
class Subsidy:
    """The provider subsidy decided for one purchase, stored before its posting.

    ``entry_key``: the posting's idempotency key (None when the subsidy is 0.00).
    """

    record: PurchaseRecord
    deduction: Deduction
    settled_at: dt.datetime
    entry_key: str | None


class PurchaseStore(Protocol):
    """Providers' server purchases and the subsidy decided for each (at most one)."""

    def add_purchase(self, record: PurchaseRecord) -> None:
        """Record a new purchase (its id is new: the service draws it)."""
        ...

    def purchase(self, purchase_id: str) -> PurchaseRecord | None: ...

    def purchases(
        self, provider: str | None = None, project: str | None = None
    ) -> builtins.list[PurchaseRecord]:
        """Purchases, optionally of one provider or project, oldest contract first."""
        ...

    def add_subsidy(self, subsidy: Subsidy) -> bool:
        """Insert unless the purchase has a subsidy; True when this call inserted it."""
        ...

    def subsidy(self, purchase_id: str) -> Subsidy | None: ...

    def subsidies(self, provider: str | None = None) -> builtins.list[Subsidy]: ...

    def unposted_subsidies(self) -> builtins.list[Subsidy]:
        """Subsidies whose ledger entry has not been posted yet."""
        ...


class LedgerStore(Protocol):
    """The stored double-entry ledger: append-only, one entry per idempotency key."""

    def post(self, entry: Entry) -> Posted:
        """Apply ``entry`` once, with its balances, in one transaction.

        A repeated key with the same postings returns the stored entry (applied=False);
        with different postings raises IdempotencyConflict. The database enforces the key.
        """
        ...

    def has(self, key: str) -> bool:
        """Whether an entry with idempotency key ``key`` was posted."""
        ...

    def posted_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` have a posted entry (one query for a page of lines)."""
        ...

    def balance(self, account: Account) -> Decimal:
        """The stored running balance of ``account`` (0.00 if never posted to)."""
        ...

    def verify(self) -> LedgerReport:
        """Re-derive every balance from the postings and check every rule (ledger verify)."""
        ...


class HealthStore(Protocol):
    """Which clusters do not answer, since when: written by the control loop, read by every
    process (an ``--api-only`` one reports the same health as the leader)."""

    def mark_down(self, cluster: str, at: dt.datetime) -> dt.datetime:
        """Record ``cluster`` as not answering (from ``at`` unless it was already down);
        returns when it was first seen down."""
        ...

    def mark_up(self, cluster: str) -> None:
        """``cluster`` answers again (a no-op when it was not down)."""
        ...

    def down(self) -> dict[str, dt.datetime]:
        """Every cluster not answering, with when it was first seen down."""
        ...

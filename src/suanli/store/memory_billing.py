"""Billing, ledger, contract and purchase stores in process memory (``suanli.store.memory``).

The same idempotent inserts and the same append-only ledger as the SQL stores; the ledger
keeps its rules in ``suanli.billing.ledger.Ledger``, so both check the same things.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal

from suanli.billing.claims import Claim, ClaimStatus
from suanli.billing.ledger import Account, Entry, LedgerReport, Posted
from suanli.billing.metering import UsageRecord, usage_key
from suanli.billing.model_contracts import ModelContract
from suanli.billing.money import ZERO
from suanli.billing.redemption import PeriodRedemption
from suanli.billing.vouchers import VoucherUsage
from suanli.domain.ids import JobId
from suanli.domain.jobs import Job
from suanli.store.base import (
    MeteredUsage,
    PurchaseRecord,
    Redemption,
    Settlement,
    Subsidy,
    VoucherClaim,
)
from suanli.store.memory import MemoryDatabase


def _by_end(s: Settlement) -> tuple[dt.datetime, str]:
    return (s.line.usage.ended_at, s.line.key)


class MemoryBillingStore:
    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db
        self._t = db

    def add_usage(self, usage: MeteredUsage, at: dt.datetime) -> bool:
        key = self._db.shared.key(usage.usage.key)
        with self._db.lock:
            if key in self._t.usage:
                return False
            if JobId(usage.usage.job_id) not in self._db.jobs:  # as the SQL foreign key
                raise ValueError(f"usage {key}: no job {usage.usage.job_id}")
            usage = self._db.shared.usage(usage)
            self._t.usage[key] = usage
            self._t.unsettled[key] = usage
            self._db.to_meter.pop(JobId(usage.usage.job_id), None)
            return True

    def unmetered_jobs(self, limit: int = 1000) -> builtins.list[Job]:
        with self._db.lock:
            found = [
                j
                for j in self._db.to_meter.values()
                if j.finished_at is not None
                and j.placement is not None
                and usage_key(j.id, j.attempt) not in self._t.usage
            ]
        found.sort(key=lambda j: (j.finished_at, j.id))
        return found[:limit]

    def forget_usage(self, key: str) -> MeteredUsage | None:
        with self._db.lock:
            if key in self._t.settlements:
                return None
            self._t.unsettled.pop(key, None)
            found = self._t.usage.pop(key, None)
            if found is not None:
                job = self._db.jobs.get(JobId(found.usage.job_id))
                if job is not None and job.attempt == found.usage.attempt:
                    self._db.to_meter[job.id] = job
            return found

    def unsettled(self, limit: int = 1000) -> builtins.list[MeteredUsage]:
        with self._db.lock:
            found = list(self._t.unsettled.values())
        found.sort(key=lambda m: (m.usage.ended_at, m.usage.key))
        return found[:limit]

    def voucher_usage(self) -> VoucherUsage:
        with self._db.lock:  # a running total, kept with each write (memory_vouchers)
            return self._t.voucher_totals.usage()

    def add_settlement(self, settlement: Settlement) -> bool:
        key = self._db.shared.key(settlement.line.key)
        with self._db.lock:
            if key in self._t.settlements:
                return False
            settlement = self._db.shared.settlement(settlement)
            self._t.settlements[key] = settlement
            self._t.unsettled.pop(key, None)
            if settlement.entry_key is not None:
                self._t.unposted[key] = settlement
            self._t.voucher_totals.add(
                settlement.deduction, settlement.line.tenant, settlement.deduction.charge.project
            )
            return True

    def unposted(self, limit: int = 1000) -> builtins.list[Settlement]:
        posted = self._t.ledger.get
        with self._db.lock:
            waiting = self._t.unposted
            for key in [k for k, s in waiting.items() if posted(s.entry_key or "") is not None]:
                del waiting[key]  # posted since: never unposted again (the ledger appends)
            found = sorted(waiting.values(), key=_by_end)
        return found[:limit]

    def _where(self, keep: Callable[[Settlement], bool]) -> builtins.list[Settlement]:
        with self._db.lock:
            found = [s for s in self._t.settlements.values() if keep(s)]
        found.sort(key=_by_end)
        return found

    def settlements(
        self, tenant: str | None = None, month: str | None = None
    ) -> builtins.list[Settlement]:
        return self._where(
            lambda s: (
                (tenant is None or s.line.tenant == tenant)
                and (month is None or s.line.month == month)
            )
        )

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
        found = self._where(
            lambda s: (
                (job_id is None or s.line.usage.job_id == job_id)
                and (job_ids is None or s.line.usage.job_id in job_ids)
                and (provider is None or s.line.usage.provider == provider)
                and (tenant is None or s.line.tenant == tenant)
                and (month is None or s.line.month == month)
            )
        )
        found.reverse()
        return found[offset : offset + limit], len(found)

    def settlement_totals(self, tenant: str, month: str) -> tuple[Decimal, Decimal, Decimal]:
        found = self.settlements(tenant, month)
        return (
            sum((s.deduction.gross for s in found), ZERO),
            sum((s.deduction.amount for s in found), ZERO),
            sum((s.deduction.net for s in found), ZERO),
        )

    def usage_between(
        self, start: dt.datetime, end: dt.datetime, provider: str | None = None
    ) -> builtins.list[UsageRecord]:
        with self._db.lock:
            found = [m.usage for m in self._t.usage.values()]
        return [
            u
            for u in found
            if u.started_at < end
            and u.ended_at >= start
            and (provider is None or u.provider == provider)
        ]


class MemoryLedgerStore:
    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db
        self._ledger = db.ledger

    def post(self, entry: Entry) -> Posted:
        with self._db.lock:
            return self._ledger.post(self._db.shared.entry(entry))

    def has(self, key: str) -> bool:
        return self._ledger.get(key) is not None

    def posted_keys(self, keys: Sequence[str]) -> set[str]:
        with self._db.lock:
            return {k for k in keys if self._ledger.get(k) is not None}

    def balance(self, account: Account) -> Decimal:
        with self._db.lock:
            return self._ledger.balance(account)

    def verify(self) -> LedgerReport:
        with self._db.lock:
            return self._ledger.verify()


class MemoryContractStore:
    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db
        self._t = db

    def add_contract(self, contract: ModelContract, at: dt.datetime) -> None:
        with self._db.lock:
            if contract.contract_id in self._t.contracts:
                raise ValueError(f"contract {contract.contract_id} is stored already")
            self._t.contracts[contract.contract_id] = contract
            self._t.contract_order[contract.contract_id] = at

    def contract(self, contract_id: str) -> ModelContract | None:
        return self._t.contracts.get(contract_id)

    def contracts(self, tenant: str | None = None) -> builtins.list[ModelContract]:
        with self._db.lock:
            found = [c for c in self._t.contracts.values() if tenant in (None, c.tenant)]
            order = dict(self._t.contract_order)
        found.sort(key=lambda c: (c.signed_on, order[c.contract_id], c.contract_id))
        return found

    def add_redemption(self, redemption: Redemption) -> bool:
        key = (redemption.contract.contract_id, redemption.period)
        with self._db.lock:
            if key in self._t.redemptions:
                return False
            self._t.redemptions[key] = redemption
            self._t.voucher_totals.add(redemption.deduction, redemption.contract.tenant, None)
            return True

    def redemptions(
        self,
        contract_id: str | None = None,
        tenant: str | None = None,
        period: str | None = None,
    ) -> builtins.list[Redemption]:
        with self._db.lock:
            found = [
                r
                for r in self._t.redemptions.values()
                if contract_id in (None, r.contract.contract_id)
                and tenant in (None, r.contract.tenant)
                and period in (None, r.period)
            ]
        found.sort(key=lambda r: (r.period, r.deduction.charge.key))
        return found

    def unposted_redemptions(self) -> builtins.list[Redemption]:
        posted = self._t.ledger.get
        return [
            r
            for r in self.redemptions()
            if r.entry_key is not None and posted(r.entry_key) is None
        ]

    def add_period_redemption(self, redemption: PeriodRedemption) -> bool:
        with self._db.lock:
            if redemption.key in self._t.period_redemptions:
                return False
            self._t.period_redemptions[redemption.key] = redemption
            return True

    def period_redemptions(
        self, period: str | None = None, company: str | None = None
    ) -> builtins.list[PeriodRedemption]:
        with self._db.lock:
            found = list(self._t.period_redemptions.values())
        return sorted(
            (
                r
                for r in found
                if (period is None or r.period == period)
                and (company is None or r.company == company)
            ),
            key=_redemption_order,
        )

    def unposted_period_redemptions(self) -> builtins.list[PeriodRedemption]:
        posted = self._t.ledger.get
        return [
            r
            for r in self.period_redemptions()
            if r.entry_key is not None and posted(r.entry_key) is None
        ]

    def add_claim(self, claim: VoucherClaim) -> bool:
        key = (claim.tenant, claim.programme)
        with self._db.lock:
            if key in self._t.claims:
                return False
            self._t.claims[key] = claim
            return True

    def claims(self, tenant: str | None = None) -> builtins.list[VoucherClaim]:
        with self._db.lock:
            found = sorted(self._t.claims.items())
        return [c for (t, _), c in found if tenant in (None, t)]

    def add_programme_claim(self, claim: Claim, at: dt.datetime) -> None:
        with self._db.lock:
            if claim.claim_id in self._t.programme_claims:
                raise ValueError(f"claim {claim.claim_id} is stored already")
            self._t.programme_claims[claim.claim_id] = claim

    def programme_claims(self, tenant: str | None = None) -> builtins.list[Claim]:
        with self._db.lock:
            found = [c for c in self._t.programme_claims.values() if tenant in (None, c.company)]
        return sorted(found, key=lambda c: (c.claimed_on, c.claim_id))

    def decide_programme_claim(self, claim: Claim) -> bool:
        with self._db.lock:
            stored = self._t.programme_claims.get(claim.claim_id)
            if stored is None or stored.status is not ClaimStatus.PENDING:
                return False
            self._t.programme_claims[claim.claim_id] = claim
            return True


class MemoryPurchaseStore:
    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db
        self._t = db

    def add_purchase(self, record: PurchaseRecord) -> None:
        pid = record.purchase.purchase_id
        with self._db.lock:
            if pid in self._t.purchases:
                raise ValueError(f"purchase {pid} is stored already")
            self._t.purchases[pid] = record

    def purchase(self, purchase_id: str) -> PurchaseRecord | None:
        return self._t.purchases.get(purchase_id)

    def purchases(
        self, provider: str | None = None, project: str | None = None
    ) -> builtins.list[PurchaseRecord]:
        with self._db.lock:
            found = [
                r
                for r in self._t.purchases.values()
                if provider in (None, r.purchase.provider)
                and project in (None, r.purchase.project)
            ]
        found.sort(key=lambda r: (r.purchase.contract_on, r.recorded_at, r.purchase.purchase_id))
        return found

    def add_subsidy(self, subsidy: Subsidy) -> bool:
        pid = subsidy.record.purchase.purchase_id
        with self._db.lock:
            if pid in self._t.subsidies:
                return False
            self._t.subsidies[pid] = subsidy
            p = subsidy.record.purchase
            self._t.voucher_totals.add(subsidy.deduction, p.provider, p.project)
            return True

    def subsidy(self, purchase_id: str) -> Subsidy | None:
        return self._t.subsidies.get(purchase_id)

    def subsidies(self, provider: str | None = None) -> builtins.list[Subsidy]:
        with self._db.lock:
            found = [
                s
                for s in self._t.subsidies.values()
                if provider in (None, s.record.purchase.provider)
            ]
        found.sort(key=lambda s: (s.settled_at, s.deduction.charge.key))
        return found

    def unposted_subsidies(self) -> builtins.list[Subsidy]:
        posted = self._t.ledger.get
        return [
            s for s in self.subsidies() if s.entry_key is not None and posted(s.entry_key) is None
        ]


def _redemption_order(r: PeriodRedemption) -> tuple[str, str, str, str, int]:
    return (r.period, r.programme, r.company, r.seller, r.seq)

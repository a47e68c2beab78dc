"""The composition of one running platform: clock, store, fleet, engines, policy, billing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from suanli.billing.money import ZERO
from suanli.billing.policy import VoucherPolicy
from suanli.domain.clock import Clock
from suanli.domain.fleet import Fleet
from suanli.domain.ids import JobId, new_job_id
from suanli.domain.serving import LoadSink, RouteTable, UsageSink
from suanli.domain.tenants import TenantTerms
from suanli.engines.base import EngineAdapter
from suanli.scheduler.policies import PlacementPolicy
from suanli.scheduler.queueing import QueueSettings
from suanli.service.cycle_state import CycleState
from suanli.service.services_probe import HttpProbe, ReadinessProbe
from suanli.store.access import AccessStore, AuditLog
from suanli.store.apikeys import ApiKeyStore
from suanli.store.base import (
    BillingStore,
    ContractStore,
    HealthStore,
    JobStore,
    LedgerStore,
    PurchaseStore,
    TenantDirectory,
)
from suanli.store.evaluation import EvalStore
from suanli.store.leader import Leadership, SoleLeader
from suanli.store.memory import MemoryDatabase, MemoryHealthStore
from suanli.store.ratelimits import KeyBuckets
from suanli.store.services import MemoryServiceStore, ServiceStore
from suanli.store.usage import UsageStore


@dataclass
class Billing:
    """Metering, settlement and the ledger: stores, tenants and the programmes in force."""

    store: BillingStore
    ledger: LedgerStore
    tenants: TenantDirectory
    policies: tuple[VoucherPolicy, ...]
    platform_fee_rate: Decimal = ZERO
    contracts: ContractStore | None = None  # model contracts and voucher claims (None: none kept)
    purchases: PurchaseStore | None = None  # providers' server purchases (None: none kept)

    def policy(self, programme: str) -> VoucherPolicy | None:
        """The newest version of ``programme`` in force here, or None."""
        found = [p for p in self.policies if p.programme == programme]
        return max(found, key=lambda p: p.version) if found else None


@dataclass
class Platform:
    clock: Clock
    jobs: JobStore
    fleet: Fleet
    engines: dict[str, EngineAdapter]  # by cluster name
    policy: PlacementPolicy
    data_dir: Path
    # How long a cluster may not answer before its runs are given up and placed elsewhere.
    cluster_grace: dt.timedelta = dt.timedelta(seconds=60)
    billing: Billing | None = None  # None: a platform that does not bill (e.g. a bare test)
    access: AccessStore | None = None  # organisations, users, tokens (None: no one gets in)
    audit: AuditLog | None = None  # state-changing requests (None: not kept)
    leadership: Leadership = field(default_factory=SoleLeader)  # one control loop
    # Fair queues: each tenant's weight, quota and cohort (none: unlimited) and the knobs.
    tenant_terms: dict[str, TenantTerms] = field(default_factory=dict)
    queue_settings: QueueSettings = field(default_factory=QueueSettings)
    evals: EvalStore | None = None  # `suanli eval` results (None: not kept)
    # Clusters that do not answer, since when: stored, so every process reports the same.
    health: HealthStore = field(default_factory=lambda: MemoryHealthStore(MemoryDatabase()))
    # What the last scheduling cycle derived that the next may reuse (service.cycle_state).
    cycle_state: CycleState = field(default_factory=CycleState)
    # Model services: what the control plane keeps (the gateway's routes and load sink unless
    # set apart, as a gateway test does), API keys, metered requests and token settlements.
    services: ServiceStore = field(default_factory=MemoryServiceStore)
    readiness: ReadinessProbe = field(default_factory=HttpProbe)  # replicas' readiness probes
    usage: UsageStore | None = None  # metered requests and token settlements (None: not kept)
    # What the gateway hands each answered request to (service.usage.MeteringSink, wired by
    # service.bootstrap; None: the gateway keeps them in memory, unbilled).
    usage_sink: UsageSink | None = None
    apikeys: ApiKeyStore | None = None  # API keys the gateway accepts (None: none)
    key_buckets: KeyBuckets | None = None  # their rate limits, shared (None: per process)
    # Where new job ids come from: random; a replay numbers them in submission order, so
    # that what ids decide (ties, fifo-agnostic's draw of a model) is the same every run.
    job_ids: Callable[[], JobId] = new_job_id
    _route_table: RouteTable | None = field(default=None, init=False, repr=False)
    _load_sink: LoadSink | None = field(default=None, init=False, repr=False)

    @property
    def route_table(self) -> RouteTable:
        """The services in force and their replicas, as the gateway reads them."""
        return self.services if self._route_table is None else self._route_table

    @route_table.setter
    def route_table(self, table: RouteTable) -> None:
        self._route_table = table

    @property
    def load_sink(self) -> LoadSink:
        """Where the gateway reports what it saw of each service (the autoscaler's input)."""
        return self.services if self._load_sink is None else self._load_sink

    @load_sink.setter
    def load_sink(self, sink: LoadSink) -> None:
        self._load_sink = sink

    @property
    def down_since(self) -> dict[str, dt.datetime]:
        """Clusters whose engine does not answer, with when each was first seen down."""
        return self.health.down()

    @property
    def unavailable(self) -> frozenset[str]:
        """Clusters whose engine does not answer (their pools leave placement)."""
        return frozenset(self.health.down())

    def engine(self, cluster: str) -> EngineAdapter | None:
        return self.engines.get(cluster)

    def close(self) -> None:
        self.jobs.close()
        for engine in self.engines.values():
            close_engine = getattr(engine, "close", None)  # engines holding connections
            if callable(close_engine):
                close_engine()

"""Every repository of one database, by kind: SQL (SQLite, PostgreSQL) or process memory."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from suanli.store.access import AccessStore, AuditLog
from suanli.store.apikeys import ApiKeyStore
from suanli.store.base import (
    BillingStore,
    ContractStore,
    HealthStore,
    JobStore,
    LedgerStore,
    PurchaseStore,
)
from suanli.store.evaluation import EvalStore
from suanli.store.leader import Leadership, SoleLeader
from suanli.store.memory import (
    MemoryAccessStore,
    MemoryAuditLog,
    MemoryDatabase,
    MemoryHealthStore,
    MemoryJobStore,
)
from suanli.store.memory_apikeys import MemoryApiKeyStore
from suanli.store.memory_billing import (
    MemoryBillingStore,
    MemoryContractStore,
    MemoryLedgerStore,
    MemoryPurchaseStore,
)
from suanli.store.ratelimits import KeyBuckets, MemoryKeyBuckets
from suanli.store.services import MemoryServiceStore, ServiceStore
from suanli.store.sql.access import SqlAccessStore, SqlAuditLog
from suanli.store.sql.apikeys import SqlApiKeyStore
from suanli.store.sql.billing import SqlBillingStore, SqlLedgerStore
from suanli.store.sql.contracts import SqlContractStore
from suanli.store.sql.evaluation import SqlEvalStore
from suanli.store.sql.health import SqlHealthStore
from suanli.store.sql.leader import leadership_for
from suanli.store.sql.purchases import SqlPurchaseStore
from suanli.store.sql.ratelimits import SqlKeyBuckets
from suanli.store.sql.repos import SqlJobStore
from suanli.store.sql.services import SqlServiceStore
from suanli.store.sql.usage import SqlUsageStore
from suanli.store.usage import MemoryUsageStore, UsageStore

# The database URL of a platform kept in process memory (tests, the simulator).
MEMORY_URL = "memory:"


@dataclass(frozen=True)
class Stores:
    jobs: JobStore
    billing: BillingStore
    ledger: LedgerStore
    contracts: ContractStore
    purchases: PurchaseStore
    access: AccessStore
    audit: AuditLog
    health: HealthStore
    leadership: Leadership
    evals: EvalStore | None = None  # `suanli eval` results (None: a memory platform keeps none)
    services: ServiceStore = field(default_factory=MemoryServiceStore)  # model services
    usage: UsageStore | None = None  # model services' metered requests and token settlements
    apikeys: ApiKeyStore | None = None  # model services' API keys (None: none kept)
    key_buckets: KeyBuckets | None = None  # API keys' rate limits, shared by every process


def sql_stores(engine: Engine) -> Stores:
    """The stores of one SQL database (migrated by ``open_database``)."""
    return Stores(
        SqlJobStore(engine),
        SqlBillingStore(engine),
        SqlLedgerStore(engine),
        SqlContractStore(engine),
        SqlPurchaseStore(engine),
        SqlAccessStore(engine),
        SqlAuditLog(engine),
        SqlHealthStore(engine),
        leadership_for(engine) or SoleLeader(),
        SqlEvalStore(engine),
        SqlServiceStore(engine),
        usage=SqlUsageStore(engine),
        apikeys=SqlApiKeyStore(engine),
        key_buckets=SqlKeyBuckets(engine),
    )


def memory_stores(db: MemoryDatabase | None = None) -> Stores:
    """The stores of one memory database (a new, empty one unless ``db`` is given)."""
    db = db or MemoryDatabase()
    return Stores(
        MemoryJobStore(db),
        MemoryBillingStore(db),
        MemoryLedgerStore(db),
        MemoryContractStore(db),
        MemoryPurchaseStore(db),
        MemoryAccessStore(db),
        MemoryAuditLog(db),
        MemoryHealthStore(db),
        SoleLeader(),
        usage=MemoryUsageStore(db),
        apikeys=MemoryApiKeyStore(),
        key_buckets=MemoryKeyBuckets(),
    )

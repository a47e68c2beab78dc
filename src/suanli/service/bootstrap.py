"""Compose a platform from a data directory and a fleet (the embedded default's wiring)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import os
from pathlib import Path
from typing import TextIO

from suanli.billing.policy import VoucherPolicy
from suanli.domain.clock import Clock, SystemClock
from suanli.domain.errors import Conflict
from suanli.domain.fleet import Fleet
from suanli.engines.gpus import detect_nvidia_gpus
from suanli.engines.registry import EngineContext, engine_for
from suanli.scheduler.policies import POLICIES
from suanli.scheduler.queueing import QueueSettings
from suanli.schemas.tenantfile import demo_tenants_setup, load_tenants_setup
from suanli.schemas.throughputfile import load_throughput_file
from suanli.schemas.voucherfile import shipped_voucher_policies
from suanli.service.deps import Billing, Platform
from suanli.service.fleet import demo_fleet, load_fleet, with_local_gpus
from suanli.store.leader import SoleLeader
from suanli.store.sql.access import SqlAccessStore, SqlAuditLog
from suanli.store.sql.billing import SqlBillingStore, SqlLedgerStore
from suanli.store.sql.contracts import SqlContractStore
from suanli.store.sql.database import open_database, sqlite_url
from suanli.store.sql.leader import leadership_for
from suanli.store.sql.purchases import SqlPurchaseStore
from suanli.store.sql.repos import SqlJobStore
from suanli.store.sql.tenants import SqlTenantDirectory


def open_platform(
    data_dir: Path,
    fleet_file: Path | None = None,
    clock: Clock | None = None,
    database_url: str | None = None,
    detect_gpus: bool = True,
    tenants_file: Path | None = None,
    cluster_grace_s: float = 60.0,
    throughput_file: Path | None = None,
) -> Platform:
    data_dir.mkdir(parents=True, exist_ok=True)
    clock = clock or SystemClock()
    gpus = detect_nvidia_gpus() if detect_gpus else []
    fleet: Fleet = load_fleet(fleet_file) if fleet_file else demo_fleet()
    if gpus and fleet_file is None:
        fleet = with_local_gpus(fleet, gpus)
    if throughput_file is not None:  # overrides the fleet file's own table
        fleet = dataclasses.replace(fleet, throughput=load_throughput_file(throughput_file))
    ctx = EngineContext(data_dir, clock, tuple(gpus))
    engines = {c.name: engine_for(c, ctx) for c in fleet.clusters()}
    models = fleet.catalog.ids()
    setup = (
        load_tenants_setup(tenants_file, models) if tenants_file else demo_tenants_setup(models)
    )
    tenants = setup.tenants
    q = setup.queue
    db = open_database(database_url or sqlite_url(data_dir / "suanli.db"))
    billing = Billing(
        SqlBillingStore(db),
        SqlLedgerStore(db),
        SqlTenantDirectory(db, clock, tenants),
        shipped_policies(),
        contracts=SqlContractStore(db),
        purchases=SqlPurchaseStore(db),
    )
    return Platform(
        clock,
        SqlJobStore(db),
        fleet,
        engines,
        POLICIES["default"],
        data_dir,
        billing=billing,
        access=SqlAccessStore(db),
        audit=SqlAuditLog(db),
        leadership=leadership_for(db) or SoleLeader(),
        cluster_grace=dt.timedelta(seconds=cluster_grace_s),
        tenant_terms={t.name: t.terms for t in tenants if t.terms is not None},
        queue_settings=QueueSettings(
            q.grace_s, q.min_run_s, q.backfill, q.aging_s, reserve=q.reserve is not False
        ),
    )


def shipped_policies() -> tuple[VoucherPolicy, ...]:
    """The voucher programmes shipped with suanli (illustrative examples left out)."""
    return tuple(VoucherPolicy.from_terms(f) for f in shipped_voucher_policies())


def claim_data_dir(data_dir: Path, shared: bool = False) -> TextIO:
    """Hold a lock on ``data_dir`` for this server's life (one control plane per dir).

    ``shared``: several servers over one PostgreSQL database may share the directory (the
    database's advisory lock picks the one that runs the control loop); SQLite takes it
    alone. Keep the returned handle open; the lock goes with the process, even on ``kill -9``.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = (data_dir / "server.lock").open("a+")
    try:
        fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise Conflict("data_dir_in_use", data_dir=str(data_dir)) from None
    if not shared:
        handle.seek(0)
        handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle

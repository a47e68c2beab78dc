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
from suanli.schemas.queuefile import QueueEntry
from suanli.schemas.tenantfile import demo_tenants_setup, load_tenants_setup, pool_places
from suanli.schemas.throughputfile import load_throughput_file
from suanli.schemas.voucherfile import (
    load_voucher_policy_dir,
    resolve_policy_dir,
    shipped_voucher_policies,
)
from suanli.service.deps import Billing, Platform
from suanli.service.evaluation import apply_measurements
from suanli.service.fleet import demo_fleet, load_fleet, on_simulated_engines, with_local_gpus
from suanli.service.usage import metering_sink
from suanli.store.sql.database import open_database, sqlite_url
from suanli.store.sql.tenants import SqlTenantDirectory
from suanli.store.stores import MEMORY_URL, memory_stores, sql_stores
from suanli.store.tenants import StaticTenantDirectory


def open_platform(
    data_dir: Path,
    fleet_file: Path | None = None,
    clock: Clock | None = None,
    database_url: str | None = None,
    detect_gpus: bool = True,
    tenants_file: Path | None = None,
    cluster_grace_s: float = 60.0,
    throughput_file: Path | None = None,
    vouchers: str | None = None,
    simulated_engines: bool = False,
) -> Platform:
    """A platform on ``data_dir``; ``database_url`` ``memory:`` keeps it in process memory,
    ``simulated_engines`` runs every cluster on the simulated engine (tests, demos)."""
    private_dir(data_dir)
    clock = clock or SystemClock()
    gpus = detect_nvidia_gpus() if detect_gpus else []
    fleet: Fleet = load_fleet(fleet_file) if fleet_file else demo_fleet()
    if gpus and fleet_file is None:
        fleet = with_local_gpus(fleet, gpus)
    if throughput_file is not None:  # overrides the fleet file's own table
        fleet = dataclasses.replace(fleet, throughput=load_throughput_file(throughput_file))
    if simulated_engines:
        fleet = on_simulated_engines(fleet)
    ctx = EngineContext(data_dir, clock, tuple(gpus))
    engines = {c.name: engine_for(c, ctx) for c in fleet.clusters()}
    models = fleet.catalog.ids()
    places = pool_places(fleet)
    setup = (
        load_tenants_setup(tenants_file, models, places)
        if tenants_file
        else demo_tenants_setup(models, places)
    )
    tenants = setup.tenants
    q = setup.queue
    db = (
        None
        if database_url == MEMORY_URL
        else open_database(database_url or sqlite_url(data_dir / "suanli.db"))
    )
    stores = memory_stores() if db is None else sql_stores(db)
    # Tenants live in the database, seeded by the file (memory: the file's, in memory).
    directory = (
        StaticTenantDirectory(tenants) if db is None else SqlTenantDirectory(db, clock, tenants)
    )
    billing = Billing(
        stores.billing,
        stores.ledger,
        directory,
        shipped_policies() if vouchers is None else policies_from(vouchers),
        contracts=stores.contracts,
        purchases=stores.purchases,
    )
    platform = Platform(
        clock,
        stores.jobs,
        fleet,
        engines,
        POLICIES["default"],
        data_dir,
        billing=billing,
        access=stores.access,
        audit=stores.audit,
        leadership=stores.leadership,
        health=stores.health,
        cluster_grace=dt.timedelta(seconds=cluster_grace_s),
        tenant_terms={t.name: t.terms for t in tenants if t.terms is not None},
        queue_settings=queue_settings_of(q, reserve=q.reserve is not False),
        evals=stores.evals,
        services=stores.services,
        apikeys=stores.apikeys,
        key_buckets=stores.key_buckets,
        usage=stores.usage,
    )
    apply_measurements(platform)  # what earlier `suanli eval` runs measured
    platform.usage_sink = metering_sink(platform)  # the gateway's answered requests, metered
    return platform


def queue_settings_of(q: QueueEntry, reserve: bool) -> QueueSettings:
    """The queue settings a file's ``queue`` gives (``reserve``: the caller's default
    applied); constants it leaves unset keep the defaults (``scheduler/queueing/model``)."""
    d = QueueSettings()
    return QueueSettings(
        q.grace_s,
        q.min_run_s,
        q.backfill,
        q.aging_s,
        reserve=reserve,
        levels_s=tuple(q.levels_s) if q.levels_s is not None else d.levels_s,
        preempt_gain=q.preempt_gain if q.preempt_gain is not None else d.preempt_gain,
        guard_s=q.guard_s if q.guard_s is not None else d.guard_s,
        guard_gain=q.guard_gain if q.guard_gain is not None else d.guard_gain,
        move_gain=q.move_gain if q.move_gain is not None else d.move_gain,
        quanta=q.quanta if q.quanta is not None else d.quanta,
        restart_price=(
            d.restart_price
            if q.restart_price is None
            else None
            if q.restart_price == "never"
            else q.restart_price
        ),
        policy=q.policy,
        las2d_levels_s=(
            tuple(q.las2d_levels_s) if q.las2d_levels_s is not None else d.las2d_levels_s
        ),
        las2d_promote=q.las2d_promote if q.las2d_promote is not None else d.las2d_promote,
    )


def private_dir(path: Path) -> None:
    """``path`` made (or kept) 0700: the data directory holds tokens, the database, runs.

    The process's umask becomes 077 too, so every file the server writes later is private
    unless it says otherwise (jobs never see this directory; see engines/sandbox.py).
    """
    os.umask(0o077)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)


def shipped_policies() -> tuple[VoucherPolicy, ...]:
    """The voucher programmes shipped with suanli (illustrative examples left out)."""
    return tuple(VoucherPolicy.from_terms(f) for f in shipped_voucher_policies())


def policies_from(arg: str) -> tuple[VoucherPolicy, ...]:
    """The programmes of a folder of policy files (or ``library:NAME``), checked as a set."""
    files = load_voucher_policy_dir(resolve_policy_dir(arg))
    return tuple(VoucherPolicy.from_terms(f) for f in files if not f.illustrative)


def claim_data_dir(data_dir: Path, shared: bool = False) -> TextIO:
    """Hold a lock on ``data_dir`` for this server's life (one control plane per dir).

    ``shared``: several servers over one PostgreSQL database may share the directory (the
    database's advisory lock picks the one that runs the control loop); SQLite takes it
    alone. Keep the returned handle open; the lock goes with the process, even on ``kill -9``.
    """
    private_dir(data_dir)
    fd = os.open(data_dir / "server.lock", os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    handle = os.fdopen(fd, "a+")
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

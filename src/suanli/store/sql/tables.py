"""SQL tables. Applied migrations are never edited: change this and add a migration."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC in, aware UTC out, on every backend (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        return self.naive_utc(value)

    @staticmethod
    def naive_utc(value: dt.datetime | None) -> dt.datetime | None:
        """What the column stores for ``value``: UTC without a zone."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]


metadata = MetaData()

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("spec", Text, nullable=False),
    Column("pinned_cluster", String(64)),
    Column("attempt", Integer, nullable=False),
    Column("placement", Text),
    Column("decision", Text),
    Column("cancel_requested", Boolean, nullable=False),
    Column("engine_key", String(128)),
    Column("exit_code", Integer),
    Column("submitted_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("version", Integer, nullable=False),
    Column("tenant", String(64), nullable=False, server_default="demo"),  # 0002
    Column("cluster", String(64)),  # 0005: where the job is placed (providers' views)
    # 0006, fair queues: attained service, last entry into the queue, preemption, borrowing
    Column("attained", Float, nullable=False, server_default="0"),
    Column("queued_at", UtcDateTime),
    Column("preempt_at", UtcDateTime),
    Column("borrowed", Boolean, nullable=False, server_default=false()),
    Column("preemptions", Integer, nullable=False, server_default="0"),
    Column("image_digest", String(80)),  # 0009: the image the attempt runs (sha256:...)
    Column("checkpoint_cluster", String(64)),  # 0018: where a resumable job's checkpoint is
    Index("ix_jobs_status", "status"),
    Index("ix_jobs_submitted_at", "submitted_at"),
    Index("ix_jobs_tenant", "tenant"),
    Index("ix_jobs_cluster", "cluster"),
)

job_events = Table(
    "job_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(32), ForeignKey("jobs.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("from_status", String(16)),
    Column("to_status", String(16), nullable=False),
    Column("reason_code", String(64), nullable=False),
    Column("reason_params", Text, nullable=False),
    Column("attempt", Integer, nullable=False),
    Index("ix_job_events_job_id", "job_id", "id"),
)

# 0007: unfinished jobs per tenant, changed in the transaction that changes a job's status
# between unfinished and finished (SqlJobStore: add, add_submitted, save).
tenant_active = Table(
    "tenant_active",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("active", Integer, nullable=False),
)

# Clusters whose engine does not answer, since when (0008): shared by every process.
cluster_health = Table(
    "cluster_health",
    metadata,
    Column("cluster", String(64), primary_key=True),
    Column("down_since", UtcDateTime(), nullable=False),
)

"""SQL tables of model services (migration 0013_services): services, their revisions,
their replicas and the gateways' load windows."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Integer, String, Table, Text, UniqueConstraint

from suanli.store.sql.tables import UtcDateTime, metadata

services = Table(
    "services",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("name", String(64), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("latest", Integer, nullable=False),
    Column("desired", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("wanted_at", UtcDateTime()),
    Column("deleting", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    UniqueConstraint("owner", "name", name="uq_services_owner_name"),
)

service_revisions = Table(
    "service_revisions",
    metadata,
    Column("service_id", String(32), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("spec", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

service_replicas = Table(
    "service_replicas",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("service_id", String(32), nullable=False, index=True),
    Column("revision", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("job_id", String(32), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("cluster", String(64), nullable=False),
    Column("url", String(512), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("ready_at", UtcDateTime()),
    Column("drain_at", UtcDateTime()),
    Column("floor", Boolean, nullable=False),
    Column("detail", String(500), nullable=False),
)

service_load = Table(
    "service_load",
    metadata,
    Column("service_id", String(32), primary_key=True),
    Column("gateway", String(128), primary_key=True),
    Column("end_at", UtcDateTime(), primary_key=True),
    Column("start_at", UtcDateTime(), nullable=False),
    Column("in_flight", Integer, nullable=False),
    Column("requests", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("waiting", Integer, nullable=False),
)

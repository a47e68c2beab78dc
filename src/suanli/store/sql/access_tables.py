"""SQL tables for organisations, users, API tokens and the audit log (migration 0005)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text

from suanli.store.sql.tables import UtcDateTime, metadata

organisations = Table(
    "organisations",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("organisation", String(64), ForeignKey("organisations.name"), nullable=False),
    Column("role", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_users_organisation", "organisation"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("user", String(64), ForeignKey("users.name"), nullable=False),
    Column("secret_hash", String(64), nullable=False),  # SHA-256 of the secret, hex
    Column("scopes", String(64), nullable=False),  # comma-separated
    Column("description", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    Index("ix_api_tokens_user", "user"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("organisation", String(64), nullable=False),
    Column("token_id", String(16), nullable=False),
    Column("action", String(200), nullable=False),
    Column("target", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("remote", String(64), nullable=False),
    Index("ix_audit_events_at", "at"),
    Index("ix_audit_events_actor", "actor"),
)

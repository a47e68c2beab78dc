"""Alembic environment: migrations run on the connection suanli hands over."""

from __future__ import annotations

from alembic import context

from suanli.store.sql.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("suanli runs its migrations itself: use suanli.store.sql.database.migrate")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

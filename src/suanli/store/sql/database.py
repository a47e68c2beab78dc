"""Open the database and bring its schema to the newest migration."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event

MIGRATIONS = Path(__file__).with_name("migrations")


def open_database(url: str) -> Engine:
    """Create an engine for ``url`` (SQLite or PostgreSQL) and apply every pending migration."""
    # No ping before each checkout (a round trip per transaction): a connection the server
    # dropped fails the one statement that finds out, SQLAlchemy then discards every pooled
    # connection opened before, and the next checkout connects afresh. A pool big enough
    # for the worker threads, so a busy process reuses connections instead of opening them.
    engine = create_engine(normalize_url(url), pool_size=16, max_overflow=32, pool_recycle=1800)
    if engine.dialect.name == "sqlite":
        _private_sqlite_files(engine.url.database)
        event.listen(engine, "connect", _sqlite_pragmas)
    migrate(engine)
    return engine


def migrate(engine: Engine) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def normalize_url(url: str) -> str:
    """``postgresql://`` means the psycopg 3 driver (SQLAlchemy would look for psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _private_sqlite_files(database: str | None) -> None:
    """The database file 0600 before SQLite first opens it; its -wal and -shm take its mode."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    fd = os.open(database, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(database + suffix, 0o600)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the API read while the control loop writes; busy_timeout rides out short locks.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()

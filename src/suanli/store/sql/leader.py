"""Leadership over PostgreSQL: a session-level advisory lock on a connection of its own.

The lock lives as long as the database session that took it: when the holding process
dies (even by ``kill -9``) its connection closes, the server releases the lock, and the
next process to ask gets it.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger("suanli.leader")

LOCK_KEY = 0x5375616E6C69  # "Suanli": one control loop per database


class AdvisoryLock:
    def __init__(self, engine: Engine, key: int = LOCK_KEY) -> None:
        self._engine = engine
        self._key = key
        self._conn: Connection | None = None
        self._held = False
        self._mutex = threading.Lock()

    def acquire(self) -> bool:
        with self._mutex:
            try:
                if self._held and self._conn is not None:
                    self._conn.execute(text("SELECT 1"))  # still our session: still our lock
                    return True
                if self._conn is None:
                    self._conn = self._engine.connect().execution_options(
                        isolation_level="AUTOCOMMIT"
                    )
                got = self._conn.execute(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}
                ).scalar_one()
                self._held = bool(got)
            except DBAPIError:
                log.warning("leadership session lost", exc_info=True)
                self._drop()
            return self._held

    def release(self) -> None:
        with self._mutex:
            self._drop()

    def _drop(self) -> None:
        self._held = False
        if self._conn is not None:
            try:
                self._conn.invalidate()  # closing the session releases the lock, if held
                self._conn.close()
            except DBAPIError:
                log.debug("closing the leadership session failed", exc_info=True)
            self._conn = None


def leadership_for(engine: Engine) -> AdvisoryLock | None:
    """The advisory lock on PostgreSQL; None on SQLite (one process per data directory)."""
    return AdvisoryLock(engine) if engine.dialect.name == "postgresql" else None

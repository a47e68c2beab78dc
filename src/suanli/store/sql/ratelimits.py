"""SQL store of the API keys' rate-limit buckets: one statement per lease.

``INSERT ... ON CONFLICT (key_id) DO UPDATE ... RETURNING``: a key's first lease writes a
full bucket less what it takes; later ones refill and take in the same row update, which
the database serialises per row (SQLite: one writer; PostgreSQL: the row lock), so no two
gateway processes spend one token. SQLite and PostgreSQL both run the same statement (a
CASE for min/max; whole tokens by FLOOR, or a cast to integer on SQLite, which truncates).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, Integer, case, cast, func, literal
from sqlalchemy.dialects import postgresql, sqlite

from suanli.store.ratelimits import Lease
from suanli.store.sql.ratelimit_tables import api_key_buckets as t


class SqlKeyBuckets:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    def lease(self, key_id: str, rate_per_s: float, burst: int, want: int, at: float) -> Lease:
        first = min(want, burst)
        elapsed = case((literal(at) > t.c.last, literal(at) - t.c.last), else_=literal(0.0))
        grown = t.c.tokens + elapsed * literal(rate_per_s)
        available = case((grown > literal(float(burst)), literal(float(burst))), else_=grown)
        whole: Any = func.floor(available) if self._postgres else cast(available, Integer)
        granted = case(
            (available < literal(1.0), literal(0)),
            (whole > literal(want), literal(want)),
            else_=cast(whole, Integer),
        )
        dialect: Any = postgresql if self._postgres else sqlite
        statement = (
            dialect.insert(t)
            .values(key_id=key_id, tokens=float(burst - first), last=at, granted=first)
            .on_conflict_do_update(
                index_elements=[t.c.key_id],
                set_={
                    "tokens": available - granted,
                    "last": case((literal(at) > t.c.last, literal(at)), else_=t.c.last),
                    "granted": granted,
                },
            )
            .returning(t.c.granted, t.c.tokens)
        )
        with self._engine.begin() as conn:
            row = conn.execute(statement).one()
        return Lease(int(row.granted), float(row.tokens))

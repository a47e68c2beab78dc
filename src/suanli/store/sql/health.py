"""SQL store of cluster health: one row per cluster that does not answer."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError

from suanli.store.sql.tables import cluster_health


class SqlHealthStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def mark_down(self, cluster: str, at: dt.datetime) -> dt.datetime:
        query = select(cluster_health.c.down_since).where(cluster_health.c.cluster == cluster)
        with self._engine.connect() as conn:
            since = conn.execute(query).scalar_one_or_none()
        if since is not None:
            return since  # type: ignore[no-any-return]
        try:
            with self._engine.begin() as conn:
                conn.execute(cluster_health.insert().values(cluster=cluster, down_since=at))
        except IntegrityError:  # another process marked it first: its time stands
            with self._engine.connect() as conn:
                return conn.execute(query).scalar_one()  # type: ignore[no-any-return]
        return at

    def mark_up(self, cluster: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(cluster_health).where(cluster_health.c.cluster == cluster))

    def down(self) -> dict[str, dt.datetime]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(cluster_health)).all()
        return {r.cluster: r.down_since for r in rows}

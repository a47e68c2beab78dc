"""SQL store of evaluation results: insert RUNNING, complete once (a guarded update)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, insert, select, update

from suanli.domain.evaluation import EvalItem, EvalRecord
from suanli.store.evaluation import MAX_RECORDS
from suanli.store.sql.eval_tables import eval_results

_ITEM_FIELDS = tuple(EvalItem.__dataclass_fields__)


class SqlEvalStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, records: list[EvalRecord]) -> None:
        if not records:
            return
        with self._engine.begin() as conn:
            conn.execute(insert(eval_results), [_row(r) for r in records])

    def complete(self, record: EvalRecord) -> bool:
        row = _row(record)
        query = (
            update(eval_results)
            .where(eval_results.c.job_id == record.job_id, eval_results.c.state == "running")
            .values({k: v for k, v in row.items() if k != "job_id"})
        )
        with self._engine.begin() as conn:
            return conn.execute(query).rowcount == 1

    def running(self) -> list[EvalRecord]:
        return self._select(select(eval_results).where(eval_results.c.state == "running"))

    def run(self, run_id: str) -> list[EvalRecord]:
        query = select(eval_results).where(eval_results.c.run_id == run_id)
        return self._select(query.order_by(eval_results.c.cluster, eval_results.c.pool))

    def records(self, limit: int = MAX_RECORDS) -> list[EvalRecord]:
        query = select(eval_results).order_by(
            eval_results.c.created_at.desc(), eval_results.c.job_id.desc()
        )
        return self._select(query.limit(limit))

    def _select(self, query: Any) -> list[EvalRecord]:
        with self._engine.connect() as conn:
            return [_record(r) for r in conn.execute(query)]


def _row(r: EvalRecord) -> dict[str, Any]:
    return {
        "job_id": r.job_id,
        "run_id": r.run_id,
        "suites": ",".join(r.suites),
        "cluster": r.cluster,
        "pool": r.pool,
        "model": r.model,
        "state": r.state,
        "created_at": r.created_at,
        "measured_at": r.measured_at,
        "backend": r.backend,
        "device": r.device,
        "driver": r.driver,
        "software": json.dumps(dict(r.software), sort_keys=True),
        "items": json.dumps([{k: getattr(i, k) for k in _ITEM_FIELDS} for i in r.items]),
        "item_count": len(r.items),
        "seconds": r.seconds,
        "error": r.error,
    }


def _record(row: Any) -> EvalRecord:
    return EvalRecord(
        job_id=row.job_id,
        run_id=row.run_id,
        suites=tuple(s for s in row.suites.split(",") if s),
        cluster=row.cluster,
        pool=row.pool,
        model=row.model,
        state=row.state,
        created_at=row.created_at,
        measured_at=row.measured_at,
        backend=row.backend,
        device=row.device,
        driver=row.driver,
        software=json.loads(row.software),
        items=tuple(_item(i) for i in json.loads(row.items)),
        error=row.error,
        seconds=row.seconds,
    )


def _item(found: dict[str, Any]) -> EvalItem:
    """An item as stored; fields an older row lacks take their defaults (steadiness: not
    judged), and fields a newer writer added are left out rather than refused."""
    return EvalItem(**{k: v for k, v in found.items() if k in _ITEM_FIELDS})

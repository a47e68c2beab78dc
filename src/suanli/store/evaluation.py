"""Where evaluation results are kept (``suanli.domain.evaluation.EvalRecord``)."""

from __future__ import annotations

from typing import Protocol

from suanli.domain.evaluation import EvalRecord

MAX_RECORDS = 5_000  # the newest records placement and the report read


class EvalStore(Protocol):
    def add(self, records: list[EvalRecord]) -> None:
        """Store RUNNING records of a new run, all or none."""

    def complete(self, record: EvalRecord) -> bool:
        """Write a RUNNING record's outcome once; False when it was already completed."""

    def running(self) -> list[EvalRecord]: ...

    def run(self, run_id: str) -> list[EvalRecord]: ...

    def records(self, limit: int = MAX_RECORDS) -> list[EvalRecord]:
        """The newest records, newest first."""

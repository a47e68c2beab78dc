"""SQL table of evaluation results (0009_eval): one row per evaluation job.

The row is written RUNNING when the job is submitted and completed in one update when
its result is collected (``measured``) or its job ended without one (``failed``).
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, String, Table, Text

from suanli.store.sql.tables import UtcDateTime, metadata

eval_results = Table(
    "eval_results",
    metadata,
    Column("job_id", String(32), primary_key=True),
    Column("run_id", String(32), nullable=False),
    Column("suites", String(64), nullable=False),  # comma-separated
    Column("cluster", String(64), nullable=False),
    Column("pool", String(64), nullable=False),
    Column("model", String(64)),  # the pool's catalog model; None: a CPU pool
    Column("state", String(16), nullable=False),  # running | measured | failed
    Column("created_at", UtcDateTime, nullable=False),
    Column("measured_at", UtcDateTime),
    Column("backend", String(16)),
    Column("device", String(200)),
    Column("driver", String(64)),
    Column("software", Text, nullable=False),  # JSON object
    Column("items", Text, nullable=False),  # JSON list
    Column("item_count", Integer, nullable=False),
    Column("seconds", Float),
    Column("error", Text, nullable=False),
    Index("ix_eval_results_run", "run_id"),
    Index("ix_eval_results_state", "state"),
    Index("ix_eval_results_pool", "cluster", "pool", "created_at"),
)

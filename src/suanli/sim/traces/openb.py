"""openb pods (Alibaba GPU trace v2023) as jobs: pods with GPUs and both a scheduled and a
deletion time; run time = deletion - scheduled, submitted at creation. A pod asking for a
fraction of a GPU counts as one accelerator (queueing allocates whole cards; fractional
packing is ``suanli sim pack``). One tenant, ``openb``: the trace has no tenant column.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from suanli.schemas.validation import read_bounded
from suanli.sim.traces.base import Trace, TraceJob, register

MAX_BYTES = 256 * 1024 * 1024


@register("openb")
def read_openb(path: Path) -> Trace:
    text = read_bounded(path, MAX_BYTES, "trace file", "invalid_trace").decode()
    jobs: list[TraceJob] = []
    skipped = 0
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        try:
            gpus = int(row.get("num_gpu") or 0)
            created = float(row["creation_time"])
            start = float(row["scheduled_time"])
            end = float(row["deletion_time"])
        except (ValueError, TypeError, KeyError):
            skipped += 1
            continue
        if gpus <= 0 or end < start:
            skipped += 1
            continue
        jobs.append(
            TraceJob(row.get("name") or f"pod-{line}", "openb", created, gpus, end - start)
        )
    jobs.sort(key=lambda j: (j.submit, j.id))
    return Trace(jobs, None, skipped)

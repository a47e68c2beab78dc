"""Philly jobs as published with Sia (SOSP'23): ``timestamp, duration, num_gpus, gpu_time,
cluster``. The virtual cluster becomes the tenant; ``duration`` is known to the simulated
engine only. Submit times are seconds since the Unix epoch (the trace's naive times as UTC).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import sys
from pathlib import Path

from suanli.domain.errors import FieldError, InvalidInput
from suanli.schemas.validation import read_bounded
from suanli.sim.traces.base import Trace, TraceJob, register

COLUMNS = ("timestamp", "duration", "num_gpus", "cluster")
MAX_BYTES = 512 * 1024 * 1024
MAX_REPORTED = 10


@register("philly")
def read_philly(path: Path) -> Trace:
    text = read_bounded(path, MAX_BYTES, "trace file", "invalid_trace").decode()
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(
            "invalid_trace",
            errors=[FieldError("columns", "missing", ", ".join(missing), ", ".join(COLUMNS))],
            source=str(path),
        )
    jobs: list[TraceJob] = []
    errors: list[FieldError] = []
    skipped = 0
    utc = dt.UTC
    for line, row in enumerate(reader, start=2):
        try:
            submit = dt.datetime.fromisoformat(row["timestamp"]).replace(tzinfo=utc).timestamp()
            duration = float(row["duration"])
            gpus = int(row["num_gpus"])
        except (ValueError, TypeError) as exc:
            if len(errors) < MAX_REPORTED:
                errors.append(
                    FieldError(
                        f"line {line}", "invalid_value", str(row), params={"detail": str(exc)}
                    )
                )
            continue
        if gpus <= 0 or duration < 0:
            skipped += 1
            continue
        # A tenant (a virtual cluster, ~15 names) is one string for all its jobs, not one
        # per row: the stores keep it in every job, usage record and charge.
        tenant = sys.intern(row["cluster"])
        jobs.append(TraceJob(f"philly-{line - 1}", tenant, submit, gpus, duration))
    if errors:
        raise InvalidInput("invalid_trace", errors=errors, source=str(path))
    jobs.sort(key=lambda j: j.submit)
    return Trace(jobs, None, skipped)

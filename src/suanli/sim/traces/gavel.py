"""Gavel (OSDI'20) traces: tab-separated ``job_type, command, num_steps_arg,
needs_data_dir, total_steps, arrival_time, scale_factor`` (the ``msr`` traces; a folder
reads every ``*.trace`` in it, the file name being the tenant). The throughput matrix
``simulation_throughputs.json`` is looked for beside the trace and in its parents: it is
the engine's truth (steps/s per job type, scale and GPU), and ``work`` is ``total_steps``.
"""

from __future__ import annotations

from pathlib import Path

from suanli.domain.errors import FieldError, InvalidInput
from suanli.domain.throughput import ThroughputTable
from suanli.schemas.throughputfile import job_class, load_throughput_file
from suanli.schemas.validation import read_bounded
from suanli.sim.traces.base import Trace, TraceJob, register

MATRIX = "simulation_throughputs.json"
MAX_BYTES = 256 * 1024 * 1024


@register("gavel")
def read_gavel(path: Path) -> Trace:
    files = sorted(path.glob("*.trace")) if path.is_dir() else [path]
    jobs: list[TraceJob] = []
    errors: list[FieldError] = []
    for f in files:
        text = read_bounded(f, MAX_BYTES, "trace file", "invalid_trace").decode()
        for line, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            cols = raw.split("\t")
            try:
                steps, arrival, scale = float(cols[4]), float(cols[5]), int(cols[6])
            except (ValueError, IndexError):
                if len(errors) < 10:
                    errors.append(
                        FieldError(
                            f"{f.name} line {line}",
                            "wrong_type",
                            raw[:60],
                            "7 tab-separated fields",
                        )
                    )
                continue
            jobs.append(
                TraceJob(
                    f"{f.stem}-{line}", f.stem, arrival, scale, steps, job_class(cols[0], scale)
                )
            )
    if errors:
        raise InvalidInput("invalid_trace", errors=errors, source=str(path))
    jobs.sort(key=lambda j: (j.submit, j.id))
    return Trace(jobs, _matrix(path))


def _matrix(path: Path) -> ThroughputTable | None:
    for folder in [path if path.is_dir() else path.parent, *path.parents]:
        candidate = folder / MATRIX
        if candidate.exists():
            return load_throughput_file(candidate)
    return None

"""Accelerator and framework evaluation: run the suite as ordinary jobs, collect, apply.

``start_run`` submits one job per chosen pool (pinned to its cluster, the pool's model and
a whole node, like any tenant's job) whose ``run`` is ``python -m suanli.evalsuite``;
``collect`` reads the result line from each finished job's output into the store;
``apply_measurements`` hands the records to placement (``Fleet.measured``). The control
loop collects each tick; the report is built from the same records (``eval_report``).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Sequence

from suanli.domain.errors import FieldError, InvalidInput, NotFound, SuanliError
from suanli.domain.evaluation import EvalItem, EvalRecord, measurements
from suanli.domain.fleet import Cluster, Pool
from suanli.domain.ids import JobId
from suanli.domain.jobs import Job, JobStatus
from suanli.domain.spec import MAX_ACCELERATORS_PER_NODE, JobSpec
from suanli.schemas.evalfile import EvalOutput, parse_eval_output
from suanli.service.deps import Platform
from suanli.service.eval_python import suite_python
from suanli.service.jobs import first_events, new_job, read_logs
from suanli.store.evaluation import EvalStore

SUITES = ("micro", "models", "conformance")
EVAL_TIME_LIMIT_HOURS = 1.0
LOG_TAIL_BYTES = 2 << 20  # the result line is the last; output before it is not needed
LOG_READ_CAP = 64 << 20  # stop reading a runaway log here (its tail is what counts)
MAX_POOLS = 1_000


def start_run(
    p: Platform,
    tenant: str,
    suite: str | None = None,
    cluster: str | None = None,
    pool: str | None = None,
    python: str | None = None,
) -> tuple[str, list[EvalRecord]]:
    """Submit the suite (``None``: all three) on the chosen pools; the run id and records.

    ``python``: the interpreter the job runs the suite with; default ``suite_python()``
    (``SUANLI_EVAL_PYTHON``, the server's own where a sandboxed job can run it, else the
    one ``scripts/tenant-python.sh`` made: ``service/eval_python.py``).
    """
    store = _store(p)
    suites = _suites(suite)
    targets = _targets(p, cluster, pool)
    now = p.clock.now()
    run_id = "e-" + secrets.token_hex(6)
    jobs: list[Job] = []
    records: list[EvalRecord] = []
    for c, q in targets:
        job = new_job(p, eval_spec(p, c, q, suites, python or suite_python()), c.name, tenant)
        jobs.append(job)
        records.append(
            EvalRecord(job.id, run_id, suites, c.name, q.name, q.accelerator, "running", now)
        )
    store.add(records)  # every record before any job: a job never runs unrecorded
    for job in jobs:
        p.jobs.add(job, first_events(job))
    return run_id, records


def eval_spec(
    p: Platform, cluster: Cluster, pool: Pool, suites: Sequence[str], python: str
) -> JobSpec:
    """One whole node of ``pool``: a benchmark must not share its node with other work."""
    model = p.fleet.catalog.get(pool.accelerator) if pool.accelerator else None
    suite = suites[0] if len(suites) == 1 else "all"
    accelerator = (
        {
            "model": [pool.accelerator],
            "count": min(pool.accelerators_per_node, MAX_ACCELERATORS_PER_NODE),
        }
        if pool.accelerator
        else None
    )
    return JobSpec.model_validate(
        {
            "name": f"eval-{suite}-{pool.name}"[:63].rstrip("-."),
            "description": f"suanli eval {','.join(suites)} on {cluster.name}/{pool.name}",
            "resources": {
                "accelerator": accelerator,
                "nodes": 1,
                "cpus": min(max(pool.cpus_per_node, 1), 1024),
                "memory_gb": min(pool.memory_gb_per_node, 16384),
            },
            "stacks": [model.stack] if model is not None else None,
            "run": f'"${{SUANLI_EVAL_PYTHON:-python3}}" -m suanli.evalsuite --suite {suite}',
            "env": {"SUANLI_EVAL_PYTHON": python},
            "time_limit_hours": EVAL_TIME_LIMIT_HOURS,
            "retry": {"max_attempts": 1},
        }
    )


def collect(p: Platform) -> int:
    """Complete the records of finished evaluation jobs; how many were completed."""
    if p.evals is None:
        return 0
    done = 0
    for record in p.evals.running():
        job = p.jobs.get(JobId(record.job_id))
        if job is not None and not job.status.is_terminal:
            continue
        if p.evals.complete(_outcome(p, record, job)):
            done += 1
    if done:
        apply_measurements(p)
    return done


def apply_measurements(p: Platform) -> None:
    """Hand the stored records to placement: measured rates and incompatibilities."""
    if p.evals is None:
        return
    measured = measurements(p.evals.records(), p.fleet.catalog)
    p.fleet = dataclasses.replace(p.fleet, measured=measured)


def run_records(p: Platform, run_id: str) -> list[EvalRecord]:
    found = _store(p).run(run_id)
    if not found:
        raise NotFound("eval_run_not_found", run=run_id)
    return found


def records(p: Platform) -> list[EvalRecord]:
    return _store(p).records()


def _outcome(p: Platform, record: EvalRecord, job: Job | None) -> EvalRecord:
    now = p.clock.now()
    if job is None:
        return dataclasses.replace(record, state="failed", measured_at=now, error="job not found")
    cluster, pool = record.cluster, record.pool
    if job.placement is not None:  # where it really ran (a cluster may hold look-alike pools)
        cluster, pool = job.placement.cluster, job.placement.pool
    found = dataclasses.replace(record, cluster=cluster, pool=pool, measured_at=now)
    if job.status is not JobStatus.SUCCEEDED:
        code = "-" if job.exit_code is None else job.exit_code
        why = f"the evaluation job ended {job.status.value} (exit code {code})"
        return dataclasses.replace(found, state="failed", error=why)
    try:
        output = parse_eval_output(_log_tail(p, job), f"job {job.id}")
    except SuanliError as exc:
        detail = "; ".join(e.message("en") for e in getattr(exc, "errors", [])) or exc.message(
            "en"
        )
        return dataclasses.replace(found, state="failed", error=detail[:2000])
    return measured_record(found, output)


def measured_record(record: EvalRecord, out: EvalOutput) -> EvalRecord:
    """``record`` completed with the suite's parsed output (hardware, software, items)."""
    hw = out.hardware
    items = tuple(
        EvalItem(
            name=i.name,
            kind=i.kind,
            framework=i.framework,
            status=i.status,
            value=i.value,
            unit=i.unit,
            detail=i.detail,
            cv=i.cv,
            job_class=i.job_class,
            op=i.op,
            dtype=i.dtype,
            tolerance=i.tolerance,
            steady=i.steady,
            error=i.error,
            steal=i.steal,
        )
        for i in out.items
    )
    software = {
        k: (str(v) if v is not None else None) for k, v in out.software.model_dump().items()
    }
    return dataclasses.replace(
        record,
        state="measured",
        backend=hw.backend,
        device=hw.device,
        driver=hw.driver,
        software=software,
        items=items,
        seconds=out.seconds,
        error="; ".join(hw.notes)[:2000],
    )


def _log_tail(p: Platform, job: Job) -> bytes:
    tail, offset = b"", 0
    while offset < LOG_READ_CAP:
        chunk = read_logs(p, job.id, offset, 1 << 20)
        if not chunk.data:
            break
        tail = (tail + chunk.data)[-LOG_TAIL_BYTES:]
        offset = chunk.next_offset
    return tail


def _suites(suite: str | None) -> tuple[str, ...]:
    if suite is None or suite == "all":
        return SUITES
    if suite not in SUITES:
        raise InvalidInput(
            "invalid_eval_request",
            errors=[FieldError("suite", "not_allowed", suite, ", ".join((*SUITES, "all")))],
        )
    return (suite,)


def _targets(p: Platform, cluster: str | None, pool: str | None) -> list[tuple[Cluster, Pool]]:
    fleet = p.fleet
    if cluster is not None and fleet.cluster(cluster) is None:
        names = ", ".join(c.name for c in fleet.clusters())
        raise InvalidInput(
            "invalid_eval_request",
            errors=[FieldError("cluster", "unknown_cluster", cluster, names)],
        )
    found = [
        (c, q)
        for c, q in fleet.pools()
        if (cluster is None or c.name == cluster) and (pool is None or q.name == pool)
    ]
    if pool is not None and not found:
        known = sorted({q.name for c, q in fleet.pools() if cluster is None or c.name == cluster})
        raise InvalidInput(
            "invalid_eval_request",
            errors=[FieldError("pool", "unknown_pool", pool, ", ".join(known[:50]))],
        )
    return found[:MAX_POOLS]


def _store(p: Platform) -> EvalStore:
    if p.evals is None:
        raise InvalidInput(
            "invalid_eval_request",
            errors=[
                FieldError(
                    "(platform)", "invalid_value", "", params={"detail": "no evaluation store"}
                )
            ],
        )
    return p.evals

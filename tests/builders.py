"""Test data builders: specs, jobs and fleets with sensible defaults."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from suanli.domain.fleet import Cluster, EngineRef, Fleet, Pool, Provider
from suanli.domain.ids import JobId
from suanli.domain.jobs import Job, JobStatus
from suanli.domain.spec import JobSpec
from suanli.service.fleet import builtin_catalog

# The statuses a job passes through when all goes well, in order.
HAPPY_PATH = ["pending", "queued", "placed", "starting", "running", "succeeded"]
T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
CATALOG = builtin_catalog()


def make_spec(**overrides: Any) -> JobSpec:
    data: dict[str, Any] = {
        "name": "job",
        "resources": {"accelerator": {"model": "T4", "count": 1}},
        "run": "echo hi",
    }
    data.update(overrides)
    return JobSpec.model_validate(data)


def make_job(
    spec: JobSpec | None = None,
    job_id: str = "j-test",
    status: JobStatus = JobStatus.QUEUED,
    at: dt.datetime = T0,
    **fields: Any,
) -> Job:
    return Job(
        id=JobId(job_id),
        spec=spec or make_spec(),
        status=status,
        submitted_at=at,
        updated_at=at,
        **fields,
    )


def make_pool(
    name: str,
    accelerator: str | None,
    nodes: int = 2,
    per_node: int = 8,
    price: str = "10.00",
    cpus: int = 64,
    memory: int = 512,
) -> Pool:
    return Pool(
        name=name,
        accelerator=accelerator,
        nodes=nodes,
        accelerators_per_node=per_node if accelerator else 0,
        cpus_per_node=cpus,
        memory_gb_per_node=memory,
        price_per_accelerator_hour=Decimal(price),
    )


def make_fleet(*clusters: tuple[str, str, list[Pool]]) -> Fleet:
    """``clusters`` as (name, region, pools); one provider per cluster, local engine."""
    providers = tuple(
        Provider(
            f"p-{name}",
            f"Provider {name}",
            (Cluster(name, f"p-{name}", region, EngineRef("local"), tuple(pools)),),
        )
        for name, region, pools in clusters
    )
    return Fleet(providers, CATALOG)

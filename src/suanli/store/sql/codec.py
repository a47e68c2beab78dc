"""Rows to domain objects and back (JSON columns for spec, placement and decision)."""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
from collections import OrderedDict
from decimal import Decimal
from typing import Any

from suanli.domain.ids import JobId
from suanli.domain.jobs import (
    Decision,
    Estimate,
    Job,
    JobEvent,
    JobStatus,
    NodeAssignment,
    Placement,
    PoolVerdict,
    Reason,
)
from suanli.domain.spec import JobSpec


def job_to_row(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "name": job.spec.name,
        "status": job.status.value,
        "spec": job.spec.model_dump_json(exclude_none=True),
        "pinned_cluster": job.pinned_cluster,
        "attempt": job.attempt,
        "placement": json.dumps(placement_to_dict(job.placement)) if job.placement else None,
        "decision": json.dumps(decision_to_dict(job.decision)) if job.decision else None,
        "cancel_requested": job.cancel_requested,
        "engine_key": job.engine_key,
        "exit_code": job.exit_code,
        "submitted_at": job.submitted_at,
        "updated_at": job.updated_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "version": job.version,
        "tenant": job.tenant,
        "cluster": job.placement.cluster if job.placement else None,
        "attained": job.attained,
        "queued_at": job.queued_at,
        "preempt_at": job.preempt_at,
        "borrowed": job.borrowed,
        "preemptions": job.preemptions,
        "image_digest": job.image_digest,
        "checkpoint_cluster": job.checkpoint_cluster,
    }


class DecodedJobs:
    """Jobs decoded from rows, by (id, version, updated_at): a stored job changes only
    through a guarded save that bumps its version (``SqlJobStore.save``), so that key always
    names the same content, in every process. The control loop and the console read the
    same active jobs over and over; each is decoded once per change instead of each time."""

    def __init__(self, size: int = 32768) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._found: OrderedDict[tuple[str, int, dt.datetime], Job] = OrderedDict()

    def job(self, row: Any) -> Job:
        key = (row.id, row.version, row.updated_at)
        with self._lock:
            hit = self._found.get(key)
            if hit is not None:
                self._found.move_to_end(key)
                return hit
        job = row_to_job(row)
        with self._lock:
            self._found[key] = job
            if len(self._found) > self.size:
                self._found.popitem(last=False)
        return job


def row_to_job(row: Any) -> Job:
    return Job(
        id=JobId(row.id),
        spec=spec_from_json(row.spec),
        status=JobStatus(row.status),
        submitted_at=row.submitted_at,
        updated_at=row.updated_at,
        attempt=row.attempt,
        placement=placement_from_dict(json.loads(row.placement)) if row.placement else None,
        decision=decision_from_dict(json.loads(row.decision)) if row.decision else None,
        pinned_cluster=row.pinned_cluster,
        cancel_requested=bool(row.cancel_requested),
        engine_key=row.engine_key,
        exit_code=row.exit_code,
        started_at=row.started_at,
        finished_at=row.finished_at,
        version=row.version,
        tenant=row.tenant,
        attained=float(row.attained or 0.0),
        queued_at=row.queued_at,
        preempt_at=row.preempt_at,
        borrowed=bool(row.borrowed),
        preemptions=int(row.preemptions or 0),
        image_digest=row.image_digest,
        checkpoint_cluster=row.checkpoint_cluster,
    )


@functools.lru_cache(maxsize=16384)
def spec_from_json(text: str) -> JobSpec:
    """The stored spec, decoded once per process: the control loop and the console read the
    same active jobs over and over, and a spec never changes (JobSpec is frozen)."""
    return JobSpec.model_validate_json(text)


def event_to_row(event: JobEvent) -> dict[str, Any]:
    return {
        "job_id": event.job_id,
        "at": event.at,
        "from_status": event.from_status.value if event.from_status else None,
        "to_status": event.to_status.value,
        "reason_code": event.reason.code,
        "reason_params": json.dumps(event.reason.params, default=str),
        "attempt": event.attempt,
    }


def row_to_event(row: Any) -> JobEvent:
    return JobEvent(
        job_id=JobId(row.job_id),
        at=row.at,
        from_status=JobStatus(row.from_status) if row.from_status else None,
        to_status=JobStatus(row.to_status),
        reason=Reason(row.reason_code, json.loads(row.reason_params)),
        attempt=row.attempt,
    )


def placement_to_dict(p: Placement) -> dict[str, Any]:
    return {
        "cluster": p.cluster,
        "pool": p.pool,
        "accelerator": p.accelerator,
        "nodes": [{"node": n.node, "slots": list(n.slots)} for n in p.nodes],
        "price_per_hour": str(p.price_per_hour),
    }


def placement_from_dict(d: dict[str, Any]) -> Placement:
    return Placement(
        d["cluster"],
        d["pool"],
        d["accelerator"],
        tuple(NodeAssignment(n["node"], tuple(n["slots"])) for n in d["nodes"]),
        Decimal(d["price_per_hour"]),
    )


def decision_to_dict(d: Decision) -> dict[str, Any]:
    return {
        "summary": _reason(d.summary),
        "chosen": list(d.chosen) if d.chosen else None,
        "verdicts": [
            {
                "cluster": v.cluster,
                "pool": v.pool,
                "feasible": v.feasible,
                "price_per_hour": str(v.price_per_hour) if v.price_per_hour is not None else None,
                "reason": _reason(v.reason) if v.reason else None,
                "estimate": _estimate_to_dict(v.estimate) if v.estimate else None,
            }
            for v in d.verdicts
        ],
    }


def decision_from_dict(d: dict[str, Any]) -> Decision:
    return Decision(
        summary=Reason(d["summary"]["code"], d["summary"]["params"]),
        chosen=(d["chosen"][0], d["chosen"][1]) if d.get("chosen") else None,
        verdicts=tuple(
            PoolVerdict(
                v["cluster"],
                v["pool"],
                v["feasible"],
                Decimal(v["price_per_hour"]) if v["price_per_hour"] is not None else None,
                Reason(v["reason"]["code"], v["reason"]["params"]) if v["reason"] else None,
                _estimate_from_dict(v["estimate"]) if v.get("estimate") else None,
            )
            for v in d["verdicts"]
        ),
    )


def _estimate_to_dict(e: Estimate) -> dict[str, Any]:
    return {
        "hours": e.hours,
        "relative_throughput": e.relative_throughput,
        "gross": str(e.gross),
        "voucher": str(e.voucher),
        "data_cost": str(e.data_cost),
        "transfer_hours": e.transfer_hours,
        "net": str(e.net),
        "finish_at": e.finish_at.isoformat(),
    }


def _estimate_from_dict(d: dict[str, Any]) -> Estimate:
    return Estimate(
        hours=d["hours"],
        relative_throughput=d["relative_throughput"],
        gross=Decimal(d["gross"]),
        voucher=Decimal(d["voucher"]),
        data_cost=Decimal(d["data_cost"]),
        transfer_hours=d["transfer_hours"],
        net=Decimal(d["net"]),
        finish_at=dt.datetime.fromisoformat(d["finish_at"]),
    )


def _reason(r: Reason) -> dict[str, Any]:
    return {"code": r.code, "params": json.loads(json.dumps(r.params, default=str))}

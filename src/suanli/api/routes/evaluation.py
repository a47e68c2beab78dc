"""/api/v1/eval: start an evaluation run (operator), follow it, read the report (everyone)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from suanli.api.auth import CallerDep, open_to
from suanli.api.deps import PlatformDep
from suanli.domain.access import EVERYONE
from suanli.schemas.evaluation import EvalReportResponse, EvalRunRequest, EvalRunResponse
from suanli.service import evaluation
from suanli.service.eval_report import eval_report, record_response
from suanli.service.jobs import submitting_tenant

router = APIRouter(tags=["evaluation"])
RunId = Annotated[str, Path(pattern=r"^e-[0-9a-f]{12}$", examples=["e-0123456789ab"])]


@router.post("/eval/runs", status_code=201)  # the operator's: it takes whole nodes
def start_run(body: EvalRunRequest, p: PlatformDep, caller: CallerDep) -> EvalRunResponse:
    """Submit the suite as one job per chosen pool (every pool when none is named)."""
    tenant = submitting_tenant(caller, body.tenant)
    suite = None if body.suite == "all" else body.suite
    run_id, records = evaluation.start_run(p, tenant, suite, body.cluster, body.pool)
    return EvalRunResponse(run_id=run_id, records=[record_response(p, r) for r in records])


@router.get("/eval/runs/{run_id}")
def get_run(run_id: RunId, p: PlatformDep) -> EvalRunResponse:
    """A run's records: running, measured (with every item) or failed (and why)."""
    evaluation.collect(p)
    records = evaluation.run_records(p, run_id)
    return EvalRunResponse(run_id=run_id, records=[record_response(p, r) for r in records])


@router.get("/eval/report")
@open_to(*EVERYONE)
def get_report(p: PlatformDep) -> EvalReportResponse:
    """Compatibility matrix, measured throughput, datasheet ratios and regressions."""
    return eval_report(p)

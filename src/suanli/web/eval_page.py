"""The console's evaluation page: compatibility matrix, throughput chart and tables."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from suanli.api.auth import public
from suanli.schemas.evaluation import EvalReportResponse
from suanli.web.caller import ApiFailure
from suanli.web.view import ViewDep, failure

router = APIRouter(prefix="/console", include_in_schema=False)
CHART_ITEMS = ("gemm_fp32", "gemm_fp16", "gemm_bf16")


@router.get("/eval", response_class=HTMLResponse)
@public
async def eval_page(v: ViewDep) -> Response:
    """Everyone signed in may read what was measured (the API's /eval/report)."""
    try:
        report = await v.api.get("/eval/report", EvalReportResponse)
    except ApiFailure as exc:
        return failure(v, exc)
    pools = sorted({f"{r.cluster}/{r.pool}" for r in report.throughput})
    series = {
        item: [
            next(
                (
                    r.value
                    for r in report.throughput
                    if f"{r.cluster}/{r.pool}" == pool and r.item == item and r.status == "passed"
                ),
                None,
            )
            for pool in pools
        ]
        for item in CHART_ITEMS
    }
    viewer = v.viewer
    return v.page(
        "eval.html",
        role="operator" if viewer is not None and viewer.is_operator else None,
        who=None,
        report=report,
        chart_pools=pools,
        chart_series=series,
    )

"""The evaluation report: compatibility matrix, throughput, datasheet ratios, regressions."""

from __future__ import annotations

from suanli.domain.accelerators import Catalog
from suanli.domain.evaluation import (
    REGRESSION_DROP,
    EvalItem,
    EvalRecord,
    latest_items,
    latest_steady,
    regressions,
    set_aside,
)
from suanli.domain.ids import JobId
from suanli.schemas.evaluation import (
    DatasheetRowResponse,
    EvalItemResponse,
    EvalRecordResponse,
    EvalReportResponse,
    MatrixFailure,
    MatrixRowResponse,
    RegressionResponse,
    SetAsideResponse,
    ThroughputRowResponse,
)
from suanli.service.deps import Platform
from suanli.service.evaluation import records

THROUGHPUT_KINDS = ("micro", "models")
GEMM_HALF = ("gemm_fp16", "gemm_bf16")


def eval_report(p: Platform) -> EvalReportResponse:
    found = records(p)
    catalog = p.fleet.catalog
    latest = latest_items(found)
    measured = p.fleet.measured
    return EvalReportResponse(
        regression_drop=REGRESSION_DROP,
        running=sum(r.state == "running" for r in found),
        matrix=_matrix(latest, catalog),
        throughput=_throughput(latest, catalog),
        datasheet=_datasheet(latest_steady(found), latest, catalog),
        regressions=[
            RegressionResponse(
                cluster=x.cluster,
                pool=x.pool,
                framework=x.framework,
                item=x.item,
                before=x.before,
                after=x.after,
                before_status=x.before_status,
                after_status=x.after_status,
                change=x.change,
                unit=x.unit,
                job_id=x.job_id,
            )
            for x in regressions(found)
        ],
        placement_rates=len(measured.table.rates) if measured else 0,
        excluded_pools=sorted(f"{c}/{q}" for c, q in (measured.incompatible if measured else {})),
        set_aside=[
            SetAsideResponse(
                cluster=x.cluster,
                pool=x.pool,
                framework=x.framework,
                item=x.item,
                job_class=x.job_class,
                value=x.value,
                why=x.why,
                why_zh=x.why_zh,
                job_id=x.job_id,
                measured_at=x.measured_at,
                used=x.used,
                used_job_id=x.used_job_id,
            )
            for x in set_aside(found)
        ],
    )


def record_response(p: Platform, r: EvalRecord) -> EvalRecordResponse:
    job = p.jobs.get(JobId(r.job_id))
    return EvalRecordResponse(
        job_id=r.job_id,
        run_id=r.run_id,
        suites=list(r.suites),
        cluster=r.cluster,
        pool=r.pool,
        model=r.model,
        state=r.state,
        job_status=job.status.value if job else None,
        created_at=r.created_at,
        measured_at=r.measured_at,
        backend=r.backend,
        device=r.device,
        driver=r.driver,
        hardware_is_model=r.hardware_is_model(p.fleet.catalog),
        software=dict(r.software),
        error=r.error,
        seconds=r.seconds,
        items=[_item(i) for i in r.items],
    )


Latest = dict[tuple[str, str], dict[tuple[str, str], tuple[EvalRecord, EvalItem]]]


def _matrix(latest: Latest, catalog: Catalog) -> list[MatrixRowResponse]:
    rows: dict[tuple[str, str, str, str | None, str], dict[str, object]] = {}
    for (cluster, pool), items in sorted(latest.items()):
        for r, i in items.values():
            if i.kind != "conformance":
                continue
            entry = catalog.get(r.model) if r.model else None
            key = (
                entry.model if entry else "CPU",
                entry.stack if entry else "cpu",
                i.framework,
                r.version(i.framework),
                _hardware(r),
            )
            row = rows.setdefault(
                key,
                {
                    "pools": set(),
                    "passed": 0,
                    "failed": 0,
                    "skipped": 0,
                    "failures": {},
                    "real": r.hardware_is_model(catalog),
                },
            )
            row["pools"].add(f"{cluster}/{pool}")  # type: ignore[attr-defined]
            row[i.status] = int(row[i.status]) + 1  # type: ignore[call-overload]
            if i.status != "passed":
                row["failures"][i.name] = MatrixFailure(  # type: ignore[index]
                    item=i.name, status=i.status, detail=i.detail
                )
    out = []
    for (model, stack, framework, version, hardware), row in sorted(rows.items(), key=str):
        passed, failed, skipped = (int(row[k]) for k in ("passed", "failed", "skipped"))  # type: ignore[call-overload]
        if passed == 0 and failed == 0:
            verdict = "unavailable"
        elif failed == 0 and skipped == 0:
            verdict = "compatible"
        elif any(
            f.item.endswith("_fp32") and f.status == "failed"
            for f in row["failures"].values()  # type: ignore[attr-defined]
        ):
            verdict = "incompatible"
        else:
            verdict = "partial"
        out.append(
            MatrixRowResponse(
                model=model,
                stack=stack,
                framework=framework,
                version=version,
                hardware=hardware,
                hardware_is_model=bool(row["real"]),
                pools=sorted(row["pools"]),  # type: ignore[call-overload]
                passed=passed,
                failed=failed,
                skipped=skipped,
                verdict=verdict,
                failures=list(row["failures"].values()),  # type: ignore[attr-defined]
            )
        )
    return out


def _throughput(latest: Latest, catalog: Catalog) -> list[ThroughputRowResponse]:
    out = []
    for (cluster, pool), items in sorted(latest.items()):
        for r, i in items.values():
            if i.kind not in THROUGHPUT_KINDS:
                continue
            out.append(
                ThroughputRowResponse(
                    cluster=cluster,
                    pool=pool,
                    model=r.model,
                    hardware=_hardware(r),
                    hardware_is_model=r.hardware_is_model(catalog),
                    item=i.name,
                    kind=i.kind,
                    framework=i.framework,
                    status=i.status,
                    value=i.value,
                    unit=i.unit,
                    cv=i.cv,
                    dtype=i.dtype,
                    job_class=i.job_class,
                    detail=i.detail,
                    measured_at=r.measured_at,
                    job_id=r.job_id,
                    steady=i.steady,
                    error=i.error,
                    steal=i.steal,
                    unsteady_why=i.unsteady_why("en"),
                    unsteady_why_zh=i.unsteady_why("zh"),
                )
            )
    return out


def _datasheet(steady: Latest, latest: Latest, catalog: Catalog) -> list[DatasheetRowResponse]:
    """Each pool's newest steady FP16/BF16 figures (an unsteady one is set aside, as in
    placement) beside the datasheet's."""
    out = []
    for (cluster, pool), items in sorted(steady.items()):
        gemm = {i.name: (r, i) for r, i in items.values() if i.name in GEMM_HALF}
        if not gemm:
            continue
        newest = latest.get((cluster, pool), {})
        aside = sorted(i.name for r, i in newest.values() if i.name in GEMM_HALF and i.unsteady)
        r = next(iter(gemm.values()))[0]
        entry = catalog.get(r.model) if r.model else None
        if entry is None:
            continue  # a CPU pool: no datasheet figure to hold it to
        real = r.hardware_is_model(catalog)
        sheet = entry.tflops
        measured = {
            name: (i.value if i.status == "passed" else None) for name, (_, i) in gemm.items()
        }
        fp16, bf16 = measured.get("gemm_fp16"), measured.get("gemm_bf16")
        note = "" if real else f"measured {_hardware(r)}, not {entry.model}: no ratio"
        if aside:
            note = "; ".join(
                x
                for x in (note, f"newest {', '.join(aside)} unsteady: previous steady shown")
                if x
            )
        out.append(
            DatasheetRowResponse(
                cluster=cluster,
                pool=pool,
                model=entry.model,
                hardware=_hardware(r),
                hardware_is_model=real,
                datasheet_tflops=sheet,
                datasheet_source=entry.fp16_tflops.source,
                measured_fp16_tflops=fp16,
                measured_bf16_tflops=bf16,
                ratio_fp16=_ratio(fp16, sheet, real),
                ratio_bf16=_ratio(bf16, sheet, real),
                note=note,
            )
        )
    return out


def _ratio(value: float | None, sheet: float | None, real: bool) -> float | None:
    if not real or value is None or not sheet:
        return None
    return round(value / sheet, 4)


def _hardware(r: EvalRecord) -> str:
    return f"{r.device} ({r.backend})" if r.device else "-"


def _item(i: EvalItem) -> EvalItemResponse:
    return EvalItemResponse(
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

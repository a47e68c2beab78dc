"""`suanli eval run|report`: measure pools with the evaluation suite, print what was found."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.table import Table

from suanli.cli.context import JsonOpt, err, out
from suanli.cli.context import ask as _ask
from suanli.cli.context import print_json as _print_json
from suanli.cli.context import server_lang as _ctx
from suanli.cli.text import LabelTable
from suanli.domain.errors import InvalidInput
from suanli.domain.i18n import Lang, render

if TYPE_CHECKING:  # pydantic's models load only when a command runs (bench/cli_speed.py)
    from suanli.schemas.evaluation import EvalReportResponse, EvalRunResponse

app = typer.Typer(
    help="Accelerator and framework evaluation (评测): run the suite, read the report."
)

LABELS: dict[str, dict[Lang, str]] = {
    "run_title": {"en": "Evaluation run {run}", "zh": "评测运行 {run}"},
    "pool": {"en": "Pool", "zh": "资源池"},
    "model": {"en": "Model", "zh": "型号"},
    "job": {"en": "Job", "zh": "作业"},
    "state": {"en": "State", "zh": "状态"},
    "hardware": {"en": "Measured on", "zh": "实测硬件"},
    "items": {"en": "Passed/failed/skipped", "zh": "通过/失败/跳过"},
    "note": {"en": "Note", "zh": "说明"},
    "stack": {"en": "Stack", "zh": "软件栈"},
    "framework": {"en": "Framework", "zh": "框架"},
    "version": {"en": "Version", "zh": "版本"},
    "pools": {"en": "Pools", "zh": "资源池"},
    "verdict": {"en": "Verdict", "zh": "结论"},
    "why": {"en": "What failed and why", "zh": "失败项及原因"},
    "item": {"en": "Item", "zh": "项目"},
    "value": {"en": "Value", "zh": "数值"},
    "cv": {"en": "CV", "zh": "变异系数"},
    "datasheet": {"en": "Datasheet TFLOPS", "zh": "标称 TFLOPS"},
    "fp16": {"en": "FP16 measured", "zh": "FP16 实测"},
    "bf16": {"en": "BF16 measured", "zh": "BF16 实测"},
    "ratio_fp16": {"en": "FP16 / datasheet", "zh": "FP16 实测/标称"},
    "ratio_bf16": {"en": "BF16 / datasheet", "zh": "BF16 实测/标称"},
    "before": {"en": "Before", "zh": "之前"},
    "after": {"en": "After", "zh": "之后"},
    "change": {"en": "Change", "zh": "变化"},
    "steady": {"en": "Median ± / stolen", "zh": "中位数误差 / 被占用"},
    "unsteady": {"en": "unsteady figure", "zh": "不稳定数值"},
    "used": {"en": "Used instead", "zh": "改用"},
}
_t = LabelTable(LABELS)
POLL_S = 2.0


@app.command("run")
def run(
    tctx: typer.Context,
    cluster: Annotated[str | None, typer.Option(help="only this cluster's pools")] = None,
    pool: Annotated[str | None, typer.Option(help="only pools of this name")] = None,
    suite: Annotated[
        Literal["micro", "models", "conformance", "all"], typer.Option(help="which suite")
    ] = "all",
    tenant: Annotated[str | None, typer.Option(help="the tenant billed")] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="wait until every job has a result")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Submit the suite as ordinary jobs, one per chosen pool (every pool by default)."""
    _, lang = _ctx(tctx)
    # YAML comes with the validation helpers: loaded only when a command runs.
    from suanli.schemas.evaluation import EvalRunRequest
    from suanli.schemas.validation import validate_model

    asked = {"suite": suite, "cluster": cluster, "pool": pool, "tenant": tenant}
    try:  # the server checks again; a bad name is refused here with the field named
        request = validate_model(
            EvalRunRequest,
            {k: v for k, v in asked.items() if v is not None},
            "suanli eval run",
            "invalid_eval_request",
        )
    except InvalidInput as exc:
        err.print(exc.message(lang), markup=False)
        raise typer.Exit(2) from None
    started = _ask(tctx, lambda c: c.start_eval(request))
    data = started
    if wait:
        pause = threading.Event()
        while any(r.state == "running" for r in data.records):
            if not as_json:
                count = sum(r.state == "running" for r in data.records)
                err.print(render("eval_waiting", lang, count=count))
            pause.wait(POLL_S)
            data = _ask(tctx, lambda c: c.eval_run(started.run_id))
    if as_json:
        _print_json(data.model_dump(mode="json"))
        return
    err.print(render("eval_started", lang, run=data.run_id, count=len(data.records)))
    _print_run(data, lang)


def _print_run(data: EvalRunResponse, lang: Lang) -> None:
    table = Table(title=_t("run_title", lang, run=data.run_id))
    for col in ("pool", "model", "job", "state", "hardware", "items", "note"):
        table.add_column(_t(col, lang))
    for r in data.records:
        counts = [sum(i.status == s for i in r.items) for s in ("passed", "failed", "skipped")]
        note = r.error
        if r.state == "measured" and not r.hardware_is_model and r.model:
            note = render("eval_emulated", lang, device=r.device, model=r.model)
        table.add_row(
            f"{r.cluster}/{r.pool}",
            r.model or "CPU",
            r.job_id,
            r.state if r.job_status is None else f"{r.state} ({r.job_status})",
            f"{r.device} ({r.backend})" if r.device else "-",
            "/".join(map(str, counts)) if r.items else "-",
            note,
        )
    out.print(table)


@app.command("report")
def report(tctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The compatibility matrix, measured throughput, datasheet ratios and regressions."""
    _, lang = _ctx(tctx)
    data = _ask(tctx, lambda c: c.eval_report())
    if as_json:
        _print_json(data.model_dump(mode="json"))
        return
    if not data.matrix and not data.throughput:
        out.print(render("eval_none", lang))
        return
    _print_matrix(data, lang)
    _print_throughput(data, lang)
    _print_set_aside(data, lang)
    _print_datasheet(data, lang)
    _print_regressions(data, lang)


def _print_matrix(data: EvalReportResponse, lang: Lang) -> None:
    table = Table(title=render("eval_matrix", lang))
    for col in (
        "model",
        "stack",
        "framework",
        "version",
        "hardware",
        "pools",
        "items",
        "verdict",
        "why",
    ):
        table.add_column(_t(col, lang))
    colours = {"compatible": "green", "incompatible": "red", "partial": "yellow"}
    for row in data.matrix:
        colour = colours.get(row.verdict, "dim")
        why = "\n".join(f"{f.item}: {f.detail or f.status}" for f in row.failures[:8])
        if len(row.failures) > 8:
            why += f"\n+{len(row.failures) - 8}"
        table.add_row(
            row.model,
            row.stack,
            row.framework,
            row.version or "-",
            row.hardware,
            ", ".join(row.pools[:4]) + (f" +{len(row.pools) - 4}" if len(row.pools) > 4 else ""),
            f"{row.passed}/{row.failed}/{row.skipped}",
            f"[{colour}]{row.verdict}[/{colour}]",
            why,
        )
    out.print(table)


def _print_throughput(data: EvalReportResponse, lang: Lang) -> None:
    out.print(throughput_table(data, lang))


def throughput_table(data: EvalReportResponse, lang: Lang) -> Table:
    """Each pool's newest figures; an unsteady one is marked with the suite's reason."""
    table = Table(title=render("eval_throughput", lang))
    for col in ("pool", "hardware", "item", "framework", "value", "cv", "steady", "note"):
        table.add_column(_t(col, lang), justify="right" if col in ("value", "cv") else "left")
    for r in data.throughput:
        value = f"{r.value:.4g} {r.unit}" if r.value is not None else r.status
        note = r.detail if r.status != "passed" else (r.job_class or "")
        if r.steady is False:
            why = r.unsteady_why_zh if lang == "zh" and r.unsteady_why_zh else r.unsteady_why
            value = f"[yellow]{value}[/yellow]"
            note = render("eval_unsteady", lang, why=why)
        table.add_row(
            f"{r.cluster}/{r.pool}",
            r.hardware,
            r.item,
            r.framework,
            value,
            f"{r.cv:.1%}" if r.cv is not None else "-",
            _steadiness(r.error, r.steal),
            note,
        )
    return table


def _steadiness(error: float | None, steal: float | None) -> str:
    if error is None and steal is None:
        return "-"
    return " / ".join(f"{x:.1%}" if x is not None else "-" for x in (error, steal))


def _print_set_aside(data: EvalReportResponse, lang: Lang) -> None:
    if data.set_aside:
        out.print(set_aside_table(data, lang))


def set_aside_table(data: EvalReportResponse, lang: Lang) -> Table:
    """The unsteady figures placement and regressions leave out, and what stands instead."""
    table = Table(title=render("eval_set_aside", lang))
    for col in ("pool", "item", "framework", "unsteady", "used", "why"):
        table.add_column(_t(col, lang))
    for x in data.set_aside:
        used = (
            render("eval_used_previous", lang, value=_num(x.used), job=x.used_job_id)
            if x.used is not None
            else render("eval_used_fallback", lang)
        )
        table.add_row(
            f"{x.cluster}/{x.pool}",
            x.item,
            x.framework,
            f"{_num(x.value)} ({x.job_id})",
            used,
            x.why_zh if lang == "zh" and x.why_zh else x.why,
        )
    return table


def _print_datasheet(data: EvalReportResponse, lang: Lang) -> None:
    if data.datasheet:
        out.print(datasheet_table(data, lang))


def datasheet_table(data: EvalReportResponse, lang: Lang) -> Table:
    """Dense FP16/BF16 GEMM measured beside the catalog's figure, each as its own ratio."""
    table = Table(title=render("eval_datasheet", lang))
    cols = ("pool", "model", "hardware", "datasheet", "fp16", "bf16", "ratio_fp16", "ratio_bf16")
    for col in (*cols, "note"):
        table.add_column(_t(col, lang))
    for r in data.datasheet:
        table.add_row(
            f"{r.cluster}/{r.pool}",
            r.model,
            r.hardware,
            _num(r.datasheet_tflops),
            _num(r.measured_fp16_tflops),
            _num(r.measured_bf16_tflops),
            *(f"{x:.1%}" if x is not None else "-" for x in (r.ratio_fp16, r.ratio_bf16)),
            r.note,
        )
    return table


def _print_regressions(data: EvalReportResponse, lang: Lang) -> None:
    title = render("eval_regressions", lang, drop=f"{data.regression_drop:.0%}")
    table = Table(title=title)
    for col in ("pool", "item", "framework", "before", "after", "change"):
        table.add_column(_t(col, lang))
    for r in data.regressions:
        table.add_row(
            f"{r.cluster}/{r.pool}",
            r.item,
            r.framework,
            _num(r.before) if r.before_status == "passed" else r.before_status,
            _num(r.after) if r.after_status == "passed" else r.after_status,
            f"{r.change:+.1%}" if r.change is not None else "-",
        )
    out.print(table)


def _num(value: float | None) -> str:
    return f"{value:.4g}" if value is not None else "-"

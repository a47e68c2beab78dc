"""`suanli`: start the platform, submit and follow jobs, look at the fleet."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from platformdirs import user_data_dir
from rich.console import Console
from rich.table import Table

from suanli import __version__
from suanli.api.limits import ApiLimits
from suanli.cli.access import audit, login, org_app, token_app, user_app, whoami
from suanli.cli.billing import bill, ledger_app, report, voucher_app
from suanli.cli.clusters import clusters
from suanli.cli.contracts import contract_app
from suanli.cli.eval import app as eval_app
from suanli.cli.purchases import purchase_app
from suanli.cli.queue import queue
from suanli.cli.sim import app as sim_app
from suanli.cli.text import t
from suanli.client.http import DEFAULT_SERVER, ApiError, ServerUnreachable, SuanliClient
from suanli.domain.errors import InvalidInput, SuanliError
from suanli.domain.i18n import Lang, pick_lang, render
from suanli.domain.spec import MAX_SPEC_BYTES
from suanli.domain.tenants import DEMO_TENANT
from suanli.schemas.api import FleetResponse, JobResponse, TotalsResponse
from suanli.schemas.specfile import parse_spec_text
from suanli.schemas.validation import read_bounded

T = TypeVar("T")
EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1

app = typer.Typer(
    name="suanli",
    help="suanli 算力: unified multi-cloud AI compute scheduling.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


class Ctx:
    def __init__(self, server: str, lang: Lang) -> None:
        self.server = server
        self.lang = lang

    def client(self) -> SuanliClient:
        return SuanliClient(self.server, self.lang)


def _default_lang() -> Lang:
    return pick_lang(
        os.environ.get("SUANLI_LANG") or os.environ.get("LC_ALL") or os.environ.get("LANG")
    )


@app.callback()
def main(
    ctx: typer.Context,
    server: Annotated[
        str, typer.Option(envvar="SUANLI_SERVER", help="suanli server URL")
    ] = DEFAULT_SERVER,
    lang: Annotated[
        str | None, typer.Option(help="zh or en (default: SUANLI_LANG, then LANG)")
    ] = None,
) -> None:
    """suanli 算力 — run AI jobs across clouds, regions and accelerators."""
    chosen: Lang = pick_lang(lang) if lang else _default_lang()
    ctx.obj = Ctx(server, chosen)


JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _fail(ctx: Ctx, exc: Exception) -> NoReturn:
    """Print a clear message and exit: 2 for bad input (4xx), 1 when the server is the problem."""
    if isinstance(exc, ApiError):
        err.print(f"[red]{t('bad_input', ctx.lang)}:[/red] {_api_message(exc)}", markup=True)
        raise typer.Exit(EXIT_BAD_INPUT if 400 <= exc.status < 500 else EXIT_FAILURE)
    if isinstance(exc, ServerUnreachable):
        err.print(render("server_unreachable", ctx.lang, url=exc.url, detail=exc.detail))
        raise typer.Exit(EXIT_FAILURE)
    if isinstance(exc, InvalidInput):
        err.print(exc.message(ctx.lang), markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    if isinstance(exc, SuanliError):
        err.print(exc.message(ctx.lang), markup=False)
        raise typer.Exit(EXIT_FAILURE)
    raise exc


def _ask(ctx: Ctx, call: Callable[[SuanliClient], T]) -> T:
    """One request to the server; failures become a clear message and an exit code."""
    try:
        with ctx.client() as client:
            return call(client)
    except (ApiError, ServerUnreachable) as exc:
        _fail(ctx, exc)


def _api_message(exc: ApiError) -> str:
    body = exc.body
    head = f"{body.source}: {body.message}" if body.source else body.message
    lines = [head] + [f"  {e.field or '(file)'}: {e.message}" for e in body.errors]
    return "\n".join(lines)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


@app.command()
def up(
    tctx: typer.Context,
    port: Annotated[int, typer.Option(min=1, max=65535, help="port on 127.0.0.1")] = 8642,
    data_dir: Annotated[Path | None, typer.Option(help="where the database and runs live")] = None,
    fleet: Annotated[
        Path | None, typer.Option(help="fleet YAML (default: the demo fleet)")
    ] = None,
    interval: Annotated[
        float, typer.Option(min=0.05, max=60, help="control loop period, s")
    ] = 0.5,
    database_url: Annotated[
        str | None,
        typer.Option(envvar="SUANLI_DATABASE_URL", help="postgresql://... (default: SQLite)"),
    ] = None,
    tenants: Annotated[
        Path | None, typer.Option(help="tenants YAML (default: the demo tenants)")
    ] = None,
    throughput: Annotated[
        Path | None,
        typer.Option(
            envvar="SUANLI_THROUGHPUT",
            help="throughput table (ours or Gavel's JSON) placement uses over dense TFLOPS",
        ),
    ] = None,
    rate_limit: Annotated[
        float, typer.Option(min=0.1, help="requests a second per API token (this process)")
    ] = ApiLimits.rate_per_token,
    max_active_jobs: Annotated[
        int, typer.Option(min=0, help="unfinished jobs a tenant may have at once (0: no limit)")
    ] = ApiLimits.max_active_jobs,
    api_only: Annotated[
        bool, typer.Option("--api-only", help="serve the API; never run the control loop")
    ] = False,
    cluster_grace: Annotated[
        float,
        typer.Option(
            min=0,
            max=86400,
            envvar="SUANLI_CLUSTER_GRACE",
            help="seconds a cluster may not answer before its jobs are placed elsewhere",
        ),
    ] = 60.0,
    as_json: JsonOpt = False,
) -> None:
    """Start the platform: API, control loop and local engine, on the embedded default."""
    ctx: Ctx = tctx.obj
    # Imported here so client commands stay light; the CLI is the top layer, nothing cycles.
    from suanli.api.server import serve  # noqa: PLC0415 - heavy server imports only for `up`
    from suanli.service.access import ensure_operator_token  # noqa: PLC0415 - ditto
    from suanli.service.bootstrap import claim_data_dir, open_platform  # noqa: PLC0415 - ditto
    from suanli.web.app import create_app  # noqa: PLC0415 - heavy server imports only for `up`

    directory = data_dir or Path(os.environ.get("SUANLI_DATA_DIR") or user_data_dir("suanli"))
    try:
        # Over PostgreSQL several servers may share a directory: one runs the control loop.
        lock = claim_data_dir(directory.expanduser().resolve(), shared=bool(database_url))
        platform = open_platform(
            directory.expanduser().resolve(),
            fleet,
            database_url=database_url,
            tenants_file=tenants,
            cluster_grace_s=cluster_grace,
            throughput_file=throughput,
        )
        token_file, _ = ensure_operator_token(platform, platform.data_dir)
    except SuanliError as exc:
        _fail(ctx, exc)
    url = f"http://127.0.0.1:{port}"
    if as_json:
        _print_json(
            {
                "url": url,
                "data_dir": str(platform.data_dir),
                "pid": os.getpid(),
                "fleet": str(fleet) if fleet else "demo",
                "version": __version__,
                "operator_token_file": str(token_file),
            }
        )
        sys.stdout.flush()
    err.print(
        t(
            "server_up",
            ctx.lang,
            version=__version__,
            url=url,
            data_dir=platform.data_dir,
            fleet=str(fleet) if fleet else t("demo_fleet", ctx.lang),
        )
    )
    err.print(t("operator_token", ctx.lang, path=token_file))
    _warn_partial_sandbox(ctx, platform)
    limits = ApiLimits(rate_limit, max(rate_limit * 2, 10.0), max_active_jobs)
    app = create_app(platform, run_loop=not api_only, interval_s=interval, limits=limits)
    serve(app, "127.0.0.1", port)  # with read deadlines for slow clients
    lock.close()


def _warn_partial_sandbox(ctx: Ctx, platform: Any) -> None:
    """Say at start what isolation local jobs lack on this host (engines/sandbox.py)."""
    from suanli.engines.local import LocalEngine  # noqa: PLC0415 - heavy server imports

    local = [e for e in platform.engines.values() if isinstance(e, LocalEngine)]
    if not local or local[0].isolation.complete:
        return
    missing = local[0].isolation.missing()
    remains = "namespaces" if "users" in missing and len(missing) == 1 else "users"
    if len(missing) == 2:
        remains = "env"
    err.print(
        t(
            "sandbox_partial",
            ctx.lang,
            missing=", ".join(t(f"sandbox_missing_{m}", ctx.lang) for m in missing),
            remains=t(f"sandbox_remains_{remains}", ctx.lang),
        ),
        style="yellow",
    )


@app.command()
def submit(
    tctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="job spec YAML")],
    cluster: Annotated[str | None, typer.Option(help="run on this cluster only")] = None,
    tenant: Annotated[
        str | None,
        typer.Option(help=f"the tenant billed (default: yours; the operator's: {DEMO_TENANT})"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Submit a job spec; it is validated here and again by the server."""
    ctx: Ctx = tctx.obj
    try:
        text = _read_spec(file)
        parse_spec_text(text, str(file))  # precise errors before anything is sent
        with ctx.client() as client:
            job = client.submit(
                text.decode("utf-8", errors="replace"), cluster, source=str(file), tenant=tenant
            )
    except (ApiError, ServerUnreachable, SuanliError) as exc:
        _fail(ctx, exc)
    if as_json:
        _print_json(job.model_dump(mode="json"))
        return
    out.print(t("submitted", ctx.lang, id=job.id, name=job.name, status=job.status))


def _read_spec(file: Path) -> bytes:
    return read_bounded(file, MAX_SPEC_BYTES, "job spec", "invalid_spec")


@app.command()
def status(
    tctx: typer.Context,
    job_id: Annotated[str | None, typer.Argument(help="a job id; all jobs when left out")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Show one job (state history, placement and why) or the newest jobs."""
    ctx: Ctx = tctx.obj
    try:
        with ctx.client() as client:
            if job_id is None:
                page = client.jobs(limit=limit)
                if as_json:
                    _print_json(page.model_dump(mode="json"))
                    return
                _print_job_list(ctx, page.jobs, page.total)
                return
            job = client.job(job_id)
    except (ApiError, ServerUnreachable) as exc:
        _fail(ctx, exc)
    if as_json:
        _print_json(job.model_dump(mode="json"))
        return
    _print_job(ctx, job)


def _print_job_list(ctx: Ctx, jobs: list[Any], total: int) -> None:
    lang = ctx.lang
    table = Table(caption=t("jobs_total", lang, shown=len(jobs), total=total))
    for col in ("job", "name", "status", "attempt", "accelerator", "where", "submitted_at"):
        table.add_column(t(col, lang))
    for j in jobs:
        where = f"{j.cluster}/{j.pool}" if j.cluster else "-"
        table.add_row(
            j.id,
            j.name,
            _status(j.status),
            str(j.attempt),
            j.accelerator or "-",
            where,
            _time(j.submitted_at),
        )
    out.print(table)


def _print_job(ctx: Ctx, job: JobResponse) -> None:
    lang = ctx.lang
    out.print(
        f"[bold]{job.id}[/bold]  {job.name}  {_status(job.status)}"
        + (f"  {t('exit_code', lang)}: {job.exit_code}" if job.exit_code is not None else "")
    )
    if job.placement:
        p = job.placement
        out.print(
            f"{t('placement', lang)}: {p.cluster}/{p.pool} ({p.region}), "
            f"{len(p.nodes)} × {job.spec.get('resources', {}).get('accelerator', {}).get('count', 0)} "
            f"{p.accelerator or 'CPU'}, {p.price_per_hour_yuan} {t('price', lang)}"
        )
    history = Table(title=t("history", lang))
    for col in ("time", "transition", "attempt", "reason"):
        history.add_column(t(col, lang))
    for e in job.history:
        arrow = (
            e.to_status
            if e.from_status in (None, e.to_status)
            else f"{e.from_status} → {e.to_status}"
        )
        history.add_row(_time(e.at), arrow, str(e.attempt), e.reason.message)
    out.print(history)
    if job.decision:
        _print_decision(ctx, job)


def _print_decision(ctx: Ctx, job: JobResponse, limit: int = 12) -> None:
    lang = ctx.lang
    d = job.decision
    assert d is not None  # noqa: S101 - checked by the caller
    table = Table(title=f"{t('explanation', lang)}: {d.summary.message}")
    for col in ("pool", "price", "est_net", "est_hours", "verdict", "reason"):
        table.add_column(t(col, lang))
    chosen = tuple(d.chosen) if d.chosen else None
    for v in d.verdicts[:limit]:
        if (v.cluster, v.pool) == chosen:
            verdict = f"[green]{t('chosen', lang)}[/green]"
        elif v.feasible:
            verdict = t("runner_up", lang)
        else:
            verdict = t("excluded", lang)
        table.add_row(
            f"{v.cluster}/{v.pool}",
            v.price_per_hour_yuan or "-",
            v.estimate.net_yuan if v.estimate else "-",
            f"{v.estimate.hours + v.estimate.transfer_hours:.2f}" if v.estimate else "-",
            verdict,
            v.reason.message if v.reason else "",
        )
    if len(d.verdicts) > limit:
        table.caption = f"+{len(d.verdicts) - limit} (suanli explain {job.id})"
    out.print(table)


@app.command()
def explain(
    tctx: typer.Context, job_id: Annotated[str, typer.Argument()], as_json: JsonOpt = False
) -> None:
    """Why a job was placed where it is (or why it waits): every pool and its verdict."""
    ctx: Ctx = tctx.obj
    job = _ask(ctx, lambda client: client.job(job_id))
    if as_json:
        _print_json(job.decision.model_dump(mode="json") if job.decision else None)
        return
    if job.decision is None:
        out.print(t("no_decision", ctx.lang, id=job.id, status=job.status))
        return
    _print_decision(ctx, job, limit=len(job.decision.verdicts))


def _status(s: str) -> str:
    color = {"succeeded": "green", "failed": "red", "cancelled": "yellow", "running": "cyan"}.get(
        s
    )
    return f"[{color}]{s}[/{color}]" if color else s


def _time(value: Any) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "-"


@app.command()
def logs(
    tctx: typer.Context,
    job_id: Annotated[str, typer.Argument()],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="keep printing until the job ends")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Print a job's output (stdout and stderr of setup and run)."""
    ctx: Ctx = tctx.obj
    try:
        with ctx.client() as client:
            if follow:
                offset = 0
                for chunk in client.follow_logs(job_id):
                    offset += len(chunk)
                    _write_log(job_id, chunk, offset, as_json)
            else:
                data, next_offset = client.logs(job_id)
                _write_log(job_id, data, next_offset, as_json)
    except (ApiError, ServerUnreachable) as exc:
        _fail(ctx, exc)


def _write_log(job_id: str, data: bytes, next_offset: int, as_json: bool) -> None:
    if as_json:  # one JSON object per chunk (JSON lines when following)
        text = data.decode("utf-8", errors="replace")
        line = {"job_id": job_id, "text": text, "next_offset": next_offset}
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    else:
        sys.stdout.buffer.write(data)
    sys.stdout.flush()


@app.command()
def cancel(
    tctx: typer.Context, job_id: Annotated[str, typer.Argument()], as_json: JsonOpt = False
) -> None:
    """Cancel a job: at once if it has not started, else the engine stops it."""
    ctx: Ctx = tctx.obj
    job = _ask(ctx, lambda client: client.cancel(job_id))
    if as_json:
        _print_json(job.model_dump(mode="json"))
        return
    out.print(t("cancel_sent", ctx.lang, id=job.id, status=job.status))


@app.command()
def fleet(tctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Fleet totals: PFLOPS (dense FP16), accelerators and domestic share, by region and provider."""
    ctx: Ctx = tctx.obj
    data = _ask(ctx, lambda client: client.fleet())
    if as_json:
        _print_json(data.model_dump(mode="json"))
        return
    _print_fleet(ctx, data)


def _print_fleet(ctx: Ctx, data: FleetResponse) -> None:
    lang = ctx.lang
    for key, groups in (("region", data.by_region), ("provider", data.by_provider)):
        table = Table(title=f"{t('fleet_title', lang)} · {t(key, lang)}")
        for col in (key, "accelerators", "pflops", "domestic_share", "unrated"):
            table.add_column(t(col, lang), justify="left" if col == key else "right")
        for name, totals in groups.items():
            label = f"{name} {data.providers.get(name, '')}".strip() if key == "provider" else name
            table.add_row(label, *_totals_row(totals))
        table.add_row(f"[bold]{t('total', lang)}[/bold]", *_totals_row(data.total))
        out.print(table)


def _totals_row(x: TotalsResponse) -> list[str]:
    return [
        str(x.accelerators),
        f"{x.pflops_fp16:.2f}",
        f"{x.domestic_share:.1%}",
        str(x.unrated_accelerators),
    ]


app.add_typer(sim_app, name="sim")
app.command()(clusters)
app.command()(queue)
app.command()(bill)
app.command()(report)
app.add_typer(voucher_app, name="voucher")
app.add_typer(ledger_app, name="ledger")
app.add_typer(contract_app, name="contract")
app.add_typer(purchase_app, name="purchase")
app.command()(login)
app.command()(whoami)
app.command()(audit)
app.add_typer(token_app, name="token")
app.add_typer(user_app, name="user")
app.add_typer(org_app, name="org")
app.add_typer(eval_app, name="eval")


def run() -> None:
    app()

"""`suanli`: start the platform, submit and follow jobs, look at the fleet."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from suanli import __version__
from suanli.cli.context import (
    DEFAULT_SERVER,
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    Ctx,
    JsonOpt,
    ask,
    default_lang,
    err,
    fail,
    out,
    print_json,
    say_error,
)
from suanli.cli.lazy import LazyGroup, lazy
from suanli.cli.text import t
from suanli.domain.errors import InvalidInput, SuanliError
from suanli.domain.i18n import Lang, pick_lang, render

if TYPE_CHECKING:
    from suanli.client.http import SuanliClient
    from suanli.service.deps import Platform

# Thin-client commands import the HTTP client and the wire models inside their bodies (and
# `up` the server): `suanli --help` and `suanli status` stay fast (bench/cli_speed.py).
# The same values as suanli.domain.tenants.DEMO_TENANT and suanli.api.limits.ApiLimits'
# defaults (a test keeps them equal), without importing the server to show `--help`.
DEMO_TENANT = "demo"
RATE_PER_TOKEN = 50.0
MAX_ACTIVE_JOBS = 1000
MAX_URL = 2048  # characters of --server
MAX_RANK = 255  # the highest node rank: suanli.domain.spec.MAX_NODES less one (a test checks)

app = typer.Typer(
    name="suanli",
    help="suanli 算力: unified multi-cloud AI compute scheduling.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: Typer's Rich help imports rich.markdown and markdown-it, about half of
    # `suanli --help`'s time (bench/cli_speed.py); tables in command output stay Rich.
    rich_markup_mode=None,
    cls=LazyGroup,
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
    chosen: Lang = pick_lang(lang) if lang else default_lang()
    if not server.startswith(("http://", "https://")) or len(server) > MAX_URL:
        say_error(chosen, render("cli.bad_server", chosen, value=server[:MAX_URL]))
        raise typer.Exit(EXIT_BAD_INPUT)
    ctx.obj = Ctx(server, chosen)


def _fail(ctx: Ctx, exc: Exception) -> NoReturn:
    """Print a clear message and exit: 2 for bad input (4xx), 1 when the server is the problem."""
    from suanli.client.http import ApiError, ServerUnreachable

    if isinstance(exc, ApiError | ServerUnreachable):
        fail(ctx.lang, exc)
    if isinstance(exc, InvalidInput):
        say_error(ctx.lang, exc.message(ctx.lang))
        raise typer.Exit(EXIT_BAD_INPUT)
    if isinstance(exc, SuanliError):
        say_error(ctx.lang, exc.message(ctx.lang))
        raise typer.Exit(EXIT_FAILURE)
    raise exc


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
    ] = RATE_PER_TOKEN,
    max_active_jobs: Annotated[
        int, typer.Option(min=0, help="unfinished jobs a tenant may have at once (0: no limit)")
    ] = MAX_ACTIVE_JOBS,
    api_only: Annotated[
        bool, typer.Option("--api-only", help="serve the API; never run the control loop")
    ] = False,
    vouchers: Annotated[
        str | None,
        typer.Option(
            envvar="SUANLI_VOUCHERS",
            help="voucher programmes in force: a folder of policy files or library:NAME "
            "(default: the shipped programmes)",
        ),
    ] = None,
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
    # The server's modules are imported only for `up`: client commands stay light.
    from suanli.api.limits import ApiLimits
    from suanli.cli.serve import end_now, serve
    from suanli.service.access import ensure_operator_token
    from suanli.service.bootstrap import claim_data_dir, open_platform
    from suanli.web.app import create_app

    directory = data_dir or Path(os.environ.get("SUANLI_DATA_DIR") or _user_data_dir())
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
            vouchers=vouchers,
        )
        token_file, _ = ensure_operator_token(platform, platform.data_dir)
    except SuanliError as exc:
        _fail(ctx, exc)
    url = f"http://127.0.0.1:{port}"
    if as_json:
        print_json(
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
        ),
        soft_wrap=True,  # the URL and the paths whole, to copy (the terminal wraps)
    )
    err.print(t("operator_token", ctx.lang, path=token_file), soft_wrap=True)
    _warn_partial_sandbox(ctx, platform)
    limits = ApiLimits(rate_limit, max(rate_limit * 2, 10.0), max_active_jobs)
    serve(create_app(platform, run_loop=not api_only, interval_s=interval, limits=limits), port)
    platform.close()
    lock.close()
    # Everything is written and closed; what is left is the interpreter tearing down the
    # server's objects, seconds of garbage collection on this machine (bench/cli_speed.py).
    # The jobs are not ours and keep running.
    end_now()


def _user_data_dir() -> str:
    from platformdirs import user_data_dir

    return user_data_dir("suanli")


def _warn_partial_sandbox(ctx: Ctx, platform: Platform) -> None:
    """Say at start what isolation local jobs lack on this host (engines/sandbox.py)."""
    from suanli.engines.local import LocalEngine

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
    from suanli.client.http import ApiError, ServerUnreachable
    from suanli.schemas.specfile import parse_spec_text

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
        print_json(job.model_dump(mode="json"))
        return
    out.print(t("submitted", ctx.lang, id=job.id, name=job.name, status=job.status))


def _read_spec(file: Path) -> bytes:
    from suanli.domain.spec import MAX_SPEC_BYTES
    from suanli.schemas.validation import read_bounded

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
    if job_id is None:
        page = ask(tctx, lambda client: client.jobs(limit=limit))
        if as_json:
            print_json(page.sent)
            return
        from suanli.cli.jobs import print_job_list

        print_job_list(ctx.lang, page.jobs, page.total)
        return
    job = ask(tctx, lambda client: client.job(job_id))
    if as_json:
        print_json(job.model_dump(mode="json"))
        return
    from suanli.cli.jobs import print_job

    print_job(ctx.lang, job)


@app.command()
def explain(
    tctx: typer.Context, job_id: Annotated[str, typer.Argument()], as_json: JsonOpt = False
) -> None:
    """Why a job was placed where it is (or why it waits): every pool and its verdict."""
    ctx: Ctx = tctx.obj
    job = ask(tctx, lambda client: client.job(job_id))
    if as_json:
        print_json(job.decision.model_dump(mode="json") if job.decision else None)
        return
    if job.decision is None:
        out.print(t("no_decision", ctx.lang, id=job.id, status=job.status))
        return
    from suanli.cli.jobs import print_decision

    print_decision(ctx.lang, job.id, job.decision, limit=None)


@app.command()
def logs(
    tctx: typer.Context,
    job_id: Annotated[str, typer.Argument()],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="keep printing until the job ends")
    ] = False,
    rank: Annotated[
        int | None,
        typer.Option(min=0, max=MAX_RANK, help="only this node's lines (a multi-node job)"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Print a job's output (stdout and stderr of setup and run)."""

    def read(client: SuanliClient) -> None:
        from suanli.cli.jobs import RankLines, write_log

        lines = RankLines(rank) if rank is not None else None
        if follow:
            offset = 0
            for chunk in client.follow_logs(job_id):
                offset += len(chunk)
                write_log(job_id, lines.feed(chunk) if lines else chunk, offset, as_json)
            if lines and lines.held:
                write_log(job_id, lines.feed(b"", end=True), offset, as_json)
        else:
            data, next_offset = client.logs(job_id)
            write_log(job_id, lines.feed(data, end=True) if lines else data, next_offset, as_json)

    ask(tctx, read)


@app.command()
def cancel(
    tctx: typer.Context, job_id: Annotated[str, typer.Argument()], as_json: JsonOpt = False
) -> None:
    """Cancel a job: at once if it has not started, else the engine stops it."""
    ctx: Ctx = tctx.obj
    job = ask(tctx, lambda client: client.cancel(job_id))
    if as_json:
        print_json(job.model_dump(mode="json"))
        return
    out.print(t("cancel_sent", ctx.lang, id=job.id, status=job.status))


@app.command()
def fleet(tctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Fleet totals: PFLOPS (dense FP16), accelerators and domestic share, by region and provider."""
    ctx: Ctx = tctx.obj
    data = ask(tctx, lambda client: client.fleet())
    if as_json:
        print_json(data.model_dump(mode="json"))
        return
    from suanli.cli.jobs import print_fleet

    print_fleet(ctx.lang, data)


# The other commands, each imported only when used (suanli.cli.lazy): name, module,
# attribute (a typer.Typer sub-app or a command function), the line `suanli --help` shows.
# A new command module adds one line here; tests/unit/test_cli_surface.py checks each line.
lazy(
    "clusters",
    "suanli.cli.clusters",
    "clusters",
    "Nodes, accelerators (GRES, Ray resources) and free capacity, read from each engine.",
)
lazy(
    "queue",
    "suanli.cli.queue",
    "queue",
    "Per tenant: usage against quota per accelerator model, borrowing, and why each waiting job waits (a tenant sees its own; the operator every tenant).",
)
lazy(
    "bill",
    "suanli.cli.billing",
    "bill",
    "A tenant's bill for a month: a line per job attempt, vouchers and why.",
)
lazy(
    "usage",
    "suanli.cli.model_usage",
    "usage",
    "Model-service tokens per period, caller, key and service; charges and 模型券.",
)
lazy(
    "report",
    "suanli.cli.billing",
    "report",
    "Operator report: voucher spend by programme, month and tenant; compute by region.",
)
lazy(
    "login",
    "suanli.cli.access",
    "login",
    "Check an API token against the server and save it for this server (file mode 0600).",
)
lazy("whoami", "suanli.cli.access", "whoami", "Who the server takes you for.")
lazy(
    "audit",
    "suanli.cli.access",
    "audit",
    "The audit log (operator): state-changing requests, newest first.",
)
lazy("sim", "suanli.cli.sim", "app", "Trace-driven experiments with the scheduler's own policies.")
lazy("voucher", "suanli.cli.redemptions", "voucher_app", "Voucher programmes and quotes.")
lazy("ledger", "suanli.cli.billing", "ledger_app", "The double-entry ledger.")
lazy(
    "contract",
    "suanli.cli.contracts",
    "contract_app",
    "Model contracts (模型券): record and redeem.",
)
lazy(
    "purchase",
    "suanli.cli.purchases",
    "purchase_app",
    "Providers' purchases of domestic AI-chip servers: record and subsidise.",
)
lazy("token", "suanli.cli.access", "token_app", "API tokens: create, list, revoke.")
lazy(
    "apikey",
    "suanli.cli.apikey",
    "apikey_app",
    "API keys for model services (/v1, /services): create, list, revoke.",
)
lazy("user", "suanli.cli.access", "user_app", "Users and their roles.")
lazy("org", "suanli.cli.access", "org_app", "Organisations: tenants and providers.")
lazy("image", "suanli.cli.image", "app", "Images in the platform's registry (镜像仓库).")
lazy(
    "eval",
    "suanli.cli.eval",
    "app",
    "Accelerator and framework evaluation (评测): run the suite, read the report.",
)
lazy(
    "serve",
    "suanli.cli.services",
    "serve_app",
    "Model services: deploy, watch, scale, roll out and back, delete.",
)


def run() -> None:
    app()
